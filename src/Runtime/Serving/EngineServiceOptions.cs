using System;
using MambaGen.Generation;

namespace MambaGen.Serving;

/// <summary>Limits of an <see cref="EngineService"/>.</summary>
public sealed record EngineServiceOptions
{
    /// <summary>Requests that may wait for a state block on top of those running (one per block). A request
    /// beyond that is refused at once with <see cref="EngineQueueFullException"/>, not queued.</summary>
    public int MaxQueuedRequests { get; init; } = 64;

    /// <summary>The engine's scheduler; by default at most one running request per state block.</summary>
    public SchedulerOptions? Scheduler { get; init; }

    internal void Validate()
    {
        if (MaxQueuedRequests < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxQueuedRequests), MaxQueuedRequests, "MaxQueuedRequests must be 0 or more.");
        }
    }
}
