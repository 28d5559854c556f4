namespace MambaGen.Layers;

/// <summary>The shape of a <see cref="Mamba1Mixer"/>, in HuggingFace MambaConfig's terms.</summary>
public sealed record Mamba1MixerOptions
{
    public required int HiddenSize { get; init; }

    public required int IntermediateSize { get; init; }

    public required int StateSize { get; init; }

    public int ConvKernel { get; init; } = 4;

    public required int TimeStepRank { get; init; }

    public bool UseBias { get; init; }

    public bool UseConvBias { get; init; } = true;
}
