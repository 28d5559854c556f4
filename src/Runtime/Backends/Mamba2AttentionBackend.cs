using static TorchSharp.torch;

namespace MambaGen.Backends;

/// <summary>The built-in backend of vLLM's mamba type that maps to <c>MAMBA2</c>.</summary>
public class Mamba2AttentionBackend : MambaAttentionBackend
{
    public override string Name => "MAMBA2_ATTN";

    /// <summary>Builds <see cref="Mamba2AttentionMetadata"/>, with the SSD chunk layout at <paramref name="mambaChunkSize"/>.</summary>
    public override MambaMetadataBuilder CreateMetadataBuilder(Device device, int mambaChunkSize = Mamba2MetadataBuilder.DefaultChunkSize) =>
        new Mamba2MetadataBuilder(device, mambaChunkSize);
}
