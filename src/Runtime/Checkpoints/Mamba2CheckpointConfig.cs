namespace MambaGen.Checkpoints;

/// <summary>config.json of model_type "mamba2" (transformers' Mamba2Config).</summary>
public sealed record Mamba2CheckpointConfig : MambaCheckpointConfig
{
    public const string ModelTypeName = "mamba2";

    public required int NumHeads { get; init; }
    public required int HeadDim { get; init; }
    /// <summary>Groups sharing B and C (and, in mamba_ssm / vLLM, one gated-RMSNorm group each).</summary>
    public required int NGroups { get; init; }
    public required int ChunkSize { get; init; }
    /// <summary>Clamp range of dt after softplus; (0, +inf) means no clamp.</summary>
    public required double TimeStepLimitMin { get; init; }
    public required double TimeStepLimitMax { get; init; }
    /// <summary>Gated RMSNorm before out_proj.</summary>
    public required bool RmsNorm { get; init; }
    /// <summary>False: norm(x * silu(z)), as transformers' Mamba2 does; true: norm(x) * silu(z).</summary>
    public required bool NormBeforeGate { get; init; }

    internal static Mamba2CheckpointConfig FromJson(ConfigJsonReader json)
    {
        int hidden = json.RequireInt("hidden_size");
        int expand = json.OptionalInt("expand", 2);
        var (limitMin, limitMax) = json.OptionalFloatPair("time_step_limit", (0.0, double.PositiveInfinity));
        var config = new Mamba2CheckpointConfig
        {
            SourcePath = json.Path,
            ModelType = ModelTypeName,
            HiddenSize = hidden,
            NumHiddenLayers = json.RequireInt("num_hidden_layers"),
            VocabSize = json.RequireInt("vocab_size"),
            StateSize = json.RequireInt("state_size"),
            Expand = expand,
            ConvKernel = json.OptionalInt("conv_kernel", 4),
            IntermediateSize = json.OptionalInt("intermediate_size", expand * hidden),
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
        config.RequirePositive(json, ("hidden_size", config.HiddenSize), ("num_hidden_layers", config.NumHiddenLayers),
            ("vocab_size", config.VocabSize), ("state_size", config.StateSize), ("expand", config.Expand),
            ("conv_kernel", config.ConvKernel), ("intermediate_size", config.IntermediateSize), ("num_heads", config.NumHeads),
            ("head_dim", config.HeadDim), ("n_groups", config.NGroups), ("chunk_size", config.ChunkSize));
        // The mixer splits d_inner into heads and heads into groups; a mismatch would misread in_proj's layout.
        if (config.NumHeads * config.HeadDim != config.IntermediateSize)
            throw json.Invalid("num_heads",
                $"num_heads ({config.NumHeads}) * head_dim ({config.HeadDim}) = {config.NumHeads * config.HeadDim} must equal intermediate_size ({config.IntermediateSize})");
        if (config.NumHeads % config.NGroups != 0)
            throw json.Invalid("n_groups", $"num_heads ({config.NumHeads}) must be a multiple of n_groups ({config.NGroups})");
        if (double.IsNaN(limitMin) || double.IsNaN(limitMax) || limitMin > limitMax)
            throw json.Invalid("time_step_limit", $"must be a range [min, max] with min <= max, found [{limitMin}, {limitMax}]");
        return config;
    }
}
