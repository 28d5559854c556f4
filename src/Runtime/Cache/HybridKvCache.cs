using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Attention;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Cache;

/// <summary>
/// One page pool for a hybrid model's mamba and attention layers (vLLM's hybrid KV cache): <see cref="HybridPageLayout.GroupSize"/>
/// zeroed int8 buffers of <see cref="NumBlocks"/> pages, layer j of every cache group viewing buffer j (a mamba layer
/// as its padded state pages, an attention layer as [num_blocks, 2, block_size, kv heads, head dim]), and one
/// <see cref="HybridBlockPool"/> whose block ids are disjoint across groups, so layers sharing a buffer never share a
/// page. Disposing it unbinds the layers it bound and frees the buffers.
/// </summary>
public sealed class HybridKvCache : IDisposable
{
    private readonly Tensor[] _raw;
    private readonly List<Tensor> _views;
    private readonly IReadOnlyList<MambaBase> _mamba;
    private readonly IReadOnlyList<SelfAttention> _attention;
    private bool _disposed;

    private HybridKvCache(HybridPageLayout layout, int numBlocks, Tensor[] raw, List<Tensor> views, IReadOnlyList<MambaBase> mamba, IReadOnlyList<SelfAttention> attention)
    {
        Layout = layout;
        NumBlocks = numBlocks;
        _raw = raw;
        _views = views;
        _mamba = mamba;
        _attention = attention;
        Blocks = new HybridBlockPool(layout, numBlocks);
    }

    public HybridPageLayout Layout { get; }

    public int NumBlocks { get; }

    /// <summary>Hands out every group's blocks.</summary>
    public HybridBlockPool Blocks { get; }

    /// <summary>The raw int8 buffers, [num_blocks · page bytes] each; buffer j holds layer j of every group.</summary>
    public IReadOnlyList<Tensor> Buffers => _disposed ? throw new ObjectDisposedException(nameof(HybridKvCache)) : _raw;

    /// <summary>Bytes the cache holds on its device.</summary>
    public long TotalBytes => Layout.BytesPerBlock * NumBlocks;

    public bool IsDisposed => _disposed;

    /// <summary>The plan for <paramref name="mamba"/> and <paramref name="attention"/> (each in model order, names unique).</summary>
    public static HybridPageLayout PlanFor(IReadOnlyList<MambaBase> mamba, IReadOnlyList<SelfAttention> attention, int? blockSize = null)
    {
        ArgumentNullException.ThrowIfNull(mamba);
        ArgumentNullException.ThrowIfNull(attention);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in mamba.Select(m => m.GetName()).Concat(attention.Select(a => a.GetName())))
        {
            if (!names.Add(name))
            {
                throw new ArgumentException($"Two cache layers are named '{name}'; each needs its own name to own its pages.");
            }
        }

        return HybridPageLayout.Plan(
            mamba.Select(m => (m.GetName(), m.GetKvCacheSpec(m.Config))).ToArray(),
            attention.Select(a => (a.GetName(), a.KvCacheSpec(1))).ToArray(),
            blockSize);
    }

    /// <summary>Blocks that fit in <paramref name="bytes"/> (vLLM: memory // page_size // group_size).</summary>
    public static int BlocksIn(HybridPageLayout layout, long bytes)
    {
        ArgumentNullException.ThrowIfNull(layout);
        return (int)Math.Min(int.MaxValue, bytes / layout.BytesPerBlock);
    }

    /// <summary>Allocates <paramref name="numBlocks"/> blocks laid out as <paramref name="layout"/> (from
    /// <see cref="PlanFor"/> over the same layers) on <paramref name="device"/> and binds every layer.</summary>
    public static HybridKvCache Allocate(IReadOnlyList<MambaBase> mamba, IReadOnlyList<SelfAttention> attention, HybridPageLayout layout, int numBlocks, Device device)
    {
        ArgumentNullException.ThrowIfNull(mamba);
        ArgumentNullException.ThrowIfNull(attention);
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(device);
        if (numBlocks <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numBlocks), numBlocks, "A hybrid cache needs at least one block.");
        }

        var raw = new Tensor[layout.GroupSize];
        var views = new List<Tensor>();
        try
        {
            for (int j = 0; j < raw.Length; j++)
            {
                raw[j] = torch.zeros(new[] { checked(numBlocks * layout.PageSizeBytes) }, ScalarType.Int8, device);
                raw[j].DetachFromDisposeScope();
            }

            foreach (var layer in mamba)
            {
                var (group, slot) = layout.PlaceOf(layer.GetName());
                var spec = layout.Groups[group].Mamba ?? throw new ArgumentException($"Layer '{layer.GetName()}' is a mamba layer but the layout puts it in {layout.Groups[group]}.");
                var states = MambaLayerStateCache.StateViews(raw[slot], MambaPageLayout.For(spec, layer.GetName()), numBlocks);
                views.AddRange(states);
                layer.BindKvCache(states);
            }

            foreach (var layer in attention)
            {
                var (group, slot) = layout.PlaceOf(layer.GetName());
                var spec = layout.Groups[group].Attention ?? throw new ArgumentException($"Layer '{layer.GetName()}' is an attention layer but the layout puts it in {layout.Groups[group]}.");
                using var typed = DtypeView.View(raw[slot], spec.Dtype);
                var kv = typed.view(numBlocks, 2, spec.BlockSize, spec.NumKvHeads, spec.HeadSize);
                kv.DetachFromDisposeScope();
                views.Add(kv);
                layer.BindKvCache(kv);
            }
        }
        catch
        {
            Unbind(mamba, attention);
            foreach (var t in views.Concat(raw.Where(r => r is not null)))
            {
                t.Dispose();
            }

            throw;
        }

        return new HybridKvCache(layout, numBlocks, raw, views, mamba.ToArray(), attention.ToArray());
    }

    /// <summary>Unbinds the layers and frees the buffers; calling it again does nothing.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Unbind(_mamba.Where(m => m.KvCache.Count > 0 && _views.Any(v => ReferenceEquals(v, m.KvCache[0]))).ToArray(),
            _attention.Where(a => _views.Any(v => ReferenceEquals(v, a.KvCache))).ToArray());
        foreach (var t in _views.Concat(_raw))
        {
            t.Dispose();
        }
    }

    private static void Unbind(IEnumerable<MambaBase> mamba, IEnumerable<SelfAttention> attention)
    {
        foreach (var m in mamba)
        {
            m.UnbindKvCache();
        }

        foreach (var a in attention)
        {
            a.BindKvCache(null);
        }
    }
}
