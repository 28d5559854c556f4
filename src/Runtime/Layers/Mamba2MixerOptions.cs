namespace MambaGen.Layers;

/// <summary>The shape of a <see cref="Mamba2Mixer"/>, in HuggingFace Mamba2Config's terms.</summary>
public sealed record Mamba2MixerOptions
{
    public required int HiddenSize { get; init; }

    public required int NumHeads { get; init; }

    public required int HeadDim { get; init; }

    public int NGroups { get; init; } = 1;

    public required int StateSize { get; init; }

    public int ConvKernel { get; init; } = 4;

    /// <summary>SSD chunk size of prefills, a power of two (HF default 256).</summary>
    public int ChunkSize { get; init; } = 256;

    public bool UseBias { get; init; }

    public bool UseConvBias { get; init; } = true;

    public double LayerNormEpsilon { get; init; } = 1e-5;

    /// <summary>Clamp of dt after softplus; (0, ∞) is a no-op.</summary>
    public (double Min, double Max) TimeStepLimit { get; init; } = (0.0, double.PositiveInfinity);

    /// <summary>Whether the scan output goes through the gated RMSNorm (<c>norm.weight</c>); without it the output is
    /// y · silu(z) and the layer has no norm (mamba_ssm's <c>rmsnorm</c>, Falcon-H1's <c>mamba_rms_norm</c>).</summary>
    public bool RmsNorm { get; init; } = true;

    /// <summary>RMS_group(y) · silu(z) instead of RMS_group(y · silu(z)) (mamba_ssm's <c>norm_before_gate</c>; vLLM and
    /// HF Mamba2 gate first).</summary>
    public bool NormBeforeGate { get; init; }

    /// <summary>μP: in_proj's output segments z, x, B, C and dt scaled by these (Falcon-H1's <c>ssm_multipliers</c>);
    /// null for none.</summary>
    public InProjectionMultipliers? InProjectionMultipliers { get; init; }

    /// <summary>d_inner = heads · head dim.</summary>
    public int IntermediateSize => NumHeads * HeadDim;

    /// <summary>Channels through the conv: x, B and C.</summary>
    public int ConvDim => IntermediateSize + 2 * NGroups * StateSize;
}

/// <summary>Falcon-H1's μP multipliers of in_proj's output, one per segment of [z | x | B | C | dt].</summary>
public sealed record InProjectionMultipliers(double Z, double X, double B, double C, double Dt);
