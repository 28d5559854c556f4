namespace MambaGen.Backends;

/// <summary>One shared instance per backend type, as vLLM caches <c>get_mamba_attn_backend</c>.</summary>
public static class MambaAttentionBackends
{
    public static T Get<T>()
        where T : MambaAttentionBackend, new() => Cache<T>.Instance;

    private static class Cache<T>
        where T : MambaAttentionBackend, new()
    {
        public static readonly T Instance = new();
    }
}
