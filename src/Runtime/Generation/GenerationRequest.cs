using System.Collections.Generic;

namespace MambaGen.Generation;

/// <summary>Why a request ended.</summary>
public enum FinishReason
{
    /// <summary>It produced one of its stop tokens.</summary>
    Stop,

    /// <summary>It produced <see cref="SamplingParams.MaxTokens"/> tokens.</summary>
    Length,
}

/// <summary>A request's life in the engine: its tokens, how many the state covers, and its state block.</summary>
internal sealed class GenerationRequest
{
    public GenerationRequest(string id, int[] prompt, SamplingParams sampling, TorchSharp.torch.Generator? generator)
    {
        Id = id;
        Tokens = new List<int>(prompt);
        PromptLength = prompt.Length;
        Sampling = sampling;
        Generator = generator;
    }

    public string Id { get; }

    /// <summary>Prompt then generated tokens.</summary>
    public List<int> Tokens { get; }

    public int PromptLength { get; }

    public SamplingParams Sampling { get; }

    public TorchSharp.torch.Generator? Generator { get; }

    /// <summary>Tokens the request's running state already covers.</summary>
    public int NumComputedTokens { get; set; }

    /// <summary>The request's state block while it runs; -1 while it waits.</summary>
    public int Block { get; set; } = -1;

    public int NumOutputTokens => Tokens.Count - PromptLength;

    /// <summary>Tokens known but not yet run through the model.</summary>
    public int NumPendingTokens => Tokens.Count - NumComputedTokens;
}
