using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>The model's RMS norms and Mamba-2's gated norm (<see cref="GatedRmsNorm"/> and <see cref="RmsNormMath"/> are the reference).</summary>
public interface INormOps
{
    /// <summary>
    /// <paramref name="residual"/> += <paramref name="delta"/> in place (when given, cast to the residual's dtype), then
    /// HF's MambaRMSNorm of the residual with <paramref name="weight"/>. <paramref name="castInput"/>: normalise
    /// <c>residual.to(weight dtype)</c>, as a block's norm does; otherwise normalise the residual in its own dtype, as
    /// the final norm does.
    /// </summary>
    /// <returns>The normalised rows [rows, width] in the weight's dtype.</returns>
    Tensor AddRmsNorm(Tensor residual, Tensor? delta, Tensor weight, double eps, bool castInput);

    /// <summary>See <see cref="GatedRmsNorm.Forward"/>.</summary>
    Tensor GatedRmsNorm(Tensor x, Tensor z, Tensor weight, int groupSize, double eps);
}
