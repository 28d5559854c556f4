using static TorchSharp.torch;

namespace MambaGen.Backends;

/// <summary>
/// A per-mamba-type backend, as vLLM's <c>AttentionBackend</c> for mamba layers: it names itself and builds each
/// step's metadata for the layers of its type. Custom backends derive from it and have a public parameterless constructor.
/// </summary>
public abstract class MambaAttentionBackend
{
    /// <summary>The backend's name, as vLLM's <c>get_name()</c> (e.g. <c>MAMBA2_ATTN</c>).</summary>
    public abstract string Name { get; }

    /// <summary>
    /// vLLM's <c>get_builder_cls()</c>: the builder of this type's per-step metadata. The default builds the base
    /// <see cref="MambaAttentionMetadata"/> (what Mamba1 and short conv read); override to build a subclass.
    /// </summary>
    /// <param name="device">The layers' device, where the metadata's tensors go.</param>
    /// <param name="mambaChunkSize">The model's SSD chunk size; only chunked backends (Mamba2) use it.</param>
    public virtual MambaMetadataBuilder CreateMetadataBuilder(Device device, int mambaChunkSize = Mamba2MetadataBuilder.DefaultChunkSize) =>
        new(device);

    public override string ToString() => Name;
}
