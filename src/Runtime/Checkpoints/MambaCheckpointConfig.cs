using System;
using System.Collections.Generic;
using System.IO;

namespace MambaGen.Checkpoints;

/// <summary>
/// The config.json of a HuggingFace Mamba (<c>model_type</c> "mamba") or Mamba2 ("mamba2") checkpoint: the keys every
/// Mamba model shares. Optional keys take transformers' defaults; keys that fix a tensor shape are required, since a
/// default there would load the wrong model. Keys that change the math are checked against what the runtime runs
/// (<see cref="Validate"/>); keys that only matter for training (initialisation, time_step_min/max/floor...) and
/// unknown keys are ignored.
/// </summary>
public abstract record MambaCheckpointConfig
{
    public const string FileName = "config.json";

    /// <summary>The largest config.json read (real ones are a few KB); a larger file is refused before it is read.</summary>
    public const long MaxFileBytes = 1 << 20;

    /// <summary>The activations the mixers run: transformers' ACT2FN maps both names to SiLU.</summary>
    private static readonly string[] SupportedActivations = { "silu", "swish" };

    /// <summary>The file this config was read from.</summary>
    public required string SourcePath { get; init; }
    public required string ModelType { get; init; }
    public required int HiddenSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int VocabSize { get; init; }
    public required int StateSize { get; init; }
    public required int Expand { get; init; }
    public required int ConvKernel { get; init; }
    /// <summary>d_inner: the width of the mixer's inner stream (expand * hidden_size unless the file says otherwise).</summary>
    public required int IntermediateSize { get; init; }
    /// <summary>Rank of the dt projection ("auto" in the file means ceil(hidden_size / 16)).</summary>
    public required int TimeStepRank { get; init; }
    /// <summary>Bias on in_proj and out_proj.</summary>
    public required bool UseBias { get; init; }
    public required bool UseConvBias { get; init; }
    public required double LayerNormEpsilon { get; init; }
    public required bool ResidualInFp32 { get; init; }
    /// <summary>When true, lm_head shares the embedding weight and the checkpoint need not hold lm_head.weight.</summary>
    public required bool TieWordEmbeddings { get; init; }
    /// <summary>The mixers' activation; only silu (or its alias swish) runs, anything else is refused by <see cref="Validate"/>.</summary>
    public required string HiddenAct { get; init; }
    public required int? PadTokenId { get; init; }
    public required int? BosTokenId { get; init; }
    /// <summary>End-of-sequence ids (config.json may hold one id, a list, or null).</summary>
    public required IReadOnlyList<int> EosTokenIds { get; init; }

    /// <summary>Reads <c>config.json</c> from a checkpoint folder (or the file itself when given a file path).</summary>
    public static MambaCheckpointConfig Load(string folderOrFile)
    {
        string path = Directory.Exists(folderOrFile) ? Path.Combine(folderOrFile, FileName) : folderOrFile;
        if (!File.Exists(path)) throw new CheckpointException(path, null, "not found: a HuggingFace checkpoint folder needs config.json");
        using var document = LenientJson.ParseFile(path, MaxFileBytes);
        return FromJson(new ConfigJsonReader(document.RootElement, path));
    }

    /// <summary>Parses config.json text; <paramref name="sourcePath"/> names the file in errors.</summary>
    public static MambaCheckpointConfig Parse(string json, string sourcePath = FileName)
    {
        using var document = LenientJson.Parse(json, sourcePath);
        return FromJson(new ConfigJsonReader(document.RootElement, sourcePath));
    }

    private static MambaCheckpointConfig FromJson(ConfigJsonReader json)
    {
        string modelType = json.RequireString("model_type");
        MambaCheckpointConfig config = modelType switch
        {
            Mamba1CheckpointConfig.ModelTypeName => Mamba1CheckpointConfig.FromJson(json),
            Mamba2CheckpointConfig.ModelTypeName => Mamba2CheckpointConfig.FromJson(json),
            _ => throw json.Invalid("model_type",
                $"'{modelType}' is not supported; expected '{Mamba1CheckpointConfig.ModelTypeName}' or '{Mamba2CheckpointConfig.ModelTypeName}'"),
        };
        config.Validate();
        return config;
    }

    /// <summary>
    /// Refuses a config the runtime would misread or run with other math than the checkpoint was trained with: sizes
    /// that are not positive or whose products overflow, an activation other than silu, token ids outside the
    /// vocabulary, and the model type's own rules. Every problem is listed, each naming config.json and the key.
    /// </summary>
    /// <exception cref="CheckpointException">The config cannot be run as written.</exception>
    public void Validate()
    {
        var problems = new List<CheckpointProblem>();
        Check(problems);
        if (problems.Count > 0) throw new CheckpointException(problems);
    }

    /// <summary>Adds what is wrong with this config to <paramref name="problems"/>; overrides add their own rules.</summary>
    private protected virtual void Check(List<CheckpointProblem> problems)
    {
        RequirePositive(problems, ("hidden_size", HiddenSize), ("num_hidden_layers", NumHiddenLayers), ("vocab_size", VocabSize),
            ("state_size", StateSize), ("expand", Expand), ("conv_kernel", ConvKernel), ("intermediate_size", IntermediateSize));
        if (!(LayerNormEpsilon > 0) || double.IsInfinity(LayerNormEpsilon))
            problems.Add(Problem("layer_norm_epsilon", $"must be a positive number, found {LayerNormEpsilon}"));
        if (Array.IndexOf(SupportedActivations, HiddenAct) < 0)
            problems.Add(Problem("hidden_act", $"'{HiddenAct}' is not supported: the mixers run silu (transformers' 'silu' or 'swish')"));
        if (VocabSize > 0)
        {
            RequireTokenId(problems, "pad_token_id", PadTokenId);
            RequireTokenId(problems, "bos_token_id", BosTokenId);
            foreach (int id in EosTokenIds) RequireTokenId(problems, "eos_token_id", id);
        }
    }

    private void RequireTokenId(List<CheckpointProblem> problems, string key, int? id)
    {
        if (id is int value && (value < 0 || value >= VocabSize))
            problems.Add(Problem(key, $"{value} is outside the vocabulary [0, {VocabSize}) that vocab_size gives"));
    }

    /// <summary>A problem with a key of this config.</summary>
    private protected CheckpointProblem Problem(string key, string reason) => new(SourcePath, key, reason, "key");

    private protected void RequirePositive(List<CheckpointProblem> problems, params (string Key, int Value)[] sizes)
    {
        foreach (var (key, value) in sizes)
            if (value <= 0) problems.Add(Problem(key, $"must be positive, found {value}"));
    }

    /// <summary>
    /// A product (or sum of products) of config sizes that the model uses as one tensor dimension, in checked
    /// arithmetic: null, with a problem naming <paramref name="key"/>, when it does not fit a 32-bit size.
    /// </summary>
    private protected int? CheckedSize(List<CheckpointProblem> problems, string key, string formula, Func<long> size)
    {
        long value;
        try
        {
            value = size();
        }
        catch (OverflowException)
        {
            value = long.MaxValue;
        }
        if (value is > 0 and <= int.MaxValue) return (int)value;
        problems.Add(Problem(key, $"{formula} = {(value == long.MaxValue ? "more than 2^63" : value.ToString(System.Globalization.CultureInfo.InvariantCulture))} is not a size a tensor dimension can have (1 to {int.MaxValue})"));
        return null;
    }

    /// <summary>transformers' <c>time_step_rank="auto"</c>.</summary>
    internal static int AutoTimeStepRank(int hiddenSize) => (hiddenSize + 15) / 16;

    /// <summary>transformers' default d_inner, expand * hidden_size, in checked arithmetic.</summary>
    internal static int DefaultIntermediateSize(ConfigJsonReader json, int expand, int hidden)
    {
        if (expand <= 0 || hidden <= 0) return Math.Min(expand, hidden); // reported as not positive by Validate
        long product = (long)expand * hidden;
        return product <= int.MaxValue ? (int)product
            : throw json.Invalid("expand", $"expand ({expand}) * hidden_size ({hidden}) = {product} overflows the inner width (at most {int.MaxValue})");
    }
}
