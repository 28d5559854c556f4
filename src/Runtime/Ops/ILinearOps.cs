using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>The projections (in/out projections, the LM head): y = x·Wᵀ + b (the reference is libtorch's linear).</summary>
public interface ILinearOps
{
    /// <param name="x">[rows, in].</param>
    /// <param name="weight">[out, in].</param>
    /// <param name="bias">[out] or null.</param>
    /// <returns>[rows, out] in x's dtype.</returns>
    Tensor Linear(Tensor x, Tensor weight, Tensor? bias);
}
