namespace MambaGen.Serving;

/// <summary>How a <see cref="MambaChatClient"/> serves requests that leave a setting unset.</summary>
public sealed record MambaChatClientOptions
{
    /// <summary>The generation settings a request starts from; each <c>ChatOptions</c> value that is set replaces its
    /// counterpart. By default the engine's: greedy, 64 new tokens, the model's eos tokens.</summary>
    public GenerationOptions Defaults { get; init; } = new();

    /// <summary>Whether disposing the client disposes the <see cref="EngineService"/> (off: a service may serve many clients).</summary>
    public bool DisposeService { get; init; }
}
