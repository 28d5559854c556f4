using MambaGen.Layers;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Models.Hybrid;

/// <summary>
/// One pre-norm decoder layer of a hybrid model: h += m · mixer(norm(h)), then h += m · (mlp + experts)(norm(h)), m
/// the μP residual multiplier (1 outside Granite), the routed experts only in a MoE model. Modules are registered under the family's checkpoint names.
/// </summary>
public sealed class HybridDecoderLayer : nn.Module
{
    // A tuple, not module fields: TorchSharp would register those under their C# names too.
    private readonly (RmsNorm MixerNorm, RmsNorm? MlpNorm, GatedMlp? Mlp) _parts;
    private readonly double _residualMultiplier;

    private readonly TopKMoe?[] _moe;

    /// <param name="name">The layer's index as a module name.</param>
    /// <param name="layerType">The mixer's layer type.</param>
    /// <param name="mixer">The token mixer.</param>
    /// <param name="mixerName">The mixer's checkpoint name in the layer.</param>
    /// <param name="mlp">The SwiGLU MLP; null where the layer is norm, mixer and residual only (Nemotron-H).</param>
    /// <param name="moe">Routed experts added to the MLP, or null.</param>
    /// <param name="config">The model's description (norms, names, multipliers).</param>
    /// <param name="dtype">The norms' dtype.</param>
    public HybridDecoderLayer(string name, string layerType, IHybridMixer mixer, string mixerName, GatedMlp? mlp, TopKMoe? moe, HybridModelConfig config, ScalarType dtype)
        : base(name)
    {
        LayerType = layerType;
        Mixer = mixer;
        _parts = (new RmsNorm(config.Names.MixerNorm, config.HiddenSize, config.NormEps, dtype), mlp is null ? null : new RmsNorm(config.Names.MlpNorm, config.HiddenSize, config.NormEps, dtype), mlp);
        _residualMultiplier = config.ResidualMultiplier;
        register_module(config.Names.MixerNorm, _parts.MixerNorm);
        register_module(mixerName, mixer.Module);
        if (mlp is not null)
        {
            register_module(config.Names.MlpNorm, _parts.MlpNorm!);
            register_module(config.Names.Mlp, mlp);
        }

        _moe = new[] { moe };
        if (moe is not null)
        {
            register_module(config.Names.Moe, moe);
        }
    }

    /// <summary>The mixer's layer type (<see cref="HybridLayerTypes"/> or a registered one).</summary>
    public string LayerType { get; }

    public IHybridMixer Mixer { get; }

    /// <param name="hidden">[tokens, hidden] in the model's dtype.</param>
    /// <param name="step">The step's metadata of every cache group.</param>
    public Tensor Forward(Tensor hidden, HybridStepMetadata step)
    {
        using var scope = torch.NewDisposeScope();
        var (mixerNorm, mlpNorm, mlp) = _parts;
        var mixed = Mixer.Forward(RmsNormMath.Forward(hidden, mixerNorm.Weight, mixerNorm.Eps), step);
        var h = hidden + Scaled(mixed);
        if (mlp is null)
        {
            return h.MoveToOuterDisposeScope();
        }

        var normed = RmsNormMath.Forward(h, mlpNorm!.Weight, mlpNorm.Eps);
        var mlpOut = mlp.Forward(normed, step.Linear);
        if (_moe[0] is { } moe)
        {
            mlpOut = moe.Forward(normed, step.Linear) + mlpOut;
        }

        return (h + Scaled(mlpOut)).MoveToOuterDisposeScope();
    }

    private Tensor Scaled(Tensor x) => _residualMultiplier == 1.0 ? x : x * _residualMultiplier;
}
