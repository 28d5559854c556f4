using MambaGen.Attention;
using MambaGen.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Models.Hybrid;

/// <summary>A hybrid layer's token mixer: runs on the step with its own cache group's metadata.</summary>
public interface IHybridMixer
{
    /// <summary>The module whose parameters and cache the mixer uses.</summary>
    nn.Module Module { get; }

    /// <param name="hidden">[num_actual_tokens, hidden], decodes first, then prefills.</param>
    /// <param name="step">The step's metadata of every cache group.</param>
    Tensor Forward(Tensor hidden, HybridStepMetadata step);
}

/// <summary>A mamba layer (Mamba2, short conv, a user's <see cref="IMambaMixer"/>) reading its group's mamba metadata.</summary>
public sealed class MambaLayerMixer : IHybridMixer
{
    private readonly MambaBase _layer;

    public MambaLayerMixer(MambaBase layer)
    {
        _layer = layer;
        if (layer is not IMambaMixer)
        {
            throw new System.NotSupportedException($"Layer '{layer.GetName()}' ({layer.GetType().Name}) does not implement IMambaMixer, so a hybrid model cannot run it.");
        }
    }

    public MambaBase Layer => _layer;

    public nn.Module Module => _layer;

    public Tensor Forward(Tensor hidden, HybridStepMetadata step) => ((IMambaMixer)_layer).Forward(hidden, step.MambaFor(_layer.GetName()));
}

/// <summary>A self-attention layer reading its group's attention metadata.</summary>
public sealed class AttentionMixer : IHybridMixer
{
    public AttentionMixer(SelfAttention layer) => Layer = layer;

    public SelfAttention Layer { get; }

    public nn.Module Module => Layer;

    public Tensor Forward(Tensor hidden, HybridStepMetadata step) => Layer.Forward(hidden, step.AttentionFor(Layer.GetName()), step.Linear);
}

/// <summary>An MLP as a layer of its own (Nemotron-H's "-" layers): no cache, no metadata.</summary>
public sealed class MlpMixer : IHybridMixer
{
    public MlpMixer(ReluSquaredMlp mlp) => Mlp = mlp;

    public ReluSquaredMlp Mlp { get; }

    public nn.Module Module => Mlp;

    public Tensor Forward(Tensor hidden, HybridStepMetadata step) => Mlp.Forward(hidden, step.Linear);
}
