namespace MambaGen;

/// <summary>The C# form of vLLM's <c>VllmConfig</c>, reduced to what mamba layers and their caches read.</summary>
public sealed record EngineConfig(ModelConfig Model, CacheConfig Cache, ParallelConfig Parallel, SpeculativeConfig? Speculative = null)
{
    public EngineConfig(ModelConfig model)
        : this(model, new CacheConfig(), new ParallelConfig())
    {
    }

    /// <summary>The mamba block size in force: <see cref="CacheConfig.MambaBlockSize"/>, else the max model length.</summary>
    public int MambaBlockSize => Cache.MambaBlockSize ?? Model.MaxModelLen;

    /// <summary>The conv and SSM state dtypes this config resolves to (vLLM's "auto" rules).</summary>
    public MambaStateDtypes StateDtypes => MambaStateDtypeCalculator.Resolve(Model.Dtype, Cache.MambaCacheDtype, Cache.MambaSsmCacheDtype);
}
