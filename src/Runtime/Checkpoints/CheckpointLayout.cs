using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using static TorchSharp.torch;

namespace MambaGen.Checkpoints;

/// <summary>
/// The tensors a config's model holds, by HuggingFace name and shape, computed from config.json alone, and the check
/// of a config against the safetensors headers that runs before any model tensor is allocated.
/// </summary>
/// <remarks>
/// config.json sizes are not trusted: a <c>vocab_size</c> or <c>num_hidden_layers</c> of 2^31-1 would ask for hundreds
/// of GB or billions of modules before a single weight was compared. <see cref="Check"/> first compares each size key
/// with the tensor that shows it in the header (layer count, embedding, layer 0's mixer), naming config.json and the
/// key; only when they agree, so every expected dimension is one the headers hold, does it enumerate the model's
/// tensors and match each name, shape and dtype as <see cref="CheckpointLoader"/> does, still from headers only.
/// Since each file's data section is checked to be tiled exactly by its tensors, matching shapes also match bytes.
/// </remarks>
public static class CheckpointLayout
{
    private const string LayerPrefix = "backbone.layers.";

    /// <summary>Every tensor of the model <paramref name="config"/> describes, by name, in the model's order.</summary>
    /// <remarks>Call it on a validated config: the sizes are products of config values.</remarks>
    public static IEnumerable<(string Name, long[] Shape)> Expected(MambaCheckpointConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        long hidden = config.HiddenSize, vocab = config.VocabSize;
        yield return (CheckpointLoader.InputEmbeddingName, new[] { vocab, hidden });
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            string prefix = LayerPrefix + i.ToString(CultureInfo.InvariantCulture) + ".";
            yield return (prefix + "norm.weight", new[] { hidden });
            foreach (var (name, shape) in MixerTensors(config))
                yield return (prefix + "mixer." + name, shape);
        }
        yield return ("backbone.norm_f.weight", new[] { hidden });
        if (!config.TieWordEmbeddings) yield return (CheckpointLoader.OutputEmbeddingName, new[] { vocab, hidden });
    }

    /// <summary>The parameters of the model <paramref name="config"/> describes, in checked arithmetic.</summary>
    /// <exception cref="CheckpointException">The count overflows 64 bits (names num_hidden_layers).</exception>
    public static long ParameterCount(MambaCheckpointConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        try
        {
            checked
            {
                long perLayer = config.HiddenSize + MixerTensors(config).Sum(t => t.Shape.Aggregate(1L, (n, d) => n * d));
                long embedding = (long)config.VocabSize * config.HiddenSize;
                return embedding * (config.TieWordEmbeddings ? 1 : 2) + config.HiddenSize + perLayer * config.NumHiddenLayers;
            }
        }
        catch (OverflowException e)
        {
            throw new CheckpointException(new CheckpointProblem(config.SourcePath, "num_hidden_layers",
                "the model's parameter count overflows 64 bits", "key"), e);
        }
    }

    /// <summary>
    /// Checks <paramref name="config"/> against the headers of <paramref name="weights"/> (sizes, layer count, then
    /// every tensor's name, shape and dtype against <paramref name="dtype"/>) without reading any tensor data.
    /// </summary>
    /// <exception cref="CheckpointException">Every disagreement, each naming the file and the key or tensor at fault.</exception>
    public static void Check(MambaCheckpointConfig config, SafetensorsCheckpoint weights, ScalarType dtype = ScalarType.Float32)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        config.Validate();
        var problems = new List<CheckpointProblem>();
        CheckLayerCount(config, weights, problems);
        foreach (var (keys, value, tensor, dim, rank) in Probes(config))
        {
            if (!weights.Contains(tensor)) continue; // reported as missing below, once the sizes agree
            var info = weights.Info(tensor);
            if (info.Shape.Length != rank || info.Shape[dim] == value) continue;
            problems.Add(new CheckpointProblem(config.SourcePath, keys[0],
                $"{Describe(config, keys, value)}, but {info.File} holds '{tensor}' as {info.ShapeText} ({info.Shape[dim]} there)", "key"));
        }
        if (problems.Count > 0) throw new CheckpointException(problems);

        CheckpointLoader.Plan(Expected(config).Select(t => (t.Name, t.Shape, dtype)), weights, config.TieWordEmbeddings,
            CheckpointLoader.OutputEmbeddingName, CheckpointLoader.InputEmbeddingName, out _, out _);
    }

    /// <summary>The layers the headers hold must be 0 .. num_hidden_layers - 1: the count bounds every enumeration after it.</summary>
    private static void CheckLayerCount(MambaCheckpointConfig config, SafetensorsCheckpoint weights, List<CheckpointProblem> problems)
    {
        var layers = new SortedSet<long>();
        foreach (string name in weights.TensorNames)
        {
            if (!name.StartsWith(LayerPrefix, StringComparison.Ordinal)) continue;
            int dot = name.IndexOf('.', LayerPrefix.Length);
            if (dot > LayerPrefix.Length && long.TryParse(name.AsSpan(LayerPrefix.Length, dot - LayerPrefix.Length),
                    NumberStyles.None, CultureInfo.InvariantCulture, out long index))
                layers.Add(index);
        }
        if (layers.Count == config.NumHiddenLayers && (layers.Count == 0 || layers.Max == layers.Count - 1)) return;
        string held = layers.Count == 0 ? $"no {LayerPrefix}* tensors"
            : layers.Max == layers.Count - 1 ? $"layers 0 to {layers.Max} ({layers.Count} layers)"
            : $"{layers.Count} layers numbered {string.Join(", ", layers.Take(8))}{(layers.Count > 8 ? ", ..." : "")}";
        problems.Add(new CheckpointProblem(config.SourcePath, "num_hidden_layers",
            $"is {config.NumHiddenLayers}, but {weights.SourcePath} holds {held}", "key"));
    }

    /// <summary>Config sizes and the tensor dimension that shows each in a checkpoint: (keys, expected, tensor, dim, rank).</summary>
    private static IEnumerable<(string[] Keys, long Value, string Tensor, int Dim, int Rank)> Probes(MambaCheckpointConfig config)
    {
        const string embedding = CheckpointLoader.InputEmbeddingName;
        const string mixer = LayerPrefix + "0.mixer.";
        yield return (new[] { "vocab_size" }, config.VocabSize, embedding, 0, 2);
        yield return (new[] { "hidden_size" }, config.HiddenSize, embedding, 1, 2);
        yield return (new[] { "conv_kernel" }, config.ConvKernel, mixer + "conv1d.weight", 2, 3);
        switch (config)
        {
            case Mamba2CheckpointConfig m2:
                yield return (new[] { "num_heads" }, m2.NumHeads, mixer + "A_log", 0, 1);
                yield return (new[] { "intermediate_size", "expand", "num_heads", "head_dim" }, m2.IntermediateSize, mixer + "norm.weight", 0, 1);
                yield return (new[] { "state_size", "n_groups" }, m2.IntermediateSize + 2L * m2.NGroups * m2.StateSize, mixer + "conv1d.weight", 0, 3);
                break;
            case Mamba1CheckpointConfig m1:
                yield return (new[] { "intermediate_size", "expand" }, m1.IntermediateSize, mixer + "D", 0, 1);
                yield return (new[] { "state_size" }, m1.StateSize, mixer + "A_log", 1, 2);
                yield return (new[] { "time_step_rank" }, m1.TimeStepRank, mixer + "dt_proj.weight", 1, 2);
                break;
        }
    }

    /// <summary>How the probed size follows from the keys: "is 61", "(from expand, ...) is 96", "gives ... = 112".</summary>
    private static string Describe(MambaCheckpointConfig config, string[] keys, long value) => keys[0] switch
    {
        "state_size" when config is Mamba2CheckpointConfig m2 =>
            $"gives a conv width of intermediate_size + 2 * n_groups * state_size = {m2.IntermediateSize} + 2 * {m2.NGroups} * {m2.StateSize} = {value}",
        _ when keys.Length > 1 => $"is {value} (it follows from {string.Join(", ", keys.Skip(1))})",
        _ => $"is {value}",
    };

    /// <summary>One mixer's tensors, by name under <c>mixer.</c>, in the layer's order.</summary>
    private static IEnumerable<(string Name, long[] Shape)> MixerTensors(MambaCheckpointConfig config)
    {
        long hidden = config.HiddenSize, inner = config.IntermediateSize, state = config.StateSize, kernel = config.ConvKernel;
        switch (config)
        {
            case Mamba2CheckpointConfig m2:
            {
                long heads = m2.NumHeads, groups = m2.NGroups;
                long convDim = checked(inner + 2 * groups * state);
                yield return ("in_proj.weight", new[] { checked(2 * inner + 2 * groups * state + heads), hidden });
                if (m2.UseBias) yield return ("in_proj.bias", new[] { checked(2 * inner + 2 * groups * state + heads) });
                yield return ("conv1d.weight", new[] { convDim, 1, kernel });
                if (m2.UseConvBias) yield return ("conv1d.bias", new[] { convDim });
                yield return ("dt_bias", new[] { heads });
                yield return ("A_log", new[] { heads });
                yield return ("D", new[] { heads });
                yield return ("norm.weight", new[] { inner });
                yield return ("out_proj.weight", new[] { hidden, inner });
                if (m2.UseBias) yield return ("out_proj.bias", new[] { hidden });
                break;
            }
            case Mamba1CheckpointConfig m1:
            {
                long rank = m1.TimeStepRank;
                yield return ("in_proj.weight", new[] { checked(2 * inner), hidden });
                if (m1.UseBias) yield return ("in_proj.bias", new[] { checked(2 * inner) });
                yield return ("conv1d.weight", new[] { inner, 1, kernel });
                if (m1.UseConvBias) yield return ("conv1d.bias", new[] { inner });
                yield return ("x_proj.weight", new[] { checked(rank + 2 * state), inner });
                yield return ("dt_proj.weight", new[] { inner, rank });
                yield return ("dt_proj.bias", new[] { inner });
                yield return ("A_log", new[] { inner, state });
                yield return ("D", new[] { inner });
                yield return ("out_proj.weight", new[] { hidden, inner });
                if (m1.UseBias) yield return ("out_proj.bias", new[] { hidden });
                break;
            }
            default:
                throw new NotSupportedException($"{config.SourcePath}: model_type '{config.ModelType}' has no tensor layout.");
        }
    }
}
