namespace MambaGen.Backends;

/// <summary>
/// A per-mamba-type backend, as vLLM's <c>AttentionBackend</c> for mamba layers: it names itself and builds each
/// step's metadata for the layers of its type. Custom backends derive from it and have a public parameterless constructor.
/// </summary>
public abstract class MambaAttentionBackend
{
    /// <summary>The backend's name, as vLLM's <c>get_name()</c> (e.g. <c>MAMBA2_ATTN</c>).</summary>
    public abstract string Name { get; }

    public override string ToString() => Name;
}
