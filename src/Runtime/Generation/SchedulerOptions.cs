using System;

namespace MambaGen.Generation;

/// <summary>Limits of one engine step, as vLLM's scheduler config.</summary>
/// <param name="MaxNumBatchedTokens">Token budget of a step: decodes (one token each) plus prefill chunks.</param>
/// <param name="MaxNumSeqs">Most requests in one step.</param>
public sealed record SchedulerOptions(int MaxNumBatchedTokens = 2048, int MaxNumSeqs = 64)
{
    internal void Validate()
    {
        if (MaxNumBatchedTokens < 1 || MaxNumSeqs < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxNumBatchedTokens), $"A step needs a token budget and a request limit of at least 1 (got {MaxNumBatchedTokens} tokens, {MaxNumSeqs} requests).");
        }
    }
}
