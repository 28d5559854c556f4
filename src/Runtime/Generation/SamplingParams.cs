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

    /// <summary>Top-k sampling: keep the TopK most likely tokens (0 keeps all); applied before <see cref="TopP"/>, which
    /// then counts mass among the kept tokens, as vLLM does.</summary>
    public int TopK { get; init; }

    /// <summary>Most tokens to generate.</summary>
    public int MaxTokens { get; init; } = 64;

    /// <summary>Tokens that end the request; the stop token is part of the output.</summary>
    public IReadOnlyCollection<int> StopTokenIds { get; init; } = Array.Empty<int>();

    /// <summary>Seed of the request's own random generator, so a sampled request repeats whatever it is batched with.</summary>
    public ulong? Seed { get; init; }

    public static SamplingParams Greedy(int maxTokens) => new() { MaxTokens = maxTokens };

    /// <summary>The smallest positive temperature or top-p: float32's smallest normal value. Below it a value
    /// underflows (to 0 or a denormal) in the float32 sampler and would divide by zero or keep no token.</summary>
    public const double MinPositive = 1.1754943508222875e-38;

    /// <summary>Refuses parameters the sampler cannot honour, naming the field and the range it must be in; the engine
    /// calls it when a request is added, and a front end may call it first, before loading a model.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The field at fault is the parameter name.</exception>
    public void Validate()
    {
        if (double.IsNaN(Temperature) || Temperature < 0 || double.IsInfinity(Temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "Temperature must be 0 (greedy) or a positive finite number.");
        }

        if (Temperature > 0 && Temperature < MinPositive)
        {
            throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, $"Temperature {Format(Temperature)} underflows float32 (smallest positive: {Format(MinPositive)}); use 0 for greedy.");
        }

        if (double.IsNaN(TopP) || !(TopP > 0 && TopP <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "TopP must be in (0, 1].");
        }

        if (TopP < MinPositive)
        {
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, $"TopP {Format(TopP)} underflows float32 (smallest positive: {Format(MinPositive)}); any TopP below the top token's probability keeps that token alone.");
        }

        if (TopK < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "TopK must be 0 (keep all tokens) or positive.");
        }

        if (MaxTokens < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxTokens), MaxTokens, "A request must be allowed at least one token.");
        }
    }

    private static string Format(double value) => value.ToString("G3", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Prompt plus <see cref="MaxTokens"/>: the longest the request's sequence can grow, in checked arithmetic.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The sum does not fit an int.</exception>
    public int MaxSequenceLength(int promptLength)
    {
        long total = (long)promptLength + MaxTokens;
        return total <= int.MaxValue
            ? (int)total
            : throw new ArgumentOutOfRangeException(nameof(MaxTokens), MaxTokens, $"A prompt of {promptLength} tokens plus MaxTokens {MaxTokens} is {total} tokens, more than a sequence can hold ({int.MaxValue}).");
    }
}
