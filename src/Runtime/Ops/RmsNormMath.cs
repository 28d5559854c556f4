using System;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>HF's MambaRMSNorm: normalised in fp32, cast back to the input dtype, then scaled by the weight.</summary>
public static class RmsNormMath
{
    /// <param name="x">[..., width].</param>
    /// <param name="weight">[width].</param>
    /// <param name="eps">Added to the mean square.</param>
    /// <returns>weight · (x / RMS(x)) in the promoted dtype of x and weight.</returns>
    public static Tensor Forward(Tensor x, Tensor weight, double eps)
    {
        OpArgs.Floating(x, nameof(x));
        if (x.dim() < 1 || weight.dim() != 1 || x.size(-1) != weight.size(0))
        {
            throw new ArgumentException($"RMS norm of x {OpArgs.Shape(x)} needs a weight [{(x.dim() < 1 ? "width" : x.size(-1).ToString())}]; got {OpArgs.Shape(weight)}.", nameof(weight));
        }

        OpArgs.SameDevice(x, weight, nameof(weight));
        using var scope = torch.NewDisposeScope();
        var h = x.to(ScalarType.Float32);
        h = h * torch.rsqrt(h.pow(2).mean(new long[] { -1 }, keepdim: true) + eps);
        return (weight * h.to(x.dtype)).MoveToOuterDisposeScope();
    }
}
