using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// Mamba-1's selective SSM over the SSM state cache (<see cref="SelectiveScan"/> is the reference). Implementations
/// take <c>A_log</c> [D, N] as stored and compute A = -exp(A_log) in fp32 themselves.
/// </summary>
public interface ISelectiveScanOps
{
    /// <summary>Prefill: the varlen scan of <see cref="SelectiveScan"/> against the cache.</summary>
    Tensor Forward(Tensor u, Tensor delta, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias, bool deltaSoftplus,
        Tensor ssmStates, PrefillBatch batch);

    /// <summary>Decode: see <see cref="SelectiveScan.Update"/>.</summary>
    Tensor Update(Tensor ssmStates, Tensor x, Tensor delta, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias,
        bool deltaSoftplus, DecodeBatch batch);

    /// <summary>
    /// Decode with dt_proj fused into the update: delta = <paramref name="deltaLow"/>·<paramref name="deltaWeight"/>ᵀ
    /// (rounded to the activations' dtype, as the projection's output), then <see cref="Update"/>, in one kernel; null
    /// where this set has none for these inputs, and the caller projects dt with <see cref="ILinearOps"/>. The weight is
    /// constant through the step, as <see cref="ILinearOps"/>'s.
    /// </summary>
    Tensor? UpdateProjected(Tensor ssmStates, Tensor x, Tensor deltaLow, Tensor deltaWeight, Tensor aLog, Tensor b, Tensor c, Tensor? d,
        Tensor? z, Tensor? deltaBias, bool deltaSoftplus, DecodeBatch batch) => null;
}
