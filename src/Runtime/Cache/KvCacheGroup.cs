using System.Collections.Generic;
using MambaGen.Attention;

namespace MambaGen.Cache;

/// <summary>
/// vLLM's <c>KVCacheGroupSpec</c>: layers of one spec that share a block table per request. A mamba group's request
/// holds one block (its running state, mode none); an attention group's request holds one block per
/// <see cref="AttentionSpec.BlockSize"/> tokens. Layer j of every group lives in the pool's raw tensor j.
/// </summary>
/// <param name="Index">The group's place in <see cref="HybridPageLayout.Groups"/>.</param>
/// <param name="LayerNames">The group's layers, at most <see cref="HybridPageLayout.GroupSize"/>.</param>
/// <param name="Mamba">The mamba spec (padded to the pool's page), or null for an attention group.</param>
/// <param name="Attention">The attention spec (at the pool's block size), or null for a mamba group.</param>
public sealed record KvCacheGroup(int Index, IReadOnlyList<string> LayerNames, MambaSpec? Mamba, AttentionSpec? Attention)
{
    public bool IsAttention => Attention is not null;

    /// <summary>Blocks a request of <paramref name="numTokens"/> tokens holds in this group.</summary>
    public int BlocksFor(int numTokens) => Attention?.BlocksFor(numTokens) ?? 1;

    public override string ToString() => IsAttention
        ? $"attention group {Index} ({LayerNames.Count} layer(s), {Attention!.BlockSize}-token blocks)"
        : $"mamba group {Index} ({LayerNames.Count} layer(s), {Mamba!.MambaType})";
}
