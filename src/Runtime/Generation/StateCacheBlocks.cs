using System.Collections.Generic;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Cache;

namespace MambaGen.Generation;

/// <summary>A mamba state cache's blocks: one per request, taken when it starts, whatever its length.</summary>
internal sealed class StateCacheBlocks : IRequestBlocks
{
    private readonly MambaBlockAllocator _blocks;

    public StateCacheBlocks(MambaStateCache cache) => _blocks = cache.Blocks;

    public int NumBlocks => _blocks.NumBlocks;

    public int NumFreeBlocks => _blocks.NumFreeBlocks;

    public long MaxTokensPerRequest => long.MaxValue;

    public bool TryGrow(GenerationRequest request, int numTokens)
    {
        if (request.Block >= 0)
        {
            return true;
        }

        if (_blocks.NumFreeBlocks == 0)
        {
            return false;
        }

        request.Block = _blocks.Allocate(request.Id);
        return true;
    }

    public void Free(GenerationRequest request)
    {
        if (request.Block >= 0)
        {
            _blocks.Free(request.Id);
            request.Block = -1;
        }
    }

    public CommonAttentionMetadata Describe(IReadOnlyList<ScheduledChunk> chunks) =>
        new(chunks.Select(c => new ScheduledRequest(c.Request.NumComputedTokens, c.NumTokens, c.Request.Block, c.Request.Id)).ToArray());
}
