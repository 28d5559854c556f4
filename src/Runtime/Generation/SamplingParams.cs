using System;
using System.Collections.Generic;

namespace MambaGen.Generation;

/// <summary>How one request picks its tokens and when it stops.</summary>
public sealed record SamplingParams
{
    /// <summary>0 picks the most likely token (greedy); above 0 samples from softmax(logits / temperature).</summary>
    public double Temperature { get; init; }

    /// <summary>Nucleus sampling: keep the smallest set of tokens whose probability reaches TopP (1 keeps all).</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Most tokens to generate.</summary>
    public int MaxTokens { get; init; } = 64;

    /// <summary>Tokens that end the request; the stop token is part of the output.</summary>
    public IReadOnlyCollection<int> StopTokenIds { get; init; } = Array.Empty<int>();

    /// <summary>Seed of the request's own random generator, so a sampled request repeats whatever it is batched with.</summary>
    public ulong? Seed { get; init; }

    public static SamplingParams Greedy(int maxTokens) => new() { MaxTokens = maxTokens };

    internal void Validate()
    {
        if (Temperature < 0 || double.IsNaN(Temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "Temperature must be 0 (greedy) or positive.");
        }

        if (!(TopP > 0 && TopP <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "TopP must be in (0, 1].");
        }

        if (MaxTokens < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxTokens), MaxTokens, "A request must be allowed at least one token.");
        }
    }
}
