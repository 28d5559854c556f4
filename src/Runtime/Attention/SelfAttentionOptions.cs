namespace MambaGen.Attention;

/// <summary>The shape and variant of a <see cref="SelfAttention"/> layer (what the families' configs say).</summary>
public sealed record SelfAttentionOptions
{
    public required int HiddenSize { get; init; }

    /// <summary>Query heads.</summary>
    public required int NumHeads { get; init; }

    /// <summary>Key/value heads (GQA when fewer than <see cref="NumHeads"/>; must divide it).</summary>
    public required int NumKvHeads { get; init; }

    public required int HeadDim { get; init; }

    /// <summary>Bias on the q, k, v and output projections.</summary>
    public bool Bias { get; init; }

    /// <summary>RMS-normalise each head of q and k before RoPE (LFM2's QK layernorm).</summary>
    public bool QkNorm { get; init; }

    public double NormEps { get; init; } = 1e-6;

    /// <summary>Channels per head that RoPE rotates (head_dim · partial_rotary_factor); null for no positional encoding (NoPE).</summary>
    public int? RotaryDim { get; init; }

    public double RopeTheta { get; init; } = 10000.0;

    /// <summary>The softmax scale; null for 1/√head_dim. Granite's <c>attention_multiplier</c> replaces it.</summary>
    public double? Scale { get; init; }

    /// <summary>The output projection's checkpoint name: <c>o_proj</c> (Granite, Llama) or <c>out_proj</c> (LFM2).</summary>
    public string OutputProjectionName { get; init; } = "o_proj";

    /// <summary>The QK norms' checkpoint names: LFM2's <c>q_layernorm</c>/<c>k_layernorm</c>.</summary>
    public (string Q, string K) QkNormNames { get; init; } = ("q_layernorm", "k_layernorm");
}
