namespace MambaGen.Backends;

/// <summary>The built-in backend of vLLM's mamba type that maps to <c>MAMBA1</c>.</summary>
public class Mamba1AttentionBackend : MambaAttentionBackend
{
    public override string Name => "MAMBA1_ATTN";
}
