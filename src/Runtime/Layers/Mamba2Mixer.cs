using System;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Layers;

/// <summary>
/// vLLM's <c>MambaMixer2</c>: in_proj → [z | xBC | dt] (× Falcon-H1's μP multipliers when given), causal conv over
/// xBC with SiLU, SSD over x with B and C, gated RMSNorm with z (or y · silu(z) without the norm), out_proj. Decodes
/// take the single-step paths, prefills the chunked scan. Parameter names are HuggingFace's, so a checkpoint's
/// <c>mixer.*</c> tensors load unchanged.
/// </summary>
[MambaLayer("mamba2")]
public sealed partial class Mamba2Mixer : MambaBase, IMambaMixer
{
    private readonly Linear in_proj;
    private readonly Conv1d conv1d;
    private readonly Parameter dt_bias;
    private readonly Parameter A_log;
    private readonly Parameter D;
    private readonly MixerRmsNormGated? norm;
    private readonly Linear out_proj;

    // in_proj's μP multipliers as one vector, made on the weights' device and dtype when first needed (an array, so
    // TorchSharp does not register it as a buffer the checkpoint would have to hold).
    private readonly Tensor?[] _inProjectionScale = new Tensor?[1];

    public Mamba2Mixer(string name, EngineConfig config, Mamba2MixerOptions options)
        : base(name, config)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        if (options.NumHeads % options.NGroups != 0)
        {
            throw new ArgumentException($"Layer '{name}': {options.NumHeads} heads do not split into {options.NGroups} groups.", nameof(options));
        }

        var dtype = config.Model.Dtype;
        int inner = options.IntermediateSize;
        in_proj = nn.Linear(options.HiddenSize, 2 * inner + 2 * options.NGroups * options.StateSize + options.NumHeads, hasBias: options.UseBias, dtype: dtype);
        conv1d = nn.Conv1d(options.ConvDim, options.ConvDim, options.ConvKernel, groups: options.ConvDim, padding: options.ConvKernel - 1, bias: options.UseConvBias, dtype: dtype);
        dt_bias = nn.Parameter(torch.ones(options.NumHeads, dtype: dtype));
        A_log = nn.Parameter(torch.log(torch.arange(1, options.NumHeads + 1, dtype: ScalarType.Float32)).to(dtype));
        D = nn.Parameter(torch.ones(options.NumHeads, dtype: dtype));
        norm = options.RmsNorm ? new MixerRmsNormGated("norm", inner, inner / options.NGroups, options.LayerNormEpsilon, dtype, options.NormBeforeGate) : null;
        out_proj = nn.Linear(inner, options.HiddenSize, hasBias: options.UseBias, dtype: dtype);
        RegisterComponents();
    }

    public Mamba2MixerOptions Options { get; }

    /// <summary>The layer's weights, for an op set that runs a whole decode step itself (the CPU's <c>CpuDecodeStep</c>).</summary>
    internal Mamba2Weights Weights => new(in_proj.weight!, in_proj.bias, conv1d.weight!, conv1d.bias, dt_bias, A_log, D, norm, out_proj.weight!, out_proj.bias);

    private int Tp => Config.Parallel.TensorParallelSize;

    /// <summary>The last W-1 pre-conv xBC inputs: [W-1, conv_dim / tp].</summary>
    [StateTensor]
    public long[] ConvState => StateShapes.Conv;

    /// <summary>The SSM state: [heads / tp, head_dim, state_size].</summary>
    [StateTensor]
    public long[] SsmState => StateShapes.Ssm;

    private (long[] Conv, long[] Ssm) StateShapes =>
        MambaStateShapeCalculator.Mamba2(Tp, Options.IntermediateSize, Options.NGroups, Options.NumHeads, Options.HeadDim, Options.StateSize, Options.ConvKernel);

    /// <summary>One step over the batch; the metadata must be the Mamba2 backend's (it carries the SSD chunks).</summary>
    Tensor IMambaMixer.Forward(Tensor hidden, MambaAttentionMetadata metadata) =>
        Forward(hidden, metadata as Mamba2AttentionMetadata ?? throw new ArgumentException(
            $"Layer '{GetName()}' (Mamba2Mixer) needs Mamba2AttentionMetadata (from its backend's builder) but got {metadata?.GetType().Name ?? "null"}.", nameof(metadata)));

    /// <summary>One step over the batch.</summary>
    /// <param name="hidden">[num_actual_tokens, hidden], decodes first, then prefills.</param>
    /// <param name="metadata">The step's Mamba2 metadata (from <see cref="Mamba2AttentionBackend"/>).</param>
    /// <returns>[num_actual_tokens, hidden].</returns>
    public Tensor Forward(Tensor hidden, Mamba2AttentionMetadata metadata)
    {
        LayerChecks.Input(this, hidden, Options.HiddenSize, metadata);
        using var scope = torch.NewDisposeScope();
        var ops = metadata.Ops;
        var zxbcdt = ops.Linear.Linear(hidden, in_proj.weight!, in_proj.bias);
        if (Options.InProjectionMultipliers is not null)
        {
            zxbcdt = zxbcdt * InProjectionScale(zxbcdt);
        }

        var (y, z) = Mix(zxbcdt, metadata);
        var gated = norm is null
            ? (y.to(ScalarType.Float32) * nn.functional.silu(z.to(ScalarType.Float32))).to(hidden.dtype)
            : norm.Forward(y.to(hidden.dtype), z, ops.Norm);
        return ops.Linear.Linear(gated, out_proj.weight!, out_proj.bias).MoveToOuterDisposeScope();
    }

    /// <summary>[z | x | B | C | dt]'s multipliers as a row over in_proj's output (transformers' modeling_falcon_h1.py
    /// compute_mup_vector), kept on its device and dtype.</summary>
    private Tensor InProjectionScale(Tensor like)
    {
        if (_inProjectionScale[0] is { } kept && kept.device_type == like.device_type && kept.device_index == like.device_index && kept.dtype == like.dtype)
        {
            return kept;
        }

        var (o, m) = (Options, Options.InProjectionMultipliers!);
        int inner = o.IntermediateSize, groupState = o.NGroups * o.StateSize;
        var segments = new (int Width, double Value)[] { (inner, m.Z), (inner, m.X), (groupState, m.B), (groupState, m.C), (o.NumHeads, m.Dt) };
        var values = segments.SelectMany(s => Enumerable.Repeat((float)s.Value, s.Width)).ToArray();
        _inProjectionScale[0]?.Dispose();
        var scale = torch.tensor(values).to(like.dtype).to(like.device).DetachFromDisposeScope();
        _inProjectionScale[0] = scale;
        return scale;
    }

    /// <summary>The residual block in place, its norm fused into in_proj and its add into out_proj (after the gated norm).</summary>
    void IMambaMixer.ForwardInto(Tensor residual, RmsNorm blockNorm, MambaAttentionMetadata metadata, IFusedProjectionOps projections)
    {
        var m2 = metadata as Mamba2AttentionMetadata ?? throw new ArgumentException(
            $"Layer '{GetName()}' (Mamba2Mixer) needs Mamba2AttentionMetadata (from its backend's builder) but got {metadata?.GetType().Name ?? "null"}.", nameof(metadata));
        LayerChecks.Residual(this, residual, Options.HiddenSize, m2);
        if (norm is not { NormBeforeGate: false } || Options.InProjectionMultipliers is not null)
        {
            throw new NotSupportedException($"Layer '{GetName()}': the fused residual path runs gate-then-norm Mamba2 without in_proj multipliers only; this layer's options (rms norm {Options.RmsNorm}, norm before gate {Options.NormBeforeGate}, in_proj multipliers {Options.InProjectionMultipliers is not null}) run through Forward, as a hybrid model does.");
        }

        using var scope = torch.NewDisposeScope();
        var o = Options;
        Tensor y, z;
        if (m2.NumPrefillTokens == 0)
        {
            // Decodes only: the conv update rides on in_proj's output, so the SSM reads xBC already convolved.
            var zxbcdt = projections.NormLinearConv(residual, blockNorm.Weight, blockNorm.Eps, in_proj.weight!, in_proj.bias,
                o.IntermediateSize, conv1d.weight!.view(o.ConvDim, o.ConvKernel), conv1d.bias, true, ConvStateTensor, m2.Decode);
            (y, z) = (Ssm(zxbcdt, zxbcdt.narrow(1, o.IntermediateSize, o.ConvDim), m2), zxbcdt.narrow(1, 0, o.IntermediateSize));
        }
        else
        {
            (y, z) = Mix(projections.NormLinear(residual, blockNorm.Weight, blockNorm.Eps, in_proj.weight!, in_proj.bias), m2);
        }

        projections.GatedNormLinearAddInto(residual, y.to(z.dtype), z, norm.Weight, norm.GroupSize, norm.Eps, out_proj.weight!, out_proj.bias);
    }

    /// <summary>The SSM update of the step's decodes from their convolved xBC: y [decode tokens, d_inner].</summary>
    private Tensor Ssm(Tensor zxbcdt, Tensor convolved, Mamba2AttentionMetadata metadata)
    {
        var o = Options;
        int nd = metadata.NumDecodeTokens, inner = o.IntermediateSize, groupState = o.NGroups * o.StateSize;
        var dt = zxbcdt.narrow(1, inner + o.ConvDim, o.NumHeads);
        var x = convolved.narrow(1, 0, inner).view(nd, o.NumHeads, o.HeadDim);
        var b = convolved.narrow(1, inner, groupState).view(nd, o.NGroups, o.StateSize);
        var c = convolved.narrow(1, inner + groupState, groupState).view(nd, o.NGroups, o.StateSize);
        return metadata.Ops.Ssd.StateUpdate(SsmStateTensor, x, dt, A_log, b, c, D, dt_bias, true, o.TimeStepLimit, metadata.Decode).view(nd, inner);
    }

    /// <summary>Conv and SSM of the in-projection's output: the SSM output y [tokens, d_inner] and the gate z.</summary>
    private (Tensor Y, Tensor Z) Mix(Tensor zxbcdt, Mamba2AttentionMetadata metadata)
    {
        var o = Options;
        int inner = o.IntermediateSize, groupState = o.NGroups * o.StateSize;
        var ops = metadata.Ops;
        var z = zxbcdt.narrow(1, 0, inner);
        var xBC = zxbcdt.narrow(1, inner, o.ConvDim);
        var dt = zxbcdt.narrow(1, inner + o.ConvDim, o.NumHeads);
        var weight = conv1d.weight!.view(o.ConvDim, o.ConvKernel);
        var y = DecodePrefillSplit.Run(
            metadata,
            nd => Ssm(zxbcdt.narrow(0, 0, nd), ops.Conv.Update(xBC.narrow(0, 0, nd), weight, conv1d.bias, true, ConvStateTensor, metadata.Decode), metadata),
            (start, np) =>
            {
                var conv = ops.Conv.Forward(xBC.narrow(0, start, np), weight, conv1d.bias, true, ConvStateTensor, metadata.Prefill);
                var (x, b, c) = Split(conv, np);
                return ops.Ssd.ChunkScan(x, dt.narrow(0, start, np), A_log, b, c, D, dt_bias, true, o.TimeStepLimit, SsmStateTensor, metadata.Prefill).view(np, inner);
            });
        return (y, z);

        (Tensor X, Tensor B, Tensor C) Split(Tensor xbc, int tokens) => (
            xbc.narrow(1, 0, inner).view(tokens, o.NumHeads, o.HeadDim),
            xbc.narrow(1, inner, groupState).view(tokens, o.NGroups, o.StateSize),
            xbc.narrow(1, inner + groupState, groupState).view(tokens, o.NGroups, o.StateSize));
    }
}

/// <summary>A <see cref="Mamba2Mixer"/>'s weights; the norm is null where the layer has none.</summary>
internal sealed record Mamba2Weights(Tensor InProj, Tensor? InProjBias, Tensor Conv, Tensor? ConvBias, Tensor DtBias, Tensor ALog, Tensor D,
    MixerRmsNormGated? Norm, Tensor OutProj, Tensor? OutProjBias);
