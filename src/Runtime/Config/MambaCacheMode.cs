namespace MambaGen;

/// <summary>vLLM's <c>mamba_cache_mode</c>: which states are kept for prefix caching.</summary>
public enum MambaCacheMode
{
    /// <summary>No prefix caching: one running state per request.</summary>
    None = 0,

    /// <summary>Cache the state of the last token of a step when it lands on a block boundary.</summary>
    Align,

    /// <summary>Cache the state at every block boundary.</summary>
    All,
}
