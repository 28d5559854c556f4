using System;
using System.Globalization;

namespace MambaGen.Serving;

/// <summary>The service already holds as many requests as it takes: every state block runs one and
/// <see cref="MaxQueuedRequests"/> wait. Nothing was queued; try again later (HTTP 429 / 503 with Retry-After).</summary>
public sealed class EngineQueueFullException : InvalidOperationException
{
    public EngineQueueFullException(int maxRunningRequests, int maxQueuedRequests)
        : base(string.Create(CultureInfo.InvariantCulture,
            $"The engine service is full: {maxRunningRequests} requests run (one per state block) and {maxQueuedRequests} wait (EngineServiceOptions.MaxQueuedRequests); the request was refused, try again later."))
    {
        MaxRunningRequests = maxRunningRequests;
        MaxQueuedRequests = maxQueuedRequests;
    }

    public int MaxRunningRequests { get; }

    public int MaxQueuedRequests { get; }

    /// <summary>Requests the service holds at most: running plus queued.</summary>
    public int Limit => MaxRunningRequests + MaxQueuedRequests;
}

/// <summary>The engine loop died (a model step threw): every request it held, and every later one, fails with
/// this exception; <see cref="Exception.InnerException"/> is the cause, also in <see cref="EngineService.Fault"/>.</summary>
public sealed class EngineFaultedException : InvalidOperationException
{
    public EngineFaultedException(Exception cause)
        : base($"The engine loop died and the request cannot run: {cause?.GetType().Name}: {cause?.Message}", cause)
    {
    }
}
