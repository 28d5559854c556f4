using System;
using System.Collections.Generic;

namespace MambaGen.Ops;

/// <summary>
/// How a varlen prefill batch is cut into SSD chunks (vLLM's <c>_compute_chunk_metadata</c>): chunks never span two
/// sequences and end on absolute multiples of the chunk size, so a sequence resumed at a partial chunk first
/// completes it.
/// </summary>
/// <param name="CuChunkSeqlen">Prefill-local token offset where each chunk starts, plus the total: [nchunks + 1].</param>
/// <param name="SeqIdx">Sequence of each chunk: [nchunks].</param>
/// <param name="LastChunkIndices">Index of each sequence's last chunk: [num_prefills].</param>
public sealed record Mamba2ChunkLayout(int[] CuChunkSeqlen, int[] SeqIdx, int[] LastChunkIndices)
{
    public int NumChunks => SeqIdx.Length;

    /// <param name="numComputedTokens">Tokens each prefill has already processed (its state covers them).</param>
    /// <param name="numNewTokens">Tokens each prefill processes this step (at least one).</param>
    /// <param name="chunkSize">The SSD chunk size, a power of two.</param>
    public static Mamba2ChunkLayout Compute(IReadOnlyList<int> numComputedTokens, IReadOnlyList<int> numNewTokens, int chunkSize)
    {
        if (numComputedTokens.Count != numNewTokens.Count)
        {
            throw new ArgumentException($"Chunk layout needs one computed count per prefill: {numComputedTokens.Count} computed, {numNewTokens.Count} new.");
        }

        if (chunkSize <= 0 || (chunkSize & (chunkSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, "The SSD chunk size must be a power of two.");
        }

        var cu = new List<int> { 0 };
        var seq = new List<int>();
        var last = new int[numNewTokens.Count];
        int offset = 0;
        for (int r = 0; r < numNewTokens.Count; r++)
        {
            int computed = numComputedTokens[r], remaining = numNewTokens[r];
            if (computed < 0 || remaining <= 0)
            {
                throw new ArgumentException($"Prefill {r} has {computed} computed and {remaining} new tokens; a prefill needs computed >= 0 and new > 0.");
            }

            // Complete a partial chunk first, so chunk ends stay on absolute multiples of the chunk size.
            int first = computed % chunkSize == 0 ? 0 : Math.Min(chunkSize - computed % chunkSize, remaining);
            if (first > 0)
            {
                offset += first;
                remaining -= first;
                cu.Add(offset);
                seq.Add(r);
            }

            while (remaining > 0)
            {
                int n = Math.Min(chunkSize, remaining);
                offset += n;
                remaining -= n;
                cu.Add(offset);
                seq.Add(r);
            }

            last[r] = seq.Count - 1;
        }

        return new Mamba2ChunkLayout(cu.ToArray(), seq.ToArray(), last);
    }
}
