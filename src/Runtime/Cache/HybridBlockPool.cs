using System;
using System.Collections.Generic;
using System.Linq;

namespace MambaGen.Cache;

/// <summary>
/// vLLM's block pool under a hybrid coordinator: one free queue of block ids for every cache group; a request holds
/// one block per mamba group and, per attention group, as many blocks as its tokens need, taken as it grows. A grow
/// is all or nothing, so a request never holds part of what a step needs; freed blocks go to the back of the queue
/// and are reused without zeroing (layers ignore a fresh request's stale pages).
/// </summary>
public sealed class HybridBlockPool
{
    private readonly Queue<int> _free = new();
    private readonly Dictionary<string, List<int>[]> _held = new(StringComparer.Ordinal);

    public HybridBlockPool(HybridPageLayout layout, int numBlocks)
    {
        Layout = layout ?? throw new ArgumentNullException(nameof(layout));
        if (numBlocks <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numBlocks), numBlocks, "A block pool needs at least one block.");
        }

        NumBlocks = numBlocks;
        for (int b = 0; b < numBlocks; b++)
        {
            _free.Enqueue(b);
        }
    }

    public HybridPageLayout Layout { get; }

    public int NumBlocks { get; }

    public int NumFreeBlocks => _free.Count;

    /// <summary>Requests that hold blocks now.</summary>
    public int NumRequests => _held.Count;

    public bool Holds(string requestId) => _held.ContainsKey(requestId);

    /// <summary>The most tokens one request can ever hold, alone in the pool.</summary>
    public long MaxTokensPerRequest
    {
        get
        {
            var attention = Layout.Groups.Where(g => g.IsAttention).ToArray();
            int left = NumBlocks - (Layout.Groups.Count - attention.Length);
            if (left < 0 || (attention.Length > 0 && left < attention.Length))
            {
                return 0;
            }

            return attention.Length == 0 ? long.MaxValue : (long)(left / attention.Length) * attention[0].Attention!.BlockSize;
        }
    }

    /// <summary>Blocks <paramref name="requestId"/> must still take to hold <paramref name="numTokens"/> tokens.</summary>
    public int BlocksToGrow(string requestId, int numTokens)
    {
        var held = _held.TryGetValue(requestId, out var h) ? h : null;
        return Layout.Groups.Sum(g => Math.Max(0, g.BlocksFor(numTokens) - (held?[g.Index].Count ?? 0)));
    }

    /// <summary>
    /// Gives <paramref name="requestId"/> the blocks it lacks to hold <paramref name="numTokens"/> tokens (its first
    /// blocks when it holds none). Returns false, taking nothing, when the pool has too few free blocks.
    /// </summary>
    public bool TryGrow(string requestId, int numTokens)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        if (numTokens <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numTokens), numTokens, $"Request '{requestId}' must hold at least one token.");
        }

        int needed = BlocksToGrow(requestId, numTokens);
        if (needed > _free.Count)
        {
            return false;
        }

        if (!_held.TryGetValue(requestId, out var held))
        {
            held = Layout.Groups.Select(_ => new List<int>()).ToArray();
            _held.Add(requestId, held);
        }

        foreach (var g in Layout.Groups)
        {
            while (held[g.Index].Count < g.BlocksFor(numTokens))
            {
                held[g.Index].Add(_free.Dequeue());
            }
        }

        return true;
    }

    /// <summary>Takes back every block of <paramref name="requestId"/>; their bytes stay as they are.</summary>
    public void Free(string requestId)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        if (!_held.Remove(requestId, out var held))
        {
            throw new InvalidOperationException($"Request '{requestId}' holds no blocks: it was freed already or never allocated.");
        }

        foreach (var b in held.SelectMany(g => g))
        {
            _free.Enqueue(b);
        }
    }

    /// <summary>
    /// The step the model runs for <paramref name="rows"/> (decodes first, then prefills), whose requests hold their
    /// blocks here: each cache group's block tables, and as each row's state block its first group's first block.
    /// </summary>
    public Backends.CommonAttentionMetadata Describe(IReadOnlyList<(string RequestId, int NumComputedTokens, int NumScheduledTokens)> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var tables = Layout.Groups.Select(g => (IReadOnlyList<int[]>)rows.Select(r => BlocksOf(r.RequestId, g.Index)).ToArray()).ToArray();
        var requests = rows.Select((r, i) => new Backends.ScheduledRequest(r.NumComputedTokens, r.NumScheduledTokens, tables[0][i][0], r.RequestId)).ToArray();
        return new Backends.CommonAttentionMetadata(requests, tables);
    }

    /// <summary>The blocks of <paramref name="requestId"/> in group <paramref name="group"/>, in order.</summary>
    public int[] BlocksOf(string requestId, int group) => _held.TryGetValue(requestId, out var held)
        ? held[group].ToArray()
        : throw new KeyNotFoundException($"Request '{requestId}' holds no blocks.");
}
