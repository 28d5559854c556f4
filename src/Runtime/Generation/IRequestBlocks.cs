using System.Collections.Generic;
using MambaGen.Backends;

namespace MambaGen.Generation;

/// <summary>How the engine's requests hold cache blocks: one state block each (<see cref="Cache.MambaStateCache"/>)
/// or a hybrid pool's blocks that grow with the request (<see cref="Cache.HybridKvCache"/>).</summary>
internal interface IRequestBlocks
{
    int NumBlocks { get; }

    int NumFreeBlocks { get; }

    /// <summary>The most tokens one request can ever hold, alone in the cache.</summary>
    long MaxTokensPerRequest { get; }

    /// <summary>Gives <paramref name="request"/> what it lacks to hold <paramref name="numTokens"/> tokens; false,
    /// taking nothing, when too few blocks are free.</summary>
    bool TryGrow(GenerationRequest request, int numTokens);

    /// <summary>Takes back whatever <paramref name="request"/> holds (nothing when it holds nothing).</summary>
    void Free(GenerationRequest request);

    /// <summary>The step the model runs: the chunks' rows with their blocks.</summary>
    CommonAttentionMetadata Describe(IReadOnlyList<ScheduledChunk> chunks);
}
