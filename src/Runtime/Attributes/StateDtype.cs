namespace MambaGen;

/// <summary>The dtype rule of one <see cref="StateTensorAttribute"/> state.</summary>
public enum StateDtype
{
    /// <summary>vLLM's rule: the first state follows the conv (mamba cache) dtype, every later one the SSM cache dtype.</summary>
    Auto = 0,

    /// <summary><c>mamba_cache_dtype</c>, or the model dtype when it is "auto".</summary>
    Conv = 1,

    /// <summary><c>mamba_ssm_cache_dtype</c>, or the conv dtype when it is "auto".</summary>
    Ssm = 2,

    Float32 = 3,
    Float16 = 4,
    BFloat16 = 5,
}
