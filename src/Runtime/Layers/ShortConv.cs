using System;
using MambaGen.Backends;
using MambaGen.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Layers;

/// <summary>
/// vLLM's <c>ShortConv</c> (LFM2): in_proj → [B | C | x], y = C ⊙ conv(B ⊙ x) with no activation, out_proj. The conv
/// state is the last L_cache-1 values of B ⊙ x. Parameter names follow HuggingFace's Lfm2ShortConv.
/// </summary>
[MambaLayer("short_conv")]
public sealed partial class ShortConv : MambaBase, IMambaMixer
{
    private readonly Linear in_proj;
    private readonly Conv1d conv;
    private readonly Linear out_proj;

    public ShortConv(string name, EngineConfig config, int hiddenSize, int convKernel, bool bias = false)
        : base(name, config)
    {
        HiddenSize = hiddenSize;
        ConvKernel = convKernel;
        var dtype = config.Model.Dtype;
        in_proj = nn.Linear(hiddenSize, 3 * hiddenSize, hasBias: bias, dtype: dtype);
        conv = nn.Conv1d(hiddenSize, hiddenSize, convKernel, groups: hiddenSize, padding: convKernel - 1, bias: bias, dtype: dtype);
        out_proj = nn.Linear(hiddenSize, hiddenSize, hasBias: bias, dtype: dtype);
        RegisterComponents();
    }

    public int HiddenSize { get; }

    /// <summary>LFM2's <c>conv_L_cache</c>.</summary>
    public int ConvKernel { get; }

    /// <summary>The last L_cache-1 values of B ⊙ x: [L_cache-1, hidden / tp].</summary>
    [StateTensor]
    public long[] ConvState => MambaStateShapeCalculator.ShortConv(Config.Parallel.TensorParallelSize, HiddenSize, ConvKernel);

    /// <summary>One step over the batch.</summary>
    /// <param name="hidden">[num_actual_tokens, hidden], decodes first, then prefills.</param>
    /// <param name="metadata">The step's metadata (from <see cref="ShortConvAttentionBackend"/>).</param>
    /// <returns>[num_actual_tokens, hidden].</returns>
    public Tensor Forward(Tensor hidden, MambaAttentionMetadata metadata)
    {
        LayerChecks.Input(this, hidden, HiddenSize, metadata);
        using var scope = torch.NewDisposeScope();
        var gated = Gated(metadata.Ops.Linear.Linear(hidden, in_proj.weight!, in_proj.bias), metadata);
        return metadata.Ops.Linear.Linear(gated.to(hidden.dtype), out_proj.weight!, out_proj.bias).MoveToOuterDisposeScope();
    }

    /// <summary>The residual block in place, its norm fused into in_proj and its add into out_proj.</summary>
    void IMambaMixer.ForwardInto(Tensor residual, RmsNorm blockNorm, MambaAttentionMetadata metadata, IFusedProjectionOps projections)
    {
        LayerChecks.Residual(this, residual, HiddenSize, metadata);
        using var scope = torch.NewDisposeScope();
        var bcx = projections.NormLinear(residual, blockNorm.Weight, blockNorm.Eps, in_proj.weight!, in_proj.bias);
        projections.LinearAddInto(residual, Gated(bcx, metadata).to(bcx.dtype), out_proj.weight!, out_proj.bias);
    }

    /// <summary>C ⊙ conv(B ⊙ x) of in_proj's output [B | C | x]: one fused op for the decodes, tensor ops around the varlen conv for the prefills.</summary>
    private Tensor Gated(Tensor bcx, MambaAttentionMetadata metadata)
    {
        var ops = metadata.Ops;
        var weight = conv.weight!.view(HiddenSize, ConvKernel);
        return DecodePrefillSplit.Run(
            metadata,
            nd => ops.Conv.GatedUpdate(bcx.narrow(0, 0, nd), weight, conv.bias, ConvStateTensor, metadata.Decode),
            (start, np) => ShortConvGate.Apply(bcx.narrow(0, start, np), HiddenSize,
                bx => ops.Conv.Forward(bx, weight, conv.bias, false, ConvStateTensor, metadata.Prefill)));
    }
}
