using System;
using System.Collections.Generic;

namespace MambaGen.Cache;

/// <summary>
/// Hands each running request one state block and takes it back when the request ends (vLLM's block pool in mode
/// none, where a request's running state is one block). Freed blocks join the back of the free queue and are handed
/// out again without being zeroed, as in vLLM: a new request starts from zeros only because its metadata says
/// <c>has_initial_state = false</c> and layers then ignore the stored bytes.
/// </summary>
public sealed class MambaBlockAllocator
{
    private readonly Queue<int> _free = new();
    private readonly Dictionary<string, int> _held = new(StringComparer.Ordinal);

    public MambaBlockAllocator(int numBlocks)
    {
        if (numBlocks <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numBlocks), numBlocks, "A block allocator needs at least one block.");
        }

        NumBlocks = numBlocks;
        for (int b = 0; b < numBlocks; b++)
        {
            _free.Enqueue(b);
        }
    }

    public int NumBlocks { get; }

    public int NumFreeBlocks => _free.Count;

    /// <summary>Requests that hold a block now.</summary>
    public int NumRunningRequests => _held.Count;

    /// <summary>Gives <paramref name="requestId"/> a free block and returns its id.</summary>
    public int Allocate(string requestId)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        if (_held.TryGetValue(requestId, out int held))
        {
            throw new InvalidOperationException($"Request '{requestId}' already holds mamba state block {held}; free it before it asks for another.");
        }

        if (!_free.TryDequeue(out int block))
        {
            throw new InvalidOperationException(
                $"Request '{requestId}' needs a mamba state block but all {NumBlocks} blocks are held by {_held.Count} running requests; "
                + "allocate the cache with more blocks or run fewer requests at once.");
        }

        _held.Add(requestId, block);
        return block;
    }

    /// <summary>Takes back the block of <paramref name="requestId"/>; its bytes stay as they are.</summary>
    public void Free(string requestId)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        if (!_held.Remove(requestId, out int block))
        {
            throw new InvalidOperationException($"Request '{requestId}' holds no mamba state block: it was freed already or never allocated.");
        }

        _free.Enqueue(block);
    }

    /// <summary>The block <paramref name="requestId"/> holds; a clear error when it holds none.</summary>
    public int BlockOf(string requestId)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        return _held.TryGetValue(requestId, out int block)
            ? block
            : throw new KeyNotFoundException($"Request '{requestId}' holds no mamba state block.");
    }

    public bool TryGetBlock(string requestId, out int blockId) => _held.TryGetValue(requestId, out blockId);
}
