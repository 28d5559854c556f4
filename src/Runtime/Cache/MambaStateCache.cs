using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace MambaGen.Cache;

/// <summary>
/// The recurrent-state cache of a model's mamba layers: per layer one raw buffer of <see cref="NumBlocks"/> pages
/// (<see cref="MambaLayerStateCache"/>), its state views bound into the layer with <see cref="MambaBase.BindKvCache"/>,
/// and one <see cref="MambaBlockAllocator"/> whose block ids index every layer's states alike (a request's state
/// is block b in each layer). One block per request: vLLM's mode none without speculative decoding.
/// Disposing it frees the buffers and unbinds the layers it bound, so a later forward says the layer has no cache
/// instead of reading freed memory; the cache itself then throws <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed class MambaStateCache : IDisposable
{
    private readonly MambaLayerStateCache[] _layers;
    private readonly MambaBase[] _boundLayers;
    private readonly MambaBlockAllocator _blocks;
    private bool _disposed;

    private MambaStateCache(MambaLayerStateCache[] layers, MambaBase[] boundLayers, int numBlocks)
    {
        _layers = layers;
        _boundLayers = boundLayers;
        NumBlocks = numBlocks;
        _blocks = new MambaBlockAllocator(numBlocks);
    }

    /// <summary>Each layer's buffer and state views, in the order the layers were given.</summary>
    public IReadOnlyList<MambaLayerStateCache> Layers => Live()._layers;

    public int NumBlocks { get; }

    /// <summary>Whether <see cref="Dispose"/> has run: the buffers are freed and the layers unbound.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>Hands out the block ids that go into <see cref="Backends.ScheduledRequest.StateBlockId"/>.</summary>
    public MambaBlockAllocator Blocks => Live()._blocks;

    /// <summary>Bytes one block costs across all layers: the sum of their pages.</summary>
    public long BytesPerBlock => Live()._layers.Sum(l => l.Layout.PageSizeBytes);

    /// <summary>Bytes the cache holds on its device.</summary>
    public long TotalBytes => Live()._layers.Sum(l => l.SizeBytes);

    /// <summary>
    /// Allocates <paramref name="numBlocks"/> zeroed blocks for each of <paramref name="layers"/> on
    /// <paramref name="device"/>, from the spec each layer gives under its own config, and binds the states into the layers.
    /// </summary>
    public static MambaStateCache Allocate(IReadOnlyList<MambaBase> layers, int numBlocks, Device device)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(device);
        if (layers.Count == 0)
        {
            throw new ArgumentException("A mamba state cache needs at least one layer.", nameof(layers));
        }

        if (numBlocks <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numBlocks), numBlocks, "A mamba state cache needs at least one block.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var specs = new MambaSpec[layers.Count];
        for (int i = 0; i < layers.Count; i++)
        {
            var layer = layers[i] ?? throw new ArgumentException($"Layer {i} is null.", nameof(layers));
            string name = layer.GetName();
            if (!names.Add(name))
            {
                throw new ArgumentException($"Two layers are named '{name}'; each mamba layer needs its own name to own its states.", nameof(layers));
            }

            specs[i] = layer.GetKvCacheSpec(layer.Config);
            CheckOneBlockPerRequest(name, specs[i]);
        }

        var caches = new List<MambaLayerStateCache>(layers.Count);
        try
        {
            for (int i = 0; i < layers.Count; i++)
            {
                var cache = MambaLayerStateCache.Allocate(layers[i].GetName(), specs[i], numBlocks, device);
                caches.Add(cache);
                layers[i].BindKvCache(cache.States);
            }
        }
        catch
        {
            foreach (var c in caches)
            {
                c.Dispose();
            }

            throw;
        }

        return new MambaStateCache(caches.ToArray(), layers.ToArray(), numBlocks);
    }

    /// <summary>
    /// Cache bytes for <paramref name="numConcurrentRequests"/> requests running at once: each layer's vLLM
    /// <see cref="MambaSpec.MaxMemoryUsageBytes"/> (one page per request in mode none) times the number of requests.
    /// </summary>
    public static long MemoryBytes(IReadOnlyList<MambaBase> layers, int numConcurrentRequests)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (numConcurrentRequests < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numConcurrentRequests), numConcurrentRequests, "The number of concurrent requests cannot be negative.");
        }

        long perRequest = 0;
        foreach (var layer in layers)
        {
            perRequest = checked(perRequest + layer.GetKvCacheSpec(layer.Config).MaxMemoryUsageBytes(layer.Config));
        }

        return checked(perRequest * numConcurrentRequests);
    }

    /// <summary>
    /// Unbinds each layer still bound to this cache's states (a layer since bound to another cache keeps that one)
    /// and frees every layer's buffer. A forward of an unbound layer then fails with "no KV cache bound"; using
    /// this cache throws <see cref="ObjectDisposedException"/>. Calling it again does nothing.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        for (int i = 0; i < _boundLayers.Length; i++)
        {
            var layer = _boundLayers[i];
            if (layer.KvCache.Count > 0 && ReferenceEquals(layer.KvCache[0], _layers[i].States[0]))
            {
                layer.UnbindKvCache();
            }
        }

        foreach (var l in _layers)
        {
            l.Dispose();
        }
    }

    private MambaStateCache Live() => _disposed
        ? throw new ObjectDisposedException(nameof(MambaStateCache), $"This state cache ({_layers.Length} layer(s), {NumBlocks} block(s)) was disposed: its buffers are freed and its layers unbound. Allocate a new one with MambaStateCache.Allocate.")
        : this;

    private static void CheckOneBlockPerRequest(string layerName, MambaSpec spec)
    {
        if (spec.CacheMode != MambaCacheMode.None)
        {
            throw new NotSupportedException($"Layer '{layerName}': mamba cache mode '{spec.CacheMode}' (prefix caching) is not supported by the state cache yet; use mode None.");
        }

        if (spec.NumSpeculativeBlocks != 0)
        {
            throw new NotSupportedException($"Layer '{layerName}': {spec.NumSpeculativeBlocks} speculative blocks per request are not supported by the state cache yet.");
        }
    }
}
