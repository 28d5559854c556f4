namespace MambaGen;

/// <summary>The cache part of <see cref="EngineConfig"/>, with vLLM's field meanings (vllm/config/cache.py).</summary>
public sealed record CacheConfig
{
    /// <summary>Tokens per mamba block. Null: <see cref="ModelConfig.MaxModelLen"/>, so each request uses one block.</summary>
    public int? MambaBlockSize { get; init; }

    /// <summary>Optional padded page size in bytes, set when mamba pages are aligned to attention pages.</summary>
    public long? MambaPageSizePadded { get; init; }

    /// <summary>Dtype of the conv and SSM states; <see cref="MambaCacheDtype.Auto"/> follows the model dtype.</summary>
    public MambaCacheDtype MambaCacheDtype { get; init; } = MambaCacheDtype.Auto;

    /// <summary>Dtype of the SSM state alone; <see cref="MambaCacheDtype.Auto"/> follows <see cref="MambaCacheDtype"/>.</summary>
    public MambaCacheDtype MambaSsmCacheDtype { get; init; } = MambaCacheDtype.Auto;

    public MambaCacheMode MambaCacheMode { get; init; } = MambaCacheMode.None;
}
