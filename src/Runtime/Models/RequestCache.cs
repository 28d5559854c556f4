using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Cache;
using MambaGen.Generation;
using MambaGen.Models.Hybrid;

namespace MambaGen.Models;

/// <summary>
/// A model's cache sized for a number of requests of a given length, whatever the model's kind: a state cache of one
/// block per request (<see cref="MambaLanguageModel"/>) or a page pool with room for every request at that length
/// (<see cref="HybridLanguageModel"/>). Gives the engine over it, or hand-made steps whose row i is request "row i"
/// (checks and benchmarks drive the model directly with those).
/// </summary>
public sealed class RequestCache : IDisposable
{
    private readonly IDisposable _cache;
    private readonly Func<SchedulerOptions?, GenerationEngine> _engine;
    private readonly Func<IReadOnlyList<(int Computed, int Scheduled)>, CommonAttentionMetadata> _step;

    private RequestCache(ICausalLanguageModel model, IDisposable cache, Func<SchedulerOptions?, GenerationEngine> engine, Func<IReadOnlyList<(int, int)>, CommonAttentionMetadata> step)
    {
        Model = model;
        _cache = cache;
        _engine = engine;
        _step = step;
    }

    public ICausalLanguageModel Model { get; }

    /// <summary>A state cache of <paramref name="requests"/> blocks (a Mamba request holds one block whatever its length).</summary>
    public static RequestCache For(MambaLanguageModel model, int requests)
    {
        ArgumentNullException.ThrowIfNull(model);
        var cache = MambaStateCache.Allocate(model.Mixers, requests, model.Device);
        return new RequestCache(model, cache, o => new GenerationEngine(model, cache, o),
            rows => new CommonAttentionMetadata(rows.Select((r, i) => new ScheduledRequest(r.Item1, r.Item2, i, $"row {i}")).ToArray()));
    }

    /// <summary>A page pool with room for <paramref name="requests"/> requests of <paramref name="maxTokens"/> tokens at once.</summary>
    public static RequestCache For(HybridLanguageModel model, int requests, int maxTokens)
    {
        ArgumentNullException.ThrowIfNull(model);
        var cache = model.AllocateCache(checked(requests * model.PlanCache().BlocksFor(maxTokens)));
        return new RequestCache(model, cache, o => new GenerationEngine(model, cache, o), rows =>
        {
            var named = rows.Select((r, i) => ($"row {i}", r.Item1, r.Item2)).ToArray();
            foreach (var (id, computed, scheduled) in named)
            {
                if (!cache.Blocks.TryGrow(id, computed + scheduled))
                {
                    throw new InvalidOperationException($"The page pool has no room for {id} at {computed + scheduled} tokens.");
                }
            }

            return cache.Blocks.Describe(named);
        });
    }

    /// <summary>A new engine over the cache (one at a time: an engine's requests hold the cache's blocks).</summary>
    public GenerationEngine Engine(SchedulerOptions? options = null) => _engine(options);

    /// <summary>A step whose row i is request "row i" with (computed, scheduled) tokens, decodes first; a hybrid's
    /// rows take the blocks they need on the way.</summary>
    public CommonAttentionMetadata Step(IReadOnlyList<(int Computed, int Scheduled)> rows) => _step(rows ?? throw new ArgumentNullException(nameof(rows)));

    public void Dispose() => _cache.Dispose();
}
