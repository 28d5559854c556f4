using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Checkpoints;

/// <summary>
/// Fills a module's parameters and persistent buffers from a HuggingFace checkpoint, matching the module's
/// state-dict names (e.g. <c>backbone.layers.0.mixer.in_proj.weight</c>) against the checkpoint's tensor names.
/// </summary>
/// <remarks>
/// The headers are checked before anything is written: a missing tensor, an extra tensor, a shape mismatch or a
/// dtype that cannot convert are all listed in one <see cref="CheckpointException"/>, and the model is left untouched.
/// Floating-point weights (fp32, bf16, fp16) convert to the dtype of the model's tensor. Each loaded floating-point
/// tensor is then checked to be finite (one pass over its memory); NaN or Inf, in the file or from overflowing the model's
/// dtype, is a <see cref="CheckpointException"/> naming every such tensor, and the partly filled model must be discarded.
/// </remarks>
public static class CheckpointLoader
{
    /// <summary>The output projection that tied checkpoints leave out.</summary>
    public const string OutputEmbeddingName = "lm_head.weight";

    /// <summary>The input embedding a tied output projection shares.</summary>
    public const string InputEmbeddingName = "backbone.embeddings.weight";

    /// <summary>Loads the weights of a checkpoint folder, reading <c>tie_word_embeddings</c> from its config.json.</summary>
    public static CheckpointLoadReport LoadInto(nn.Module model, string folder)
    {
        var config = MambaCheckpointConfig.Load(folder);
        return LoadInto(model, SafetensorsCheckpoint.Open(folder), config.TieWordEmbeddings);
    }

    /// <summary>Loads <paramref name="weights"/> into <paramref name="model"/>.</summary>
    /// <param name="model">The module whose state-dict names match the checkpoint's tensor names.</param>
    /// <param name="weights">The opened checkpoint.</param>
    /// <param name="tieWordEmbeddings">When true, a missing <paramref name="outputEmbeddingName"/> is filled from <paramref name="inputEmbeddingName"/>.</param>
    /// <param name="outputEmbeddingName">The tied output projection's name.</param>
    /// <param name="inputEmbeddingName">The input embedding's name.</param>
    public static CheckpointLoadReport LoadInto(nn.Module model, SafetensorsCheckpoint weights, bool tieWordEmbeddings,
        string outputEmbeddingName = OutputEmbeddingName, string inputEmbeddingName = InputEmbeddingName)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(weights);
        var targets = model.state_dict();
        var plan = Plan(targets.Select(t => (t.Key, t.Value.shape, t.Value.dtype)), weights, tieWordEmbeddings,
            outputEmbeddingName, inputEmbeddingName, out var tied, out var skippedTied);

        // Non-finite weights would generate garbage with no error: one pass per tensor, on the value as stored in the
        // model, so a finite weight that overflows the model's dtype (1e5 in fp16) is caught too.
        var nonFinite = new List<CheckpointProblem>();
        var tiedTargets = new HashSet<string>(tied, StringComparer.Ordinal);
        using (no_grad())
        {
            foreach (var (target, source) in plan)
            {
                using var scope = NewDisposeScope();
                var tensor = targets[target];
                if (tensor.device_type == DeviceType.CPU && tensor.is_contiguous())
                    weights.ReadInto(source, tensor);
                else
                    tensor.copy_(weights.Read(source));
                if (SafetensorsDtypes.IsFloating(tensor.dtype) && !tiedTargets.Contains(target) && !FiniteCheck.AllFinite(tensor))
                    nonFinite.Add(NonFinite(weights.Info(source), weights.Read(source), tensor));
            }
        }
        if (nonFinite.Count > 0) throw new CheckpointException(nonFinite);
        return new CheckpointLoadReport(plan.Where(p => !tiedTargets.Contains(p.Target)).Select(p => p.Target).ToList(), tied, skippedTied);
    }

    /// <summary>
    /// Matches the tensors a model holds (name, shape, dtype) against a checkpoint's headers without reading any data:
    /// the (target, source) pairs to copy, or a <see cref="CheckpointException"/> listing every missing, extra,
    /// misshapen or unconvertible tensor.
    /// </summary>
    internal static List<(string Target, string Source)> Plan(IEnumerable<(string Name, long[] Shape, ScalarType Dtype)> targets,
        SafetensorsCheckpoint weights, bool tieWordEmbeddings, string outputEmbeddingName, string inputEmbeddingName,
        out List<string> tied, out List<string> skippedTied)
    {
        var plan = new List<(string Target, string Source)>();
        var targetNames = new HashSet<string>(StringComparer.Ordinal);
        var aliasedSources = new HashSet<string>(StringComparer.Ordinal);
        tied = new List<string>();
        skippedTied = new List<string>();
        var problems = new List<CheckpointProblem>();

        foreach (var (name, shape, dtype) in targets)
        {
            targetNames.Add(name);
            string source = name;
            if (!weights.Contains(name))
            {
                if (Alias(name) is { } alias && weights.Contains(alias))
                {
                    source = alias;
                    aliasedSources.Add(alias);
                }
                else if (tieWordEmbeddings && name == outputEmbeddingName && weights.Contains(inputEmbeddingName))
                {
                    source = inputEmbeddingName;
                    tied.Add(name);
                }
                else
                {
                    string why = name == outputEmbeddingName && !tieWordEmbeddings
                        ? " (config.json has tie_word_embeddings false, so the checkpoint must hold it)" : "";
                    problems.Add(new CheckpointProblem(weights.SourcePath, name,
                        $"missing from the checkpoint; the model expects {Describe(shape, dtype)}{why}"));
                    continue;
                }
            }
            var info = weights.Info(source);
            if (!info.Shape.SequenceEqual(shape))
                problems.Add(new CheckpointProblem(info.File, source,
                    $"shape {info.ShapeText} does not match the model's {SafetensorsTensorInfo.FormatShape(shape)}" +
                    (source == name ? "" : aliasedSources.Contains(source) ? $" (loaded as '{name}')" : $" (tied into '{name}')")));
            else if (!CanConvert(info.Dtype, dtype))
                problems.Add(new CheckpointProblem(info.File, source,
                    $"dtype {info.SafetensorsDtype} cannot be loaded into the model's {dtype} tensor"));
            else
                plan.Add((name, source));
        }

        foreach (string name in weights.TensorNames.Where(n => !targetNames.Contains(n) && !aliasedSources.Contains(n)).OrderBy(n => n, StringComparer.Ordinal))
        {
            // A model that shares lm_head with the embedding may not list it; the checkpoint's copy is the same weight.
            if (tieWordEmbeddings && name == outputEmbeddingName && targetNames.Contains(inputEmbeddingName))
            {
                skippedTied.Add(name);
                continue;
            }
            var info = weights.Info(name);
            problems.Add(new CheckpointProblem(info.File, name,
                $"not a tensor of the model ({info.SafetensorsDtype} {info.ShapeText}): wrong architecture or config?"));
        }

        if (problems.Count > 0) throw new CheckpointException(problems);
        return plan;
    }

    // transformers 5 saves GraniteMoe's experts and router under new names (and renames them back when it loads them);
    // the Hub's checkpoints keep the old ones, which the model uses. Same shapes, same [gate | up] order.
    private static readonly (string Suffix, string Alias)[] SuffixAliases =
    {
        (".block_sparse_moe.input_linear.weight", ".block_sparse_moe.experts.gate_up_proj"),
        (".block_sparse_moe.output_linear.weight", ".block_sparse_moe.experts.down_proj"),
        (".block_sparse_moe.router.layer.weight", ".block_sparse_moe.router.weight"),
    };

    /// <summary>The other name a checkpoint may hold a model tensor under, or null.</summary>
    internal static string? Alias(string name)
    {
        foreach (var (suffix, alias) in SuffixAliases)
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal))
            {
                return string.Concat(name.AsSpan(0, name.Length - suffix.Length), alias);
            }
        }
        return null;
    }

    /// <summary>Why a loaded tensor is not finite: values in the file, or values beyond the range of the model's dtype.</summary>
    private static CheckpointProblem NonFinite(SafetensorsTensorInfo info, Tensor data, Tensor loaded)
    {
        long inFile = data.isfinite().logical_not().sum().item<long>();
        if (inFile > 0)
        {
            long nan = data.isnan().sum().item<long>();
            return new CheckpointProblem(info.File, info.Name,
                $"holds {inFile} non-finite value(s) of {data.numel()} ({nan} NaN, {inFile - nan} Inf): the weights are corrupt or diverged");
        }
        long overflowed = loaded.isfinite().logical_not().sum().item<long>();
        return new CheckpointProblem(info.File, info.Name,
            $"{overflowed} value(s) of {data.numel()} overflow the model's {loaded.dtype} (finite as {info.SafetensorsDtype}): load in a wider dtype");
    }

    /// <summary>Floats convert among themselves; integers load only into the same integer type, never into floats.</summary>
    private static bool CanConvert(ScalarType from, ScalarType to) =>
        SafetensorsDtypes.IsFloating(from) ? SafetensorsDtypes.IsFloating(to) : from == to;

    private static string Describe(long[] shape, ScalarType dtype) => $"{dtype} {SafetensorsTensorInfo.FormatShape(shape)}";
}
