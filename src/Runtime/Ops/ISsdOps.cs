using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// Mamba-2's SSM over the SSM state cache (<see cref="Ssd"/> is the reference). Implementations take <c>A_log</c>
/// as stored and compute A = -exp(A_log) in fp32 themselves.
/// </summary>
public interface ISsdOps
{
    /// <summary>Prefill: the chunked scan of <see cref="Ssd"/> against the cache, over the batch's chunk layout.</summary>
    Tensor ChunkScan(Tensor x, Tensor dt, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus,
        (double Min, double Max) dtLimit, Tensor ssmStates, PrefillBatch batch);

    /// <summary>Decode: see <see cref="Ssd.StateUpdate"/>.</summary>
    Tensor StateUpdate(Tensor ssmStates, Tensor x, Tensor dt, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus,
        (double Min, double Max) dtLimit, DecodeBatch batch);
}
