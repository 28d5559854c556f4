using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// The projections (in/out projections, the LM head): y = x·Wᵀ + b (the reference is libtorch's linear). The weight
/// must not be written by any kernel of the step that reads it (a model's parameters): the fused kernels may load it
/// before the kernel ahead of them has ended (programmatic dependent launch, docs/gpu.md).
/// </summary>
public interface ILinearOps
{
    /// <param name="x">[rows, in].</param>
    /// <param name="weight">[out, in].</param>
    /// <param name="bias">[out] or null.</param>
    /// <returns>[rows, out] in x's dtype.</returns>
    Tensor Linear(Tensor x, Tensor weight, Tensor? bias);
}
