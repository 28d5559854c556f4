using static TorchSharp.torch;

namespace MambaGen;

/// <summary>The model part of <see cref="EngineConfig"/>.</summary>
/// <param name="ModelType">HuggingFace <c>model_type</c> (<c>mamba</c>, <c>mamba2</c>, <c>qwen3_next</c>...).</param>
/// <param name="Dtype">The dtype of the model's weights and activations.</param>
/// <param name="MaxModelLen">Longest sequence the engine serves; the mamba block size without prefix caching.</param>
public sealed record ModelConfig(string ModelType, ScalarType Dtype = ScalarType.Float32, int MaxModelLen = 2048);
