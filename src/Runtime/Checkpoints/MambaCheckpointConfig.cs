using System;
using System.Collections.Generic;
using System.IO;

namespace MambaGen.Checkpoints;

/// <summary>
/// The config.json of a HuggingFace Mamba (<c>model_type</c> "mamba") or Mamba2 ("mamba2") checkpoint: the keys every
/// Mamba model shares. Optional keys take transformers' defaults; keys that fix a tensor shape are required, since a
/// default there would load the wrong model. Unknown keys are ignored.
/// </summary>
public abstract record MambaCheckpointConfig
{
    public const string FileName = "config.json";

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
        using var document = LenientJson.ParseFile(path);
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
        return modelType switch
        {
            Mamba1CheckpointConfig.ModelTypeName => Mamba1CheckpointConfig.FromJson(json),
            Mamba2CheckpointConfig.ModelTypeName => Mamba2CheckpointConfig.FromJson(json),
            _ => throw json.Invalid("model_type",
                $"'{modelType}' is not supported; expected '{Mamba1CheckpointConfig.ModelTypeName}' or '{Mamba2CheckpointConfig.ModelTypeName}'"),
        };
    }

    /// <summary>transformers' <c>time_step_rank="auto"</c>.</summary>
    internal static int AutoTimeStepRank(int hiddenSize) => (hiddenSize + 15) / 16;

    /// <summary>Every positive-size key must be positive: a zero or negative size is a broken file, not a model.</summary>
    internal void RequirePositive(ConfigJsonReader json, params (string Key, int Value)[] sizes)
    {
        foreach (var (key, value) in sizes)
            if (value <= 0) throw json.Invalid(key, $"must be positive, found {value}");
        if (!(LayerNormEpsilon > 0) || double.IsInfinity(LayerNormEpsilon))
            throw json.Invalid("layer_norm_epsilon", $"must be a positive number, found {LayerNormEpsilon}");
    }
}
