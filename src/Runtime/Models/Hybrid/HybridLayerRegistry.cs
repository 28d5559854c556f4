using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Attention;
using MambaGen.Layers;

namespace MambaGen.Models.Hybrid;

/// <summary>What a layer factory gets: the layer's module name, its index, the model's description and engine config.</summary>
/// <param name="Name">The mixer's full module name (<c>model.layers.{i}.{checkpoint name}</c>): the layer's cache name.</param>
/// <param name="LayerIndex">The decoder layer's index.</param>
/// <param name="Config">The model's description.</param>
/// <param name="Engine">The engine config the layer is built with (dtype, cache dtypes).</param>
public sealed record HybridLayerContext(string Name, int LayerIndex, HybridModelConfig Config, EngineConfig Engine);

/// <summary>
/// The layer types a <see cref="HybridLanguageModel"/> can build, by the name <see cref="HybridModelConfig.LayerTypes"/>
/// gives them: the built-ins (attention, Mamba2, short conv) and a user's own. A user's <c>[MambaLayer]</c> class that
/// implements <see cref="IMambaMixer"/> is registered with <see cref="With(string, Func{HybridLayerContext, MambaBase}, string)"/>;
/// the model then gives it its own cache group and its backend's metadata every step, like the built-in mamba layers.
/// Immutable: <c>With</c> returns a new registry.
/// </summary>
public sealed class HybridLayerRegistry
{
    private readonly IReadOnlyDictionary<string, (Func<HybridLayerContext, IHybridMixer> Create, string? CheckpointName)> _types;

    private HybridLayerRegistry(IReadOnlyDictionary<string, (Func<HybridLayerContext, IHybridMixer>, string?)> types) => _types = types;

    /// <summary>Attention, Mamba2, short conv and the ReLU² MLP layer, named in the checkpoint as the family's description says.</summary>
    public static HybridLayerRegistry BuiltIn { get; } = new(new Dictionary<string, (Func<HybridLayerContext, IHybridMixer>, string?)>(StringComparer.Ordinal)
    {
        [HybridLayerTypes.Attention] = (c => new AttentionMixer(new SelfAttention(c.Name, Require(c, c.Config.Attention, "attention options"), c.Engine.Model.Dtype)), null),
        [HybridLayerTypes.Mamba2] = (c => new MambaLayerMixer(new Mamba2Mixer(c.Name, c.Engine, Require(c, c.Config.Mamba2, "Mamba2 options"))), null),
        [HybridLayerTypes.ShortConv] = (c => new MambaLayerMixer(new ShortConv(c.Name, c.Engine, c.Config.HiddenSize, c.Config.ShortConvKernel, c.Config.ShortConvBias)), null),
        [HybridLayerTypes.Mlp] = (c => new MlpMixer(new ReluSquaredMlp(c.Name, c.Config.HiddenSize, c.Config.MlpIntermediateSize, c.Config.MlpBias, c.Engine.Model.Dtype)), null),
    });

    /// <summary>The layer types this registry builds.</summary>
    public IReadOnlyCollection<string> LayerTypes => _types.Keys.ToArray();

    /// <summary>Registers a user's recurrent layer for <paramref name="layerType"/>: a <see cref="MambaBase"/> that
    /// implements <see cref="IMambaMixer"/>, under <paramref name="checkpointName"/> in each decoder layer.</summary>
    public HybridLayerRegistry With(string layerType, Func<HybridLayerContext, MambaBase> create, string checkpointName = "mixer")
    {
        ArgumentNullException.ThrowIfNull(create);
        return With(layerType, c => new MambaLayerMixer(create(c) ?? throw new InvalidOperationException($"The factory of layer type '{layerType}' returned null for layer {c.LayerIndex}.")), checkpointName);
    }

    /// <summary>Registers any mixer (one that runs on its own cache group's metadata) for <paramref name="layerType"/>.</summary>
    public HybridLayerRegistry With(string layerType, Func<HybridLayerContext, IHybridMixer> create, string checkpointName)
    {
        ArgumentException.ThrowIfNullOrEmpty(layerType);
        ArgumentNullException.ThrowIfNull(create);
        ArgumentException.ThrowIfNullOrEmpty(checkpointName);
        if (layerType.Contains(HybridLayerTypes.SideBySideSeparator, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Layer type '{layerType}' contains '{HybridLayerTypes.SideBySideSeparator}', which joins the types of mixers side by side in one layer; register each mixer type on its own.", nameof(layerType));
        }

        var types = new Dictionary<string, (Func<HybridLayerContext, IHybridMixer>, string?)>(_types, StringComparer.Ordinal) { [layerType] = (create, checkpointName) };
        return new HybridLayerRegistry(types);
    }

    /// <summary>The checkpoint module name of <paramref name="layerType"/>'s mixer in <paramref name="config"/>'s layers.</summary>
    public string CheckpointName(string layerType, HybridModelConfig config)
    {
        var (_, name) = Lookup(layerType, config);
        return name ?? (config.Names.Mixers.TryGetValue(layerType, out var family) ? family
            : throw new ArgumentException($"{config.SourcePath}: layer type '{layerType}' has no checkpoint name in the {config.ModelType} description."));
    }

    /// <summary>Builds layer <paramref name="context"/>'s mixer of <paramref name="layerType"/>.</summary>
    public IHybridMixer Create(string layerType, HybridLayerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Lookup(layerType, context.Config).Create(context);
    }

    private (Func<HybridLayerContext, IHybridMixer> Create, string? CheckpointName) Lookup(string layerType, HybridModelConfig config) =>
        _types.TryGetValue(layerType, out var entry)
            ? entry
            : throw new ArgumentException($"{config.SourcePath}: layer type '{layerType}' is not one this model can build; the registered types are {string.Join(", ", _types.Keys.Order(StringComparer.Ordinal).Select(t => $"'{t}'"))} (register a custom layer with HybridLayerRegistry.With).");

    private static T Require<T>(HybridLayerContext c, T? options, string what)
        where T : class =>
        options ?? throw new ArgumentException($"{c.Config.SourcePath}: layer '{c.Name}' is {c.Config.LayerTypes[c.LayerIndex]} but the config describes no {what}.");
}
