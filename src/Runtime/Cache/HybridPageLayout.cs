using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Attention;

namespace MambaGen.Cache;

/// <summary>
/// vLLM's hybrid KV-cache plan: one page size for every layer, the attention block size raised until a page holds
/// the largest mamba state (<see cref="HybridPageAlignment"/>), mamba pages padded up to it; layers of one spec
/// grouped into cache groups of <see cref="GroupSize"/> layers (<c>_get_kv_cache_groups_uniform_page_size</c>), and
/// one raw buffer per place in a group, shared by layer j of every group.
/// </summary>
public sealed class HybridPageLayout
{
    private readonly Dictionary<string, (int Group, int Slot)> _places;

    private HybridPageLayout(long pageSizeBytes, int attentionBlockSize, long mambaPageBytes, int groupSize, IReadOnlyList<KvCacheGroup> groups)
    {
        PageSizeBytes = pageSizeBytes;
        AttentionBlockSize = attentionBlockSize;
        MambaPageBytes = mambaPageBytes;
        GroupSize = groupSize;
        Groups = groups;
        _places = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        foreach (var g in groups)
        {
            for (int j = 0; j < g.LayerNames.Count; j++)
            {
                _places.Add(g.LayerNames[j], (g.Index, j));
            }
        }
    }

    /// <summary>Bytes of one page, the same for every layer.</summary>
    public long PageSizeBytes { get; }

    /// <summary>Tokens per attention block (0 without attention layers).</summary>
    public int AttentionBlockSize { get; }

    /// <summary>The largest unpadded mamba page (0 without mamba layers).</summary>
    public long MambaPageBytes { get; }

    /// <summary>Padding a mamba page carries, in percent of the largest unpadded one.</summary>
    public double MambaPaddingPercent => MambaPageBytes == 0 ? 0 : 100.0 * (PageSizeBytes - MambaPageBytes) / MambaPageBytes;

    /// <summary>Layers per group: the number of raw buffers, each shared by one layer of every group.</summary>
    public int GroupSize { get; }

    public IReadOnlyList<KvCacheGroup> Groups { get; }

    /// <summary>Bytes one block id costs: a page in each raw buffer.</summary>
    public long BytesPerBlock => PageSizeBytes * GroupSize;

    /// <summary>Blocks a request of <paramref name="numTokens"/> tokens holds across all groups.</summary>
    public int BlocksFor(int numTokens) => Groups.Sum(g => g.BlocksFor(numTokens));

    /// <summary>The group of a layer and its place in it (which raw buffer it uses).</summary>
    public (int Group, int Slot) PlaceOf(string layerName) => _places.TryGetValue(layerName, out var place)
        ? place
        : throw new KeyNotFoundException($"Layer '{layerName}' is not in the hybrid cache layout.");

    /// <summary>
    /// Plans the pool for the model's cache layers, in model order.
    /// </summary>
    /// <param name="mamba">Each mamba layer's name and spec (unpadded).</param>
    /// <param name="attention">Each attention layer's name and spec (its block size is replaced).</param>
    /// <param name="userBlockSize">The attention block size asked for; raised when a page would not hold a mamba state.</param>
    /// <param name="kernelAlignment">The attention block size is a multiple of it (vLLM: 16).</param>
    public static HybridPageLayout Plan(IReadOnlyList<(string Name, MambaSpec Spec)> mamba, IReadOnlyList<(string Name, AttentionSpec Spec)> attention,
        int? userBlockSize = null, int kernelAlignment = 16)
    {
        ArgumentNullException.ThrowIfNull(mamba);
        ArgumentNullException.ThrowIfNull(attention);
        if (mamba.Count + attention.Count == 0)
        {
            throw new ArgumentException("A hybrid cache needs at least one mamba or attention layer.");
        }

        if (userBlockSize is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(userBlockSize), userBlockSize, "The attention block size must be positive.");
        }

        foreach (var (name, spec) in mamba)
        {
            if (spec.CacheMode != MambaCacheMode.None || spec.NumSpeculativeBlocks != 0)
            {
                throw new NotSupportedException($"Layer '{name}': the hybrid cache holds one mamba block per request (cache mode none, no speculative blocks); got mode {spec.CacheMode} with {spec.NumSpeculativeBlocks} speculative blocks.");
            }
        }

        var attentionKinds = attention.Select(a => a.Spec.WithBlockSize(1)).Distinct().ToArray();
        if (attentionKinds.Length > 1)
        {
            throw new NotSupportedException($"The attention layers differ in KV heads, head size or dtype ({string.Join("; ", attention.Select(a => $"'{a.Name}': {a.Spec.NumKvHeads}x{a.Spec.HeadSize} {a.Spec.Dtype}"))}); one page size for several attention shapes is not supported.");
        }

        long mambaPage = mamba.Count == 0 ? 0 : mamba.Max(m => m.Spec.UnpaddedPageSizeBytes);
        int blockSize = 0;
        long page;
        if (attentionKinds.Length == 0)
        {
            page = mambaPage;
        }
        else if (mambaPage == 0)
        {
            blockSize = userBlockSize ?? kernelAlignment;
            page = attentionKinds[0].WithBlockSize(blockSize).PageSizeBytes;
        }
        else
        {
            var a = attentionKinds[0];
            var alignment = HybridPageAlignment.Compute(mambaPage, a.NumKvHeads, a.HeadSize, a.Dtype, MambaCacheMode.None, userBlockSize, kernelAlignment: kernelAlignment);
            blockSize = alignment.AttentionBlockSize;
            page = alignment.AttentionPageBytes;
        }

        // Layers of one spec form a type; every type splits into groups of the same size (vLLM's rule: the smallest
        // type's count, or the largest's when they are within 25 %), taking layers[i::num_groups] into group i.
        var types = new List<(bool Attention, List<string> Names, MambaSpec? Mamba)>();
        foreach (var (name, spec) in mamba)
        {
            var padded = new MambaSpec(spec.Shapes, spec.Dtypes, spec.BlockSize, page, spec.MambaType, spec.CacheMode, spec.NumSpeculativeBlocks);
            var type = types.FirstOrDefault(t => !t.Attention && t.Mamba!.Equals(padded));
            if (type.Names is null)
            {
                types.Add((false, new List<string> { name }, padded));
            }
            else
            {
                type.Names.Add(name);
            }
        }

        if (attention.Count > 0)
        {
            types.Add((true, attention.Select(a => a.Name).ToList(), null));
        }

        int min = types.Min(t => t.Names.Count), max = types.Max(t => t.Names.Count);
        int groupSize = max < min * 1.25 ? max : min;
        var groups = new List<KvCacheGroup>();
        foreach (var (isAttention, names, spec) in types)
        {
            int numGroups = (names.Count + groupSize - 1) / groupSize;
            for (int i = 0; i < numGroups; i++)
            {
                var members = names.Where((_, k) => k % numGroups == i).ToArray();
                groups.Add(new KvCacheGroup(groups.Count, members, spec, isAttention ? attentionKinds[0].WithBlockSize(blockSize) : null));
            }
        }

        var layout = new HybridPageLayout(page, blockSize, mambaPage, groupSize, groups);
        foreach (var g in groups.Where(g => !g.IsAttention))
        {
            // Checks each state's alignment inside the padded page.
            MambaPageLayout.For(g.Mamba!, g.LayerNames[0]);
        }

        return layout;
    }

    public override string ToString() =>
        $"page {PageSizeBytes} B, attention block {AttentionBlockSize} tokens, mamba page {MambaPageBytes} B padded {MambaPaddingPercent:0.##} %, {Groups.Count} group(s) of {GroupSize}";
}
