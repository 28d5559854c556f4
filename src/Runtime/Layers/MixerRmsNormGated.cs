using MambaGen.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Layers;

/// <summary>Mamba2's <c>norm</c>: gated RMSNorm per group of d_inner / n_groups channels, as mamba_ssm and vLLM.</summary>
public sealed class MixerRmsNormGated : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly int _groupSize;
    private readonly double _eps;

    public MixerRmsNormGated(string name, int size, int groupSize, double eps, ScalarType dtype)
        : base(name)
    {
        weight = nn.Parameter(torch.ones(size, dtype: dtype));
        _groupSize = groupSize;
        _eps = eps;
        RegisterComponents();
    }

    public Parameter Weight => weight;

    /// <summary>Channels per normalisation group (d_inner / n_groups).</summary>
    public int GroupSize => _groupSize;

    public double Eps => _eps;

    /// <summary>y = weight · RMS_group(x · silu(z)).</summary>
    public override Tensor forward(Tensor x, Tensor z) => Forward(x, z, MambaOps.Reference.Norm);

    /// <summary>The same, through the step's norm ops.</summary>
    public Tensor Forward(Tensor x, Tensor z, INormOps ops) => ops.GatedRmsNorm(x, z, weight, _groupSize, _eps);
}
