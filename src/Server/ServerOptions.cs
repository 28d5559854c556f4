using System;
using System.Net;
using Microsoft.Extensions.Logging;

namespace MambaGen.Server;

/// <summary>How <see cref="OpenAiServer"/> listens and what it tells clients.</summary>
public sealed record ServerOptions
{
    /// <summary>The id clients name in <c>model</c> and see in /v1/models; a request naming another model gets 404.</summary>
    public string ModelName { get; init; } = "default";

    /// <summary>The address to listen on: an IP address, or <c>localhost</c> for the loopback one. The default
    /// keeps the server off the network; <c>0.0.0.0</c> opens it to every interface.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The TCP port; 0 takes a free one (read it back from <see cref="OpenAiServer.Address"/>).</summary>
    public int Port { get; init; } = 8000;

    /// <summary>The longest sequence a request may ask for: prompt tokens plus max_tokens (vLLM's max_model_len).
    /// A request without max_tokens gets what is left of it on the chat route (16 tokens on /v1/completions, as OpenAI).</summary>
    public int MaxModelLen { get; init; } = 2048;

    /// <summary>The Retry-After seconds sent with a 429 when the engine's queue is full.</summary>
    public int RetryAfterSeconds { get; init; } = 1;

    /// <summary>Where the server's own logs go (Kestrel, requests); none by default.</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    internal IPAddress Address()
    {
        if (string.Equals(Host, "localhost", StringComparison.OrdinalIgnoreCase)) return IPAddress.Loopback;
        return IPAddress.TryParse(Host, out var address)
            ? address
            : throw new ArgumentException($"Host '{Host}' is not an IP address (or localhost): give the address of the interface to listen on, e.g. 127.0.0.1 or 0.0.0.0.", nameof(Host));
    }

    /// <summary>Refuses options that cannot serve, naming the option.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(ModelName)) throw new ArgumentException("ModelName must not be empty.", nameof(ModelName));
        if (Port is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(Port), Port, "Port must be from 0 to 65535.");
        if (MaxModelLen < 2) throw new ArgumentOutOfRangeException(nameof(MaxModelLen), MaxModelLen, "MaxModelLen must be at least 2 (one prompt token and one new one).");
        if (RetryAfterSeconds < 1) throw new ArgumentOutOfRangeException(nameof(RetryAfterSeconds), RetryAfterSeconds, "RetryAfterSeconds must be at least 1.");
        Address();
    }
}
