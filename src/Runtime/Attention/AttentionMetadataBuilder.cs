using System;
using System.Collections.Generic;
using MambaGen.Backends;
using static TorchSharp.torch;

namespace MambaGen.Attention;

/// <summary>
/// vLLM's attention metadata builder: one per attention cache group, called once per step; every attention layer of
/// the group reads the same <see cref="AttentionMetadata"/>.
/// </summary>
public sealed class AttentionMetadataBuilder
{
    public AttentionMetadataBuilder(Device device, int blockSize)
    {
        Device = device ?? throw new ArgumentNullException(nameof(device));
        BlockSize = blockSize > 0 ? blockSize : throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "An attention block holds at least one token.");
    }

    public Device Device { get; }

    public int BlockSize { get; }

    /// <summary>The step's metadata; the caller disposes it after the step.</summary>
    public AttentionMetadata Build(CommonAttentionMetadata common, IReadOnlyList<int[]> blockTables) => new(common, blockTables, BlockSize, Device);
}
