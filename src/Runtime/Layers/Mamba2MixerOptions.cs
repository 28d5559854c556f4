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

    /// <summary>d_inner = heads · head dim.</summary>
    public int IntermediateSize => NumHeads * HeadDim;

    /// <summary>Channels through the conv: x, B and C.</summary>
    public int ConvDim => IntermediateSize + 2 * NGroups * StateSize;
}
