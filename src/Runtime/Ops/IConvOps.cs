using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>The causal depthwise conv over the conv state cache (<see cref="CausalConv1d"/> is the reference).</summary>
public interface IConvOps
{
    /// <summary>Prefill: see <see cref="CausalConv1d.Forward"/>; the batch gives offsets, blocks and initial-state flags.</summary>
    Tensor Forward(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, PrefillBatch batch);

    /// <summary>Decode: see <see cref="CausalConv1d.Update"/>; each real row's window shifts in place.</summary>
    Tensor Update(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, DecodeBatch batch);
}
