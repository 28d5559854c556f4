using System;
using static TorchSharp.torch;

namespace MambaGen.Attention;

/// <summary>
/// vLLM's <c>FullAttentionSpec</c>: what one attention layer's keys and values cost in the cache. A block holds
/// <see cref="BlockSize"/> tokens; its page is <c>[2, block_size, num_kv_heads, head_size]</c> (K then V), so that a
/// block of a hybrid pool is one contiguous page, as vLLM's hybrid layout makes it.
/// </summary>
public sealed record AttentionSpec
{
    public AttentionSpec(int blockSize, int numKvHeads, int headSize, ScalarType dtype)
    {
        if (blockSize <= 0 || numKvHeads <= 0 || headSize <= 0)
        {
            throw new ArgumentException($"An attention spec needs a positive block size, KV head count and head size; got {blockSize}, {numKvHeads}, {headSize}.");
        }

        BlockSize = blockSize;
        NumKvHeads = numKvHeads;
        HeadSize = headSize;
        Dtype = dtype;
    }

    /// <summary>Tokens per block.</summary>
    public int BlockSize { get; }

    public int NumKvHeads { get; }

    public int HeadSize { get; }

    /// <summary>The dtype K and V are stored in.</summary>
    public ScalarType Dtype { get; }

    /// <summary>K and V of one token: 2 · heads · head size · itemsize.</summary>
    public long BytesPerToken => 2L * NumKvHeads * HeadSize * DtypeSizes.ItemSize(Dtype);

    /// <summary>Bytes of one block: <see cref="BlockSize"/> tokens of K and V.</summary>
    public long PageSizeBytes => BlockSize * BytesPerToken;

    /// <summary>The per-block shape of the layer's cache: [2, block_size, num_kv_heads, head_size].</summary>
    public long[] BlockShape => new long[] { 2, BlockSize, NumKvHeads, HeadSize };

    /// <summary>Blocks a request of <paramref name="numTokens"/> tokens holds.</summary>
    public int BlocksFor(int numTokens) => (int)(((long)numTokens + BlockSize - 1) / BlockSize);

    /// <summary>The same spec with another block size (the hybrid pool raises it so a page holds a mamba state).</summary>
    public AttentionSpec WithBlockSize(int blockSize) => new(blockSize, NumKvHeads, HeadSize, Dtype);
}
