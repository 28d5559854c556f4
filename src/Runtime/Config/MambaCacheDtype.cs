namespace MambaGen;

/// <summary>vLLM's <c>MambaDType</c>: a cache dtype setting, where <see cref="Auto"/> defers to another dtype.</summary>
public enum MambaCacheDtype
{
    Auto = 0,
    Float32,
    Float16,
    BFloat16,
}
