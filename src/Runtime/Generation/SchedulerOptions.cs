using System;

namespace MambaGen.Generation;

/// <summary>Limits of one engine step, as vLLM's scheduler config.</summary>
/// <param name="MaxNumBatchedTokens">Token budget of a step: decodes (one token each) plus prefill chunks.</param>
/// <param name="MaxNumSeqs">Most requests in one step.</param>
public sealed record SchedulerOptions(int MaxNumBatchedTokens = 2048, int MaxNumSeqs = 64)
{
    /// <summary>The environment variable that turns <see cref="AsyncScheduling"/> off (0, false or off) where the options do not say.</summary>
    public const string AsyncSchedulingVariable = "MAMBAGEN_ASYNC_SCHEDULING";

    /// <summary>
    /// vLLM's async scheduling: while every running request decodes greedily and none waits, each step's next step is
    /// queued on the device from its picks before the host reads them, so the host's work between steps (reading the
    /// tokens, the engine's bookkeeping, the caller's) runs beside the device's instead of in its gaps. A request that
    /// picks a stop token has had one more step queued, whose token is dropped. On unless set off here or by
    /// <see cref="AsyncSchedulingVariable"/> (measured on an H100, 2026-12-05: decode 1.1-1.5x the synchronous engine's
    /// tokens/s at batch 1 to 128); only op sets that pick on the device (the CUDA kernels) take it, others step as before.
    /// </summary>
    public bool AsyncScheduling { get; init; } = Config.EnvironmentSwitch.OffValue(AsyncSchedulingVariable) is null;

    internal void Validate()
    {
        if (MaxNumBatchedTokens < 1 || MaxNumSeqs < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxNumBatchedTokens), $"A step needs a token budget and a request limit of at least 1 (got {MaxNumBatchedTokens} tokens, {MaxNumSeqs} requests).");
        }
    }
}
