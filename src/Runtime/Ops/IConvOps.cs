using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>The causal depthwise conv over the conv state cache (<see cref="CausalConv1d"/> is the reference).</summary>
public interface IConvOps
{
    /// <summary>Prefill: see <see cref="CausalConv1d.Forward"/>; the batch gives offsets, blocks and initial-state flags.</summary>
    Tensor Forward(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, PrefillBatch batch);

    /// <summary>Decode: see <see cref="CausalConv1d.Update"/>; each real row's window shifts in place.</summary>
    Tensor Update(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, DecodeBatch batch);

    /// <summary>
    /// LFM2's short-conv decode: y = C ⊙ conv_update(B ⊙ x) over <paramref name="bcx"/> = [B | C | x], in_proj's output
    /// [rows, 3·dim], each product rounded to its dtype as tensor ops would. The default composes <see cref="Update"/>
    /// with tensor ops; a fused set does it in one launch.
    /// </summary>
    Tensor GatedUpdate(Tensor bcx, Tensor weight, Tensor? bias, Tensor convStates, DecodeBatch batch)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        return ShortConvGate.Apply(bcx, weight.shape[0], bx => Update(bx, weight, bias, false, convStates, batch)).MoveToOuterDisposeScope();
    }
}
