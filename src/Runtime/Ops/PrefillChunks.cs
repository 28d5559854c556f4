using System;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// A prefill batch cut into chunks of at most <see cref="ChunkTokens"/> tokens from each sequence's first token of the
/// step, packed in order: the kernels' chunked scans run a block per chunk and carry the state along each sequence's
/// chunks. Sized by the step's tokens (one chunk per <see cref="ChunkTokens"/> tokens, plus one per sequence at most),
/// not by its sequences times its longest sequence's chunks. Built once per step and chunk size (<see cref="PrefillBatch.Chunks"/>).
/// </summary>
public sealed class PrefillChunks : IDisposable
{
    internal PrefillChunks(int[] queryStartLoc, int chunkTokens, Device device)
    {
        if (chunkTokens <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(chunkTokens), chunkTokens, "A chunk holds at least one token.");
        }

        int sequences = queryStartLoc.Length - 1;
        FirstChunk = new int[sequences + 1];
        for (int s = 0; s < sequences; s++)
        {
            FirstChunk[s + 1] = FirstChunk[s] + (queryStartLoc[s + 1] - queryStartLoc[s] + chunkTokens - 1) / chunkTokens;
        }

        ChunkTokens = chunkTokens;
        Count = FirstChunk[sequences];
        var table = new long[sequences + 1 + Count];
        for (int s = 0; s <= sequences; s++)
        {
            table[s] = FirstChunk[s];
        }

        for (int s = 0; s < sequences; s++)
        {
            for (int c = FirstChunk[s]; c < FirstChunk[s + 1]; c++)
            {
                table[sequences + 1 + c] = s;
            }
        }

        Table = OpArgs.Upload(table, device).DetachFromDisposeScope();
    }

    /// <summary>Tokens a chunk holds at most.</summary>
    public int ChunkTokens { get; }

    /// <summary>Chunks of the whole batch.</summary>
    public int Count { get; }

    /// <summary>Each sequence's first chunk, and the count last: [sequences + 1] (host).</summary>
    public int[] FirstChunk { get; }

    /// <summary>
    /// int64 on the device, [sequences + 1 + <see cref="Count"/>]: <see cref="FirstChunk"/>, then each chunk's sequence
    /// (the kernels' <c>chunk_table</c>).
    /// </summary>
    public Tensor Table { get; }

    public void Dispose() => Table.Dispose();
}
