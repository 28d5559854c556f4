using System;
using MambaGen.Ops;
using static TorchSharp.torch;

namespace MambaGen.Backends;

/// <summary>vLLM's <c>Mamba2AttentionMetadataBuilder</c>: the base metadata plus the SSD chunk layout of the prefills.</summary>
public sealed class Mamba2MetadataBuilder : MambaMetadataBuilder
{
    /// <summary>vLLM's <c>get_mamba_chunk_size()</c> when the model config names none.</summary>
    public const int DefaultChunkSize = 2048;

    /// <param name="device">The layers' device.</param>
    /// <param name="chunkSize">The model's SSD chunk size (HF <c>chunk_size</c>), a power of two.</param>
    /// <param name="ops">The op implementations for the layers; the device's best available when null.</param>
    public Mamba2MetadataBuilder(Device device, int chunkSize = DefaultChunkSize, MambaOps? ops = null)
        : base(device, ops)
    {
        if (chunkSize <= 0 || (chunkSize & (chunkSize - 1)) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(chunkSize), chunkSize, "The Mamba2 SSD chunk size must be a power of two.");
        }

        ChunkSize = chunkSize;
    }

    public int ChunkSize { get; }

    /// <summary>The step's <see cref="Mamba2AttentionMetadata"/>; the caller disposes it after the step.</summary>
    public override MambaAttentionMetadata Build(CommonAttentionMetadata common, Tensor? stateIndices) =>
        new Mamba2AttentionMetadata(common, ChunkSize, Device, Ops, stateIndices);
}
