namespace MambaGen.Backends;

/// <summary>The built-in backend of vLLM's mamba type that maps to <c>GDN</c>.</summary>
public class GdnAttentionBackend : MambaAttentionBackend
{
    public override string Name => "GDN_ATTN";
}
