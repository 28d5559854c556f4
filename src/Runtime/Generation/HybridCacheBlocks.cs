using System.Collections.Generic;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Cache;

namespace MambaGen.Generation;

/// <summary>A hybrid pool's blocks: a request takes one per mamba group when it starts and attention blocks as its
/// tokens need them.</summary>
internal sealed class HybridCacheBlocks : IRequestBlocks
{
    private readonly HybridBlockPool _pool;

    public HybridCacheBlocks(HybridKvCache cache) => _pool = cache.Blocks;

    public int NumBlocks => _pool.NumBlocks;

    public int NumFreeBlocks => _pool.NumFreeBlocks;

    public long MaxTokensPerRequest => _pool.MaxTokensPerRequest;

    public bool TryGrow(GenerationRequest request, int numTokens) => _pool.TryGrow(request.Id, numTokens);

    public void Free(GenerationRequest request)
    {
        if (_pool.Holds(request.Id))
        {
            _pool.Free(request.Id);
        }
    }

    public CommonAttentionMetadata Describe(IReadOnlyList<ScheduledChunk> chunks) =>
        _pool.Describe(chunks.Select(c => (c.Request.Id, c.Request.NumComputedTokens, c.NumTokens)).ToArray());
}
