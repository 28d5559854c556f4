namespace MambaGen.Backends;

/// <summary>The built-in backend of vLLM's mamba type that maps to <c>LINEAR</c>.</summary>
public class LinearAttentionBackend : MambaAttentionBackend
{
    public override string Name => "LINEAR_ATTN";
}
