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
    public static Tensor Forward(Tensor x, Tensor z, Tensor weight, int groupSize, double eps) => Run(x, z, weight, groupSize, eps, normBeforeGate: false);

    /// <summary>
    /// The norm_before_gate=True order (mamba_ssm's <c>RMSNormGated</c>, transformers' <c>FalconH1RMSNormGated</c>):
    /// y = weight ⊙ RMS_group(x) ⊙ silu(z), in fp32, cast back to x's dtype.
    /// </summary>
    public static Tensor ForwardNormBeforeGate(Tensor x, Tensor z, Tensor weight, int groupSize, double eps) => Run(x, z, weight, groupSize, eps, normBeforeGate: true);

    private static Tensor Run(Tensor x, Tensor z, Tensor weight, int groupSize, double eps, bool normBeforeGate)
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
        var gate = nn.functional.silu(z.to(ScalarType.Float32));
        var h = (normBeforeGate ? x.to(ScalarType.Float32) : x.to(ScalarType.Float32) * gate).view(rows, width / groupSize, groupSize);
        var meanSquare = h.square().mean(new long[] { 2 }, keepdim: true);
        var y = (h * (meanSquare + eps).rsqrt_()).view(rows, width).mul_(weight.to(ScalarType.Float32));
        return (normBeforeGate ? y.mul_(gate) : y).to(x.dtype).MoveToOuterDisposeScope();
    }
}
