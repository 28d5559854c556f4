using System.Collections.Generic;

namespace MambaGen.Checkpoints;

/// <summary>config.json of model_type "mamba2" (transformers' Mamba2Config).</summary>
public sealed record Mamba2CheckpointConfig : MambaCheckpointConfig
{
    public const string ModelTypeName = "mamba2";

    public required int NumHeads { get; init; }
    public required int HeadDim { get; init; }
    /// <summary>Groups sharing B and C (and, in mamba_ssm / vLLM, one gated-RMSNorm group each).</summary>
    public required int NGroups { get; init; }
    /// <summary>SSD chunk size of prefills: a power of two, as the chunked scan requires.</summary>
    public required int ChunkSize { get; init; }
    /// <summary>Clamp range of dt after softplus; (0, +inf) means no clamp. Refused when negative or inverted.</summary>
    public required double TimeStepLimitMin { get; init; }
    public required double TimeStepLimitMax { get; init; }
    /// <summary>Gated RMSNorm before out_proj; false (no norm) is refused, since the mixer always normalises.</summary>
    public required bool RmsNorm { get; init; }
    /// <summary>False: norm(x * silu(z)), as transformers' Mamba2 does; true (norm(x) * silu(z)) is refused.</summary>
    public required bool NormBeforeGate { get; init; }

    internal static Mamba2CheckpointConfig FromJson(ConfigJsonReader json)
    {
        int hidden = json.RequireInt("hidden_size");
        int expand = json.OptionalInt("expand", 2);
        var (limitMin, limitMax) = json.OptionalFloatPair("time_step_limit", (0.0, double.PositiveInfinity));
        return new Mamba2CheckpointConfig
        {
            SourcePath = json.Path,
            ModelType = ModelTypeName,
            HiddenSize = hidden,
            NumHiddenLayers = json.RequireInt("num_hidden_layers"),
            VocabSize = json.RequireInt("vocab_size"),
            StateSize = json.RequireInt("state_size"),
            Expand = expand,
            ConvKernel = json.OptionalInt("conv_kernel", 4),
            IntermediateSize = json.Has("intermediate_size") ? json.RequireInt("intermediate_size") : DefaultIntermediateSize(json, expand, hidden),
            TimeStepRank = json.IntOrAuto("time_step_rank", AutoTimeStepRank(hidden)),
            UseBias = json.OptionalBool("use_bias", false),
            UseConvBias = json.OptionalBool("use_conv_bias", true),
            LayerNormEpsilon = json.OptionalDouble("layer_norm_epsilon", 1e-5),
            ResidualInFp32 = json.OptionalBool("residual_in_fp32", true),
            TieWordEmbeddings = json.OptionalBool("tie_word_embeddings", false),
            HiddenAct = json.OptionalString("hidden_act", "silu"),
            PadTokenId = json.OptionalNullableInt("pad_token_id", 1),
            BosTokenId = json.OptionalNullableInt("bos_token_id", 0),
            EosTokenIds = json.OptionalIntList("eos_token_id", new[] { 2 }),
            NumHeads = json.RequireInt("num_heads"),
            HeadDim = json.RequireInt("head_dim"),
            NGroups = json.OptionalInt("n_groups", 8),
            ChunkSize = json.OptionalInt("chunk_size", 256),
            TimeStepLimitMin = limitMin,
            TimeStepLimitMax = limitMax,
            RmsNorm = json.OptionalBool("rms_norm", true),
            NormBeforeGate = json.OptionalBool("norm_before_gate", false),
        };
    }

    /// <summary>As Python writes it, whatever the culture: Infinity, -Infinity, NaN, 0.1.</summary>
    private static string Format(double value) =>
        double.IsPositiveInfinity(value) ? "Infinity" : double.IsNegativeInfinity(value) ? "-Infinity"
        : value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    private protected override void Check(List<CheckpointProblem> problems)
    {
        base.Check(problems);
        RequirePositive(problems, ("num_heads", NumHeads), ("head_dim", HeadDim), ("n_groups", NGroups), ("chunk_size", ChunkSize));
        if (ChunkSize > 0 && (ChunkSize & (ChunkSize - 1)) != 0)
            problems.Add(Problem("chunk_size", $"must be a power of two (the chunked scan cuts prefills at its multiples), found {ChunkSize}"));
        if (!RmsNorm)
            problems.Add(Problem("rms_norm", "false is not supported: the Mamba2 mixer always applies its gated RMSNorm (rms_norm true)"));
        if (NormBeforeGate)
            problems.Add(Problem("norm_before_gate", "true is not supported: the Mamba2 mixer gates before its group RMSNorm (norm_before_gate false), as transformers and mamba_ssm do"));
        // The clamp of dt after softplus: dt is positive, so a negative bound or an empty range has no meaning.
        if (double.IsNaN(TimeStepLimitMin) || double.IsNaN(TimeStepLimitMax) || TimeStepLimitMin < 0 || double.IsInfinity(TimeStepLimitMin) ||
            TimeStepLimitMin > TimeStepLimitMax || !(TimeStepLimitMax > 0))
            problems.Add(Problem("time_step_limit",
                $"must be a range [min, max] with 0 <= min <= max and max > 0 (max may be Infinity), found [{Format(TimeStepLimitMin)}, {Format(TimeStepLimitMax)}]"));
        if (problems.Count > 0) return;

        // The mixer splits d_inner into heads and heads into groups; a mismatch would misread in_proj's layout.
        var inner = CheckedSize(problems, "num_heads", $"num_heads ({NumHeads}) * head_dim ({HeadDim})", () => checked((long)NumHeads * HeadDim));
        if (inner is int width && width != IntermediateSize)
            problems.Add(Problem("num_heads",
                $"num_heads ({NumHeads}) * head_dim ({HeadDim}) = {width} must equal intermediate_size ({IntermediateSize})"));
        if (NumHeads % NGroups != 0)
            problems.Add(Problem("n_groups", $"num_heads ({NumHeads}) must be a multiple of n_groups ({NGroups})"));
        // The widths the mixer's projections take, each one tensor dimension.
        CheckedSize(problems, "state_size", "2 * intermediate_size + 2 * n_groups * state_size + num_heads (in_proj)",
            () => checked(2L * IntermediateSize + 2L * NGroups * StateSize + NumHeads));
    }
}
