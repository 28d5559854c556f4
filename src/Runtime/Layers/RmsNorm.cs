using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Layers;

/// <summary>RMSNorm as HF's MambaRMSNorm: normalised in fp32, cast back to the input dtype, then scaled by <c>weight</c>.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double _eps;

    public RmsNorm(string name, long size, double eps, ScalarType dtype = ScalarType.Float32)
        : base(name)
    {
        weight = nn.Parameter(torch.ones(size, dtype: dtype));
        _eps = eps;
        RegisterComponents();
    }

    public Parameter Weight => weight;

    public double Eps => _eps;

    public override Tensor forward(Tensor x) => MambaGen.Ops.RmsNormMath.Forward(x, weight, _eps);
}
