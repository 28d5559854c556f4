using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using MambaGen.Attention;
using MambaGen.Checkpoints;
using MambaGen.Layers;

namespace MambaGen.Models.Hybrid;

/// <summary>The built-in layer types (the token mixer a decoder layer runs), as <see cref="HybridModelConfig.LayerTypes"/>
/// names them; a <see cref="HybridLayerRegistry"/> adds a user's own.</summary>
public static class HybridLayerTypes
{
    /// <summary>Causal self-attention over the paged KV cache.</summary>
    public const string Attention = "attention";

    /// <summary>vLLM's MambaMixer2.</summary>
    public const string Mamba2 = "mamba2";

    /// <summary>LFM2's gated short convolution.</summary>
    public const string ShortConv = "short_conv";

    /// <summary>An MLP as a layer of its own (Nemotron-H: ReLU², not gated), in models whose layers have no MLP sublayer.</summary>
    public const string Mlp = "mlp";

    /// <summary>Joins the types of mixers that run side by side in one layer (<see cref="SideBySide"/>).</summary>
    public const char SideBySideSeparator = '+';

    /// <summary>Falcon-H1's layer: attention and Mamba2 side by side.</summary>
    public static readonly string AttentionAndMamba2 = SideBySide(Attention, Mamba2);

    /// <summary>A layer whose mixers all read the same normed input and whose outputs are added (Falcon-H1's
    /// attention beside Mamba2): their types joined by <see cref="SideBySideSeparator"/>.</summary>
    public static string SideBySide(params string[] types) => string.Join(SideBySideSeparator, types);

    /// <summary>The mixer types a layer type runs: itself, or the parts of a side-by-side type.</summary>
    public static IReadOnlyList<string> MixersOf(string layerType) => layerType.Split(SideBySideSeparator);
}

/// <summary>How a family spells its tensors under <c>model.layers.{i}</c> and the final norm.</summary>
/// <param name="FinalNorm">The norm after the last layer (<c>model.{FinalNorm}.weight</c>).</param>
/// <param name="MixerNorm">The norm before the mixer.</param>
/// <param name="MlpNorm">The norm before the MLP.</param>
/// <param name="Mlp">The MLP's module.</param>
/// <param name="Mixers">Each built-in layer type's module name (a registered type brings its own).</param>
/// <param name="Moe">The routed experts' module, beside the MLP (Granite's <c>block_sparse_moe</c>).</param>
/// <param name="Root">The decoder's module: <c>model</c>, or Nemotron-H's <c>backbone</c>.</param>
/// <param name="Embedding">The input embedding under the root: <c>embed_tokens</c>, or Nemotron-H's <c>embeddings</c>.</param>
public sealed record HybridCheckpointNames(string FinalNorm, string MixerNorm, string MlpNorm, string Mlp, IReadOnlyDictionary<string, string> Mixers,
    string Moe = "block_sparse_moe", string Root = "model", string Embedding = "embed_tokens")
{
    /// <summary>The input embedding's tensor, which a tied LM head shares.</summary>
    public string EmbeddingTensor => $"{Root}.{Embedding}.weight";
}

/// <summary>Top-k routed SwiGLU experts run beside the MLP, their outputs added (Granite's MoE).</summary>
/// <param name="NumExperts">Experts per layer (<c>num_local_experts</c>).</param>
/// <param name="TopK">Experts per token (<c>num_experts_per_tok</c>).</param>
/// <param name="IntermediateSize">Each expert's width (<c>intermediate_size</c>).</param>
public sealed record MoeOptions(int NumExperts, int TopK, int IntermediateSize);

/// <summary>
/// A hybrid decoder-only model as one description the builder (<see cref="HybridLanguageModel"/>) runs: the layer
/// types in order, each mixer kind's options, the MLP, the μP multipliers and the checkpoint's names. Each family
/// (<see cref="HybridFamilies"/>) is a parser from its config.json to this record.
/// </summary>
public sealed record HybridModelConfig
{
    public const string FileName = "config.json";

    /// <summary>config.json's size limit, as for the Mamba configs.</summary>
    public const long MaxFileBytes = MambaCheckpointConfig.MaxFileBytes;

    public required string SourcePath { get; init; }

    public required string ModelType { get; init; }

    public required int HiddenSize { get; init; }

    public required int VocabSize { get; init; }

    /// <summary>One entry per layer: the type of mixer it runs (<see cref="HybridLayerTypes"/>, or a type registered
    /// with a <see cref="HybridLayerRegistry"/>), or several joined by <see cref="HybridLayerTypes.SideBySideSeparator"/>.</summary>
    public required IReadOnlyList<string> LayerTypes { get; init; }

    /// <summary>Epsilon of the decoder's RMS norms.</summary>
    public required double NormEps { get; init; }

    public required bool TieWordEmbeddings { get; init; }

    /// <summary>The most positions a sequence may hold (config.json's <c>max_position_embeddings</c>).</summary>
    public required int MaxPositionEmbeddings { get; init; }

    public int? BosTokenId { get; init; }

    public int? PadTokenId { get; init; }

    public IReadOnlyList<int> EosTokenIds { get; init; } = Array.Empty<int>();

    /// <summary>The attention layers' options; required when a layer is attention.</summary>
    public SelfAttentionOptions? Attention { get; init; }

    /// <summary>The Mamba2 layers' options; required when a layer is Mamba2.</summary>
    public Mamba2MixerOptions? Mamba2 { get; init; }

    /// <summary>The short conv's kernel (LFM2's <c>conv_L_cache</c>).</summary>
    public int ShortConvKernel { get; init; } = 3;

    public bool ShortConvBias { get; init; }

    /// <summary>The SwiGLU MLP's width in every layer (the MLP layers' width where <see cref="MlpInEveryLayer"/> is false).</summary>
    public required int MlpIntermediateSize { get; init; }

    /// <summary>Whether each layer has an MLP after its mixer (LFM2, Granite); false where MLPs are layers of their
    /// own (Nemotron-H: each layer is norm, mixer, residual).</summary>
    public bool MlpInEveryLayer { get; init; } = true;

    /// <summary>Bias on the MLP layers' projections (Nemotron-H's <c>mlp_bias</c>).</summary>
    public bool MlpBias { get; init; }

    /// <summary>Routed experts added to the MLP's output in every layer; null for a dense model.</summary>
    public MoeOptions? Moe { get; init; }

    /// <summary>Granite's fused <c>input_linear</c>/<c>output_linear</c>, else separate projections named by <see cref="SeparateMlpNames"/>.</summary>
    public required bool FusedMlp { get; init; }

    /// <summary>A separate MLP's projection names: LFM2's w1/w3/w2, or Falcon-H1's gate_proj/up_proj/down_proj.</summary>
    public GatedMlpNames SeparateMlpNames { get; init; } = GatedMlpNames.Lfm2;

    /// <summary>μP: the MLP's gate pre-activation and its output scaled by these (Falcon-H1's <c>mlp_multipliers</c>).</summary>
    public (double Gate, double Down) MlpMultipliers { get; init; } = (1.0, 1.0);

    /// <summary>μP: a mixer type's input and output scaled by these in every layer (Falcon-H1's attention_in/out and
    /// ssm_in/out multipliers); a type not listed has (1, 1).</summary>
    public IReadOnlyDictionary<string, (double In, double Out)> MixerMultipliers { get; init; } = new Dictionary<string, (double In, double Out)>();

    /// <summary>μP: the embeddings are scaled by it (Granite's <c>embedding_multiplier</c>).</summary>
    public double EmbeddingMultiplier { get; init; } = 1.0;

    /// <summary>μP: each block's output is scaled by it before the residual add (Granite's <c>residual_multiplier</c>).</summary>
    public double ResidualMultiplier { get; init; } = 1.0;

    /// <summary>μP: the logits are divided by it (Granite's <c>logits_scaling</c>).</summary>
    public double LogitsScaling { get; init; } = 1.0;

    /// <summary>μP: the logits are multiplied by it (Falcon-H1's <c>lm_head_multiplier</c>).</summary>
    public double LmHeadMultiplier { get; init; } = 1.0;

    public required HybridCheckpointNames Names { get; init; }

    /// <summary>Reads <c>config.json</c> from a checkpoint folder (or the file itself) and parses it by its <c>model_type</c>.</summary>
    public static HybridModelConfig Load(string folderOrFile)
    {
        string path = Directory.Exists(folderOrFile) ? Path.Combine(folderOrFile, FileName) : folderOrFile;
        if (!File.Exists(path))
        {
            throw new CheckpointException(path, null, "not found: a HuggingFace checkpoint folder needs config.json");
        }

        using var document = LenientJson.ParseFile(path, MaxFileBytes);
        return HybridFamilies.FromJson(document.RootElement, path);
    }

    /// <summary>Parses config.json text; <paramref name="sourcePath"/> names the file in errors.</summary>
    public static HybridModelConfig Parse(string json, string sourcePath = FileName)
    {
        using var document = LenientJson.Parse(json, sourcePath);
        return HybridFamilies.FromJson(document.RootElement, sourcePath);
    }

    /// <summary>Whether config.json's <c>model_type</c> is a hybrid family this builder runs.</summary>
    public static bool IsHybrid(string folderOrFile)
    {
        string path = Directory.Exists(folderOrFile) ? Path.Combine(folderOrFile, FileName) : folderOrFile;
        if (!File.Exists(path))
        {
            return false;
        }

        using var document = LenientJson.ParseFile(path, MaxFileBytes);
        return document.RootElement.ValueKind == JsonValueKind.Object
            && document.RootElement.TryGetProperty("model_type", out var t) && t.ValueKind == JsonValueKind.String
            && HybridFamilies.ModelTypes.Contains(t.GetString()!);
    }
}
