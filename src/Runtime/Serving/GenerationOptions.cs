using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Generation;

namespace MambaGen.Serving;

/// <summary>How one <see cref="EngineService.GenerateAsync(string, GenerationOptions?, System.Threading.CancellationToken)"/>
/// request samples and when it stops. The defaults are the CLI's: greedy, 64 tokens, the model's bos and eos tokens.</summary>
public sealed record GenerationOptions
{
    /// <summary>Most tokens to generate (the stop token, when one ends the request, counts).</summary>
    public int MaxTokens { get; init; } = 64;

    /// <summary>0 is greedy; above 0 samples from softmax(logits / temperature).</summary>
    public double Temperature { get; init; }

    /// <summary>Nucleus sampling mass in (0, 1].</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Keep the TopK most likely tokens before top-p (0 keeps all; sampling only).</summary>
    public int TopK { get; init; }

    /// <summary>Seed of the request's own generator (sampling only), so a sampled request repeats whatever it is batched with.</summary>
    public ulong? Seed { get; init; }

    /// <summary>Token ids that end the request, on top of the model's eos tokens (vLLM's <c>stop_token_ids</c>).</summary>
    public IReadOnlyCollection<int>? StopTokenIds { get; init; }

    /// <summary>Do not stop at the model's eos tokens (vLLM's <c>ignore_eos</c>); <see cref="StopTokenIds"/> still stop.</summary>
    public bool IgnoreEos { get; init; }

    /// <summary>Texts that end the request; the matched text and anything after it are not emitted. A stop string
    /// split across tokens is found: text that could be the start of one is held back until it is decided.</summary>
    public IReadOnlyList<string>? StopStrings { get; init; }

    /// <summary>Start a text prompt with the model's bos token (when it has one and the prompt does not already
    /// start with it), as <c>mambagen generate</c> does. Token-id prompts are taken as given.</summary>
    public bool AddBos { get; init; } = true;

    internal SamplingParams ToSampling(IReadOnlyList<int> eosTokenIds) => new()
    {
        Temperature = Temperature,
        TopP = TopP,
        TopK = TopK,
        MaxTokens = MaxTokens,
        Seed = Seed,
        StopTokenIds = (IgnoreEos ? Enumerable.Empty<int>() : eosTokenIds).Concat(StopTokenIds ?? Array.Empty<int>()).Distinct().ToArray(),
    };
}
