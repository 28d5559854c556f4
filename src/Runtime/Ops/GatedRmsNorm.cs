using System;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// Mamba-2's gated RMS norm (mamba_ssm <c>RMSNormGated</c> with norm_before_gate=False, vLLM's
/// <c>Mixer2RMSNormGated</c>; mamba-refs §2.5): y = weight ⊙ RMS_group(x ⊙ silu(z)), normalised per group of
/// <c>groupSize</c> channels, in fp32, cast back to x's dtype.
/// </summary>
/// <remarks>
/// Mamba-2 uses groupSize = E / n_groups. HF transformers normalises over all E channels, which agrees only when
/// n_groups is 1 (pass groupSize = E for that behaviour).
/// </remarks>
public static class GatedRmsNorm
{
    /// <param name="x">[tokens, E].</param>
    /// <param name="z">Gate [tokens, E].</param>
    /// <param name="weight">[E].</param>
    /// <param name="groupSize">Channels per normalisation group; divides E.</param>
    /// <param name="eps">Added to the mean square (Mamba-2: rms_norm_eps, usually 1e-5).</param>
    /// <returns>[tokens, E] in x's dtype.</returns>
    public static Tensor Forward(Tensor x, Tensor z, Tensor weight, int groupSize, double eps)
    {
        OpArgs.Floating(x, nameof(x));
        if (x.dim() != 2)
        {
            throw new ArgumentException($"Gated RMS norm input x must be [tokens, E]; got {OpArgs.Shape(x)}.", nameof(x));
        }

        long rows = x.size(0), width = x.size(1);
        OpArgs.Dims(z, nameof(z), rows, width);
        OpArgs.Dims(weight, nameof(weight), width);
        if (groupSize <= 0 || width % groupSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(groupSize), groupSize, $"The norm group size must divide the width E = {width}.");
        }

        OpArgs.SameDevice(x, z, nameof(z));
        OpArgs.SameDevice(x, weight, nameof(weight));

        using var scope = torch.NewDisposeScope();
        var gated = (x.to(ScalarType.Float32) * nn.functional.silu(z.to(ScalarType.Float32))).view(rows, width / groupSize, groupSize);
        var meanSquare = gated.square().mean(new long[] { 2 }, keepdim: true);
        var y = (gated * (meanSquare + eps).rsqrt_()).view(rows, width).mul_(weight.to(ScalarType.Float32));
        return y.to(x.dtype).MoveToOuterDisposeScope();
    }
}
