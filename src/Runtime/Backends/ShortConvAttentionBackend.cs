namespace MambaGen.Backends;

/// <summary>The built-in backend of vLLM's mamba type that maps to <c>SHORT_CONV</c>.</summary>
public class ShortConvAttentionBackend : MambaAttentionBackend
{
    public override string Name => "SHORT_CONV_ATTN";
}
