namespace MambaGen.Backends;

/// <summary>The built-in backend of vLLM's mamba type that maps to <c>MAMBA2</c>.</summary>
public class Mamba2AttentionBackend : MambaAttentionBackend
{
    public override string Name => "MAMBA2_ATTN";
}
