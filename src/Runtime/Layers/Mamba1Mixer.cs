using System;
using MambaGen.Backends;
using MambaGen.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Layers;

/// <summary>
/// vLLM's <c>MambaMixer</c> (Mamba-1): in_proj → [x | z], causal conv over x with SiLU, x_proj → [dt | B | C],
/// dt_proj (its bias goes into the scan before softplus), selective scan gated by z, out_proj. Parameter names are
/// HuggingFace's, so a checkpoint's <c>mixer.*</c> tensors load unchanged.
/// </summary>
[MambaLayer("mamba1")]
public sealed partial class Mamba1Mixer : MambaBase, IMambaMixer
{
    private readonly Linear in_proj;
    private readonly Conv1d conv1d;
    private readonly Linear x_proj;
    private readonly Linear dt_proj;
    private readonly Parameter A_log;
    private readonly Parameter D;
    private readonly Linear out_proj;

    public Mamba1Mixer(string name, EngineConfig config, Mamba1MixerOptions options)
        : base(name, config)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        var dtype = config.Model.Dtype;
        int inner = options.IntermediateSize;
        in_proj = nn.Linear(options.HiddenSize, 2 * inner, hasBias: options.UseBias, dtype: dtype);
        conv1d = nn.Conv1d(inner, inner, options.ConvKernel, groups: inner, padding: options.ConvKernel - 1, bias: options.UseConvBias, dtype: dtype);
        x_proj = nn.Linear(inner, options.TimeStepRank + 2 * options.StateSize, hasBias: false, dtype: dtype);
        dt_proj = nn.Linear(options.TimeStepRank, inner, hasBias: true, dtype: dtype);
        A_log = nn.Parameter(torch.log(torch.arange(1, options.StateSize + 1, dtype: ScalarType.Float32)).expand(inner, options.StateSize).contiguous().to(dtype));
        D = nn.Parameter(torch.ones(inner, dtype: dtype));
        out_proj = nn.Linear(inner, options.HiddenSize, hasBias: options.UseBias, dtype: dtype);
        RegisterComponents();
    }

    public Mamba1MixerOptions Options { get; }

    /// <summary>The layer's weights, for an op set that runs a whole decode step itself (the CPU's <c>CpuDecodeStep</c>).</summary>
    internal Mamba1Weights Weights => new(in_proj.weight!, in_proj.bias, conv1d.weight!, conv1d.bias, x_proj.weight!, dt_proj.weight!, dt_proj.bias!, A_log, D, out_proj.weight!, out_proj.bias);

    /// <summary>The last W-1 pre-conv x inputs: [W-1, d_inner / tp].</summary>
    [StateTensor]
    public long[] ConvState => StateShapes.Conv;

    /// <summary>The SSM state: [d_inner / tp, state_size].</summary>
    [StateTensor]
    public long[] SsmState => StateShapes.Ssm;

    private (long[] Conv, long[] Ssm) StateShapes =>
        MambaStateShapeCalculator.Mamba1(Config.Parallel.TensorParallelSize, Options.IntermediateSize, Options.StateSize, Options.ConvKernel);

    /// <summary>One step over the batch.</summary>
    /// <param name="hidden">[num_actual_tokens, hidden], decodes first, then prefills.</param>
    /// <param name="metadata">The step's metadata (from <see cref="Mamba1AttentionBackend"/>).</param>
    /// <returns>[num_actual_tokens, hidden].</returns>
    public Tensor Forward(Tensor hidden, MambaAttentionMetadata metadata)
    {
        LayerChecks.Input(this, hidden, Options.HiddenSize, metadata);
        using var scope = torch.NewDisposeScope();
        var ops = metadata.Ops;
        var y = Mix(ops.Linear.Linear(hidden, in_proj.weight!, in_proj.bias), metadata);
        return ops.Linear.Linear(y.to(hidden.dtype), out_proj.weight!, out_proj.bias).MoveToOuterDisposeScope();
    }

    /// <summary>The residual block in place, its norm fused into in_proj and its add into out_proj.</summary>
    void IMambaMixer.ForwardInto(Tensor residual, RmsNorm blockNorm, MambaAttentionMetadata metadata, IFusedProjectionOps projections)
    {
        LayerChecks.Residual(this, residual, Options.HiddenSize, metadata);
        using var scope = torch.NewDisposeScope();
        var o = Options;
        Tensor y, xz;
        if (metadata.NumPrefillTokens == 0)
        {
            // Decodes only: the conv update rides on in_proj's output (the x half).
            xz = projections.NormLinearConv(residual, blockNorm.Weight, blockNorm.Eps, in_proj.weight!, in_proj.bias,
                0, conv1d.weight!.view(o.IntermediateSize, o.ConvKernel), conv1d.bias, true, ConvStateTensor, metadata.Decode);
            // ... and dt_proj rides on the state update.
            var xc = xz.narrow(1, 0, o.IntermediateSize);
            var (dtLow, b, c) = XProj(xc, metadata.Ops);
            y = projections.SelectiveUpdateProjected(SsmStateTensor, xc, dtLow, dt_proj.weight!, A_log, b, c, D,
                xz.narrow(1, o.IntermediateSize, o.IntermediateSize), dt_proj.bias, true, metadata.Decode);
        }
        else
        {
            xz = projections.NormLinear(residual, blockNorm.Weight, blockNorm.Eps, in_proj.weight!, in_proj.bias);
            y = Mix(xz, metadata);
        }

        projections.LinearAddInto(residual, y.to(xz.dtype), out_proj.weight!, out_proj.bias);
    }

    /// <summary>The selective state update of the step's decodes from their convolved x and gate z: y [decode tokens, d_inner].</summary>
    private Tensor Scan(Tensor xc, Tensor z, MambaAttentionMetadata metadata)
    {
        var ops = metadata.Ops;
        var (dtLow, b, c) = XProj(xc, ops);
        return ComposedProjections.UpdateProjected(ops.SelectiveScan, ops.Linear, SsmStateTensor, xc, dtLow, dt_proj.weight!, A_log, b, c, D, z,
            dt_proj.bias, true, metadata.Decode);
    }

    /// <summary>Conv, projections and selective scan of the in-projection's output (x and gate z): y [tokens, d_inner].</summary>
    private Tensor Mix(Tensor xz, MambaAttentionMetadata metadata)
    {
        var o = Options;
        int inner = o.IntermediateSize;
        var ops = metadata.Ops;
        var x = xz.narrow(1, 0, inner);
        var z = xz.narrow(1, inner, inner);
        var weight = conv1d.weight!.view(inner, o.ConvKernel);
        return DecodePrefillSplit.Run(
            metadata,
            nd => Scan(ops.Conv.Update(x.narrow(0, 0, nd), weight, conv1d.bias, true, ConvStateTensor, metadata.Decode), z.narrow(0, 0, nd), metadata),
            (start, np) =>
            {
                var xc = ops.Conv.Forward(x.narrow(0, start, np), weight, conv1d.bias, true, ConvStateTensor, metadata.Prefill);
                var (dt, b, c) = Project(xc, ops);
                return ops.SelectiveScan.Forward(xc, dt, A_log, b, c, D, z.narrow(0, start, np), dt_proj.bias, true, SsmStateTensor, metadata.Prefill);
            });
    }

    /// <summary>x_proj and dt_proj of the convolved x: dt without its bias (the scan adds dt_proj.bias before softplus, as mamba_ssm's delta_bias), B and C.</summary>
    private (Tensor Dt, Tensor B, Tensor C) Project(Tensor xc, MambaOps ops)
    {
        var (dtLow, b, c) = XProj(xc, ops);
        return (ops.Linear.Linear(dtLow, dt_proj.weight!, null), b, c);
    }

    /// <summary>x_proj of the convolved x, split as [dt_rank | B | C].</summary>
    private (Tensor DtLow, Tensor B, Tensor C) XProj(Tensor xc, MambaOps ops)
    {
        var o = Options;
        var xdbl = ops.Linear.Linear(xc, x_proj.weight!, null);
        return (xdbl.narrow(1, 0, o.TimeStepRank), xdbl.narrow(1, o.TimeStepRank, o.StateSize), xdbl.narrow(1, o.TimeStepRank + o.StateSize, o.StateSize));
    }
}

/// <summary>A <see cref="Mamba1Mixer"/>'s weights.</summary>
internal sealed record Mamba1Weights(Tensor InProj, Tensor? InProjBias, Tensor Conv, Tensor? ConvBias, Tensor XProj, Tensor DtProj, Tensor DtProjBias,
    Tensor ALog, Tensor D, Tensor OutProj, Tensor? OutProjBias);
