using System.Collections.Generic;
using System.Linq;
using MambaGen.Layers;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Models.Hybrid;

/// <summary>
/// One pre-norm decoder layer of a hybrid model: h += m · Σ out_k · mixer_k(in_k · norm(h)), then
/// h += m · (mlp + experts)(norm(h)), m the μP residual multiplier (1 outside Granite), one mixer in most families and
/// attention beside Mamba2 in Falcon-H1 (in_k, out_k its μP multipliers, 1 elsewhere), the routed experts only in a
/// MoE model. Modules are registered under the family's checkpoint names.
/// </summary>
public sealed class HybridDecoderLayer : nn.Module
{
    // A tuple, not module fields: TorchSharp would register those under their C# names too.
    private readonly (RmsNorm MixerNorm, RmsNorm? MlpNorm, GatedMlp? Mlp) _parts;
    private readonly double _residualMultiplier;
    private readonly (double In, double Out)[] _mixerMultipliers;

    private readonly TopKMoe?[] _moe;

    /// <param name="name">The layer's index as a module name.</param>
    /// <param name="layerType">The layer's type (one mixer type, or several side by side).</param>
    /// <param name="mixers">The token mixers, each with its type and its checkpoint name in the layer.</param>
    /// <param name="mlp">The SwiGLU MLP; null where the layer is norm, mixer and residual only (Nemotron-H).</param>
    /// <param name="moe">Routed experts added to the MLP, or null.</param>
    /// <param name="config">The model's description (norms, names, multipliers).</param>
    /// <param name="dtype">The norms' dtype.</param>
    public HybridDecoderLayer(string name, string layerType, IReadOnlyList<(IHybridMixer Mixer, string Type, string Name)> mixers, GatedMlp? mlp, TopKMoe? moe, HybridModelConfig config, ScalarType dtype)
        : base(name)
    {
        LayerType = layerType;
        Mixers = mixers.Select(m => m.Mixer).ToArray();
        _mixerMultipliers = mixers.Select(m => config.MixerMultipliers.TryGetValue(m.Type, out var k) ? k : (1.0, 1.0)).ToArray();
        _parts = (new RmsNorm(config.Names.MixerNorm, config.HiddenSize, config.NormEps, dtype), mlp is null ? null : new RmsNorm(config.Names.MlpNorm, config.HiddenSize, config.NormEps, dtype), mlp);
        _residualMultiplier = config.ResidualMultiplier;
        register_module(config.Names.MixerNorm, _parts.MixerNorm);
        foreach (var (mixer, _, mixerName) in mixers)
        {
            register_module(mixerName, mixer.Module);
        }
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

    /// <summary>The layer's type (<see cref="HybridLayerTypes"/> or a registered one, or several side by side).</summary>
    public string LayerType { get; }

    /// <summary>The token mixers, in the order of the layer type's parts.</summary>
    public IReadOnlyList<IHybridMixer> Mixers { get; }

    /// <summary>The SwiGLU MLP, or null.</summary>
    internal GatedMlp? Mlp => _parts.Mlp;

    /// <summary>The routed experts beside the MLP (Granite MoE), or null.</summary>
    internal TopKMoe? Moe => _moe[0];

    /// <param name="hidden">[tokens, hidden] in the model's dtype.</param>
    /// <param name="step">The step's metadata of every cache group.</param>
    public Tensor Forward(Tensor hidden, HybridStepMetadata step)
    {
        using var scope = torch.NewDisposeScope();
        var (mixerNorm, mlpNorm, mlp) = _parts;
        var mixerIn = RmsNormMath.Forward(hidden, mixerNorm.Weight, mixerNorm.Eps);
        Tensor? mixed = null;
        for (int k = 0; k < Mixers.Count; k++)
        {
            var (inMultiplier, outMultiplier) = _mixerMultipliers[k];
            var output = Mixers[k].Forward(inMultiplier == 1.0 ? mixerIn : mixerIn * inMultiplier, step);
            output = outMultiplier == 1.0 ? output : output * outMultiplier;
            mixed = mixed is null ? output : mixed + output;
        }

        var h = hidden + Scaled(mixed!);
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
