using MambaGen.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Layers;

/// <summary>Mamba2's <c>norm</c>: gated RMSNorm per group of d_inner / n_groups channels, as mamba_ssm and vLLM; gating
/// first (vLLM, HF Mamba2) or, with norm_before_gate, after the norm (mamba_ssm's option, Falcon-H1).</summary>
public sealed class MixerRmsNormGated : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly int _groupSize;
    private readonly double _eps;
    private readonly bool _normBeforeGate;

    public MixerRmsNormGated(string name, int size, int groupSize, double eps, ScalarType dtype, bool normBeforeGate = false)
        : base(name)
    {
        weight = nn.Parameter(torch.ones(size, dtype: dtype));
        _groupSize = groupSize;
        _eps = eps;
        _normBeforeGate = normBeforeGate;
        RegisterComponents();
    }

    public Parameter Weight => weight;

    /// <summary>Channels per normalisation group (d_inner / n_groups).</summary>
    public int GroupSize => _groupSize;

    public double Eps => _eps;

    /// <summary>Whether the norm comes before the gate (norm_before_gate).</summary>
    public bool NormBeforeGate => _normBeforeGate;

    /// <summary>y = weight · RMS_group(x · silu(z)), or weight · RMS_group(x) · silu(z) with norm_before_gate.</summary>
    public override Tensor forward(Tensor x, Tensor z) => Forward(x, z, MambaOps.Reference.Norm);

    /// <summary>The same, through the step's norm ops (norm_before_gate has no backend kernel: the reference math runs it).</summary>
    public Tensor Forward(Tensor x, Tensor z, INormOps ops) =>
        _normBeforeGate ? GatedRmsNorm.ForwardNormBeforeGate(x, z, weight, _groupSize, _eps) : ops.GatedRmsNorm(x, z, weight, _groupSize, _eps);
}
