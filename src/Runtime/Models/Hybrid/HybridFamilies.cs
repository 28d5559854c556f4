using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using MambaGen.Attention;
using MambaGen.Checkpoints;
using MambaGen.Layers;

namespace MambaGen.Models.Hybrid;

/// <summary>
/// The hybrid families as descriptions: each reads its config.json keys (transformers' names and defaults) into a
/// <see cref="HybridModelConfig"/>. Layer types that do not add up, unknown layer types and options the runtime does
/// not run are <see cref="CheckpointException"/>s naming the file and the key.
/// </summary>
public static class HybridFamilies
{
    public const string Lfm2 = "lfm2";
    public const string GraniteMoeHybrid = "granitemoehybrid";
    public const string NemotronH = "nemotron_h";
    public const string FalconH1 = "falcon_h1";

    /// <summary>The model types <see cref="HybridModelConfig.Load"/> reads.</summary>
    public static IReadOnlySet<string> ModelTypes { get; } = new HashSet<string>(StringComparer.Ordinal) { Lfm2, GraniteMoeHybrid, NemotronH, FalconH1 };

    internal static HybridModelConfig FromJson(JsonElement root, string path)
    {
        var json = new ConfigJsonReader(root, path);
        string modelType = json.RequireString("model_type");
        return modelType switch
        {
            Lfm2 => Lfm2Config(root, json),
            GraniteMoeHybrid => GraniteConfig(root, json),
            NemotronH => NemotronHConfig(root, json),
            FalconH1 => FalconH1Config(root, json),
            _ => throw json.Invalid("model_type", $"'{modelType}' is not a hybrid family MambaGen runs; expected one of {string.Join(", ", ModelTypes.Select(t => $"'{t}'"))}"),
        };
    }

    /// <summary>LFM2 (transformers' Lfm2Config): gated short convs and attention with QK layernorm and RoPE.</summary>
    private static HybridModelConfig Lfm2Config(JsonElement root, ConfigJsonReader json)
    {
        int hidden = Positive(json, "hidden_size", json.RequireInt("hidden_size"));
        int layers = Positive(json, "num_hidden_layers", json.RequireInt("num_hidden_layers"));
        var types = root.TryGetProperty("layer_types", out var lt) && lt.ValueKind != JsonValueKind.Null
            ? LayerTypes(json, lt, "layer_types", layers, new Dictionary<string, string> { ["conv"] = HybridLayerTypes.ShortConv, ["full_attention"] = HybridLayerTypes.Attention })
            : FromAttentionIndices(json, root, layers);
        var attention = AttentionOptions(json, root, hidden, qkNorm: true, ropeByDefault: true, defaultTheta: 1e6) with
        {
            NormEps = json.OptionalDouble("norm_eps", 1e-5),
            OutputProjectionName = "out_proj",
        };
        int ff = Positive(json, "intermediate_size", json.OptionalInt("intermediate_size", 12288));
        if (json.OptionalBool("block_auto_adjust_ff_dim", false))
        {
            // transformers' Lfm2MLP: two thirds, then the multiplier, then up to a multiple of block_multiple_of.
            ff = (int)(2L * ff / 3);
            if (json.Has("block_ffn_dim_multiplier"))
            {
                ff = (int)(json.OptionalDouble("block_ffn_dim_multiplier", 1.0) * ff);
            }

            int multiple = Positive(json, "block_multiple_of", json.OptionalInt("block_multiple_of", 256));
            ff = checked(multiple * ((ff + multiple - 1) / multiple));
        }

        return Decoder(json, Lfm2, hidden, types, json.OptionalDouble("norm_eps", 1e-5), (TieWordEmbeddings: true, MaxPositions: 128000, Eos: 7),
            Positive(json, "intermediate_size", ff), fusedMlp: false,
            new HybridCheckpointNames("embedding_norm", "operator_norm", "ffn_norm", "feed_forward",
                new Dictionary<string, string> { [HybridLayerTypes.Attention] = "self_attn", [HybridLayerTypes.ShortConv] = "conv" })) with
        {
            Attention = attention,
            ShortConvKernel = Positive(json, "conv_L_cache", json.OptionalInt("conv_L_cache", 3)),
            ShortConvBias = json.OptionalBool("conv_bias", false),
        };
    }

    /// <summary>GraniteMoeHybrid (Granite 4.0-H): Mamba2 and attention (NoPE unless position_embedding_type is
    /// "rope"), a shared SwiGLU MLP plus, when num_local_experts > 0, top-k routed experts; μP multipliers.</summary>
    private static HybridModelConfig GraniteConfig(JsonElement root, ConfigJsonReader json)
    {
        int hidden = Positive(json, "hidden_size", json.RequireInt("hidden_size"));
        int layers = Positive(json, "num_hidden_layers", json.RequireInt("num_hidden_layers"));
        string typesKey = root.TryGetProperty("layer_types", out var lt) && lt.ValueKind != JsonValueKind.Null ? "layer_types" : "layers_block_type";
        if (!root.TryGetProperty(typesKey, out lt) || lt.ValueKind == JsonValueKind.Null)
        {
            throw json.Invalid("layer_types", "required key is missing (nor is its alias layers_block_type there): it says which layers are mamba and which attention");
        }

        var types = LayerTypes(json, lt, typesKey, layers, new Dictionary<string, string>
        {
            ["mamba"] = HybridLayerTypes.Mamba2, ["linear_attention"] = HybridLayerTypes.Mamba2,
            ["attention"] = HybridLayerTypes.Attention, ["full_attention"] = HybridLayerTypes.Attention,
        });
        int experts = json.OptionalInt("num_local_experts", 0);
        if (experts < 0)
        {
            throw json.Invalid("num_local_experts", $"{experts} must be 0 (dense) or positive");
        }

        MoeOptions? moe = null;
        if (experts > 0)
        {
            int topK = json.OptionalInt("num_experts_per_tok", 2);
            if (topK < 1 || topK > experts)
            {
                throw json.Invalid("num_experts_per_tok", $"{topK} must be between 1 and num_local_experts {experts}");
            }

            moe = new MoeOptions(experts, topK, Positive(json, "intermediate_size", json.OptionalInt("intermediate_size", 1024)));
        }

        string act = json.OptionalString("hidden_act", "silu");
        if (act is not ("silu" or "swish"))
        {
            throw json.Invalid("hidden_act", $"'{act}' is not supported; the MLP and the Mamba2 layers run silu");
        }

        string? position = root.TryGetProperty("position_embedding_type", out var pe) && pe.ValueKind == JsonValueKind.String ? pe.GetString() : null;
        if (position is not (null or "rope" or "nope"))
        {
            throw json.Invalid("position_embedding_type", $"'{position}' is not supported; expected \"rope\", or null for no positional encoding");
        }

        var attention = AttentionOptions(json, root, hidden, qkNorm: false, ropeByDefault: position == "rope", defaultTheta: 10000.0) with
        {
            Bias = json.OptionalBool("attention_bias", false),
            Scale = json.OptionalDouble("attention_multiplier", 1.0),
        };
        int expand = json.OptionalInt("mamba_expand", 2);
        int heads = Positive(json, "mamba_n_heads", json.OptionalInt("mamba_n_heads", 128));
        int headDim = Positive(json, "mamba_d_head", json.IntOrAuto("mamba_d_head", checked(expand * hidden) / heads));
        if ((long)heads * headDim != (long)expand * hidden)
        {
            throw json.Invalid("mamba_d_head", $"mamba_n_heads {heads} x mamba_d_head {headDim} must equal mamba_expand {expand} x hidden_size {hidden}");
        }

        double eps = json.OptionalDouble("rms_norm_eps", 1e-6);
        return Decoder(json, GraniteMoeHybrid, hidden, types, eps, (TieWordEmbeddings: false, MaxPositions: 2048, Eos: 2),
            Positive(json, "shared_intermediate_size", json.OptionalInt("shared_intermediate_size", 1024)), fusedMlp: true,
            new HybridCheckpointNames("norm", "input_layernorm", "post_attention_layernorm", "shared_mlp",
                new Dictionary<string, string> { [HybridLayerTypes.Attention] = "self_attn", [HybridLayerTypes.Mamba2] = "mamba" })) with
        {
            Attention = attention,
            Mamba2 = Mamba2Options(json, hidden, (heads, "mamba_n_heads"), (headDim, "mamba_d_head"), (json.OptionalInt("mamba_n_groups", 1), "mamba_n_groups"),
                (json.OptionalInt("mamba_d_state", 256), "mamba_d_state"), (json.OptionalInt("mamba_d_conv", 4), "mamba_d_conv"),
                (json.OptionalInt("mamba_chunk_size", 256), "mamba_chunk_size"),
                json.OptionalBool("mamba_proj_bias", false), json.OptionalBool("mamba_conv_bias", true), eps, "time_step_limit"),
            Moe = moe,
            EmbeddingMultiplier = json.OptionalDouble("embedding_multiplier", 1.0),
            ResidualMultiplier = json.OptionalDouble("residual_multiplier", 1.0),
            LogitsScaling = NonZero(json, "logits_scaling", json.OptionalDouble("logits_scaling", 1.0)),
        };
    }

    /// <summary>
    /// Nemotron-H (transformers' NemotronHConfig): Mamba2, attention (NoPE) and ReLU² MLP each a layer of its own
    /// (<c>layers_block_type</c>, or the legacy <c>hybrid_override_pattern</c> M / * / -), every layer norm, mixer,
    /// residual; names under <c>backbone.</c> (transformers 5 saves them under <c>model.</c>; the loader takes either).
    /// Checked against transformers' fixture (tests/fixtures/dev-nemotron-h). MoE layers ("moe", "E") and
    /// residual_in_fp32 are refused.
    /// </summary>
    private static HybridModelConfig NemotronHConfig(JsonElement root, ConfigJsonReader json)
    {
        int hidden = Positive(json, "hidden_size", json.RequireInt("hidden_size"));
        bool listed = root.TryGetProperty("layers_block_type", out var lt) && lt.ValueKind == JsonValueKind.Array;
        // transformers 5 writes no num_hidden_layers for Nemotron-H (a property: the length of layers_block_type).
        int layers = listed && !json.Has("num_hidden_layers")
            ? Positive(json, "layers_block_type", lt.GetArrayLength())
            : Positive(json, "num_hidden_layers", json.RequireInt("num_hidden_layers"));
        var names = new Dictionary<string, string>
        {
            ["mamba"] = HybridLayerTypes.Mamba2, ["linear_attention"] = HybridLayerTypes.Mamba2, ["M"] = HybridLayerTypes.Mamba2,
            ["attention"] = HybridLayerTypes.Attention, ["full_attention"] = HybridLayerTypes.Attention, ["*"] = HybridLayerTypes.Attention,
            ["mlp"] = HybridLayerTypes.Mlp, ["-"] = HybridLayerTypes.Mlp,
        };
        string[] types;
        if (listed)
        {
            types = LayerTypes(json, lt, "layers_block_type", layers, names);
        }
        else if (root.TryGetProperty("hybrid_override_pattern", out var pattern) && pattern.ValueKind == JsonValueKind.String)
        {
            // The legacy pattern: one character a layer.
            using var asList = JsonDocument.Parse(JsonSerializer.Serialize(pattern.GetString()!.Select(c => c.ToString()).ToArray()));
            types = LayerTypes(json, asList.RootElement, "hybrid_override_pattern", layers, names);
        }
        else
        {
            throw json.Invalid("layers_block_type", "required key is missing (nor is the legacy hybrid_override_pattern there): it says which layers are mamba, attention and MLP");
        }

        if (json.OptionalBool("residual_in_fp32", false))
        {
            throw json.Invalid("residual_in_fp32", "true is not supported for hybrid models; the residual stream stays in the model's dtype");
        }

        foreach (var (key, expected) in new[] { ("mlp_hidden_act", "relu2"), ("mamba_hidden_act", "silu") })
        {
            string act = json.OptionalString(key, expected);
            if (act != expected)
            {
                throw json.Invalid(key, $"'{act}' is not supported; Nemotron-H's {(expected == "relu2" ? "MLP layers run relu2" : "Mamba2 layers run silu")}");
            }
        }

        // The attribute names transformers writes (n_groups, conv_kernel...), else its constructor's (mamba_n_groups...).
        int Mamba(string key, string alias, int fallback) => json.Has(key) ? json.RequireInt(key) : json.OptionalInt(alias, fallback);
        double eps = json.OptionalDouble("layer_norm_epsilon", 1e-5);
        return Decoder(json, NemotronH, hidden, types, eps, (TieWordEmbeddings: false, MaxPositions: 4096, Eos: 2),
            Positive(json, "intermediate_size", json.OptionalInt("intermediate_size", 21504)), fusedMlp: false,
            new HybridCheckpointNames("norm_f", "norm", "unused", "unused",
                new Dictionary<string, string> { [HybridLayerTypes.Attention] = "mixer", [HybridLayerTypes.Mamba2] = "mixer", [HybridLayerTypes.Mlp] = "mixer" },
                Root: "backbone", Embedding: "embeddings")) with
        {
            Attention = AttentionOptions(json, root, hidden, qkNorm: false, ropeByDefault: false, defaultTheta: 10000.0) with { Bias = json.OptionalBool("attention_bias", false) },
            Mamba2 = Mamba2Options(json, hidden, (json.OptionalInt("mamba_num_heads", 128), "mamba_num_heads"), (json.OptionalInt("mamba_head_dim", 64), "mamba_head_dim"),
                (Mamba("n_groups", "mamba_n_groups", 8), "n_groups"), (json.OptionalInt("ssm_state_size", 128), "ssm_state_size"), (Mamba("conv_kernel", "mamba_d_conv", 4), "conv_kernel"),
                (Mamba("chunk_size", "mamba_chunk_size", 256), "chunk_size"),
                json.Has("use_bias") ? json.OptionalBool("use_bias", false) : json.OptionalBool("mamba_proj_bias", false),
                json.Has("use_conv_bias") ? json.OptionalBool("use_conv_bias", true) : json.OptionalBool("mamba_conv_bias", true),
                eps, json.Has("time_step_limit") ? "time_step_limit" : "mamba_dt_limit"),
            MlpInEveryLayer = false,
            MlpBias = json.OptionalBool("mlp_bias", false),
        };
    }

    /// <summary>
    /// Falcon-H1 (transformers' FalconH1Config and modeling_falcon_h1.py, checked against vLLM's falcon_h1.py): every
    /// layer runs attention (RoPE) and Mamba2 side by side on the same normed input and adds their outputs, then a
    /// SwiGLU MLP (gate_proj/up_proj/down_proj); names under <c>model.</c>. μP multipliers: embedding, attention and
    /// SSM in/out, key, in_proj's z/x/B/C/dt segments (ssm_multipliers), MLP gate and down, LM head. Where transformers
    /// and vLLM/mamba_ssm differ, docs/runtime.md says which this follows. Checked against transformers' fixtures (tests/fixtures/dev-falcon-h1*).
    /// </summary>
    private static HybridModelConfig FalconH1Config(JsonElement root, ConfigJsonReader json)
    {
        int hidden = Positive(json, "hidden_size", json.RequireInt("hidden_size"));
        int layers = Positive(json, "num_hidden_layers", json.RequireInt("num_hidden_layers"));
        // FalconH1Config.layers_block_type is "hybrid" for every layer (a property, so seldom in the file); a list given must agree.
        var hybrid = new Dictionary<string, string> { ["hybrid"] = HybridLayerTypes.AttentionAndMamba2 };
        string[] types = Enumerable.Repeat(HybridLayerTypes.AttentionAndMamba2, layers).ToArray();
        foreach (var key in new[] { "layers_block_type", "layer_types" })
        {
            if (root.TryGetProperty(key, out var lt) && lt.ValueKind != JsonValueKind.Null)
            {
                types = LayerTypes(json, lt, key, layers, hybrid);
            }
        }

        string act = json.OptionalString("hidden_act", "silu");
        if (act is not ("silu" or "swish"))
        {
            throw json.Invalid("hidden_act", $"'{act}' is not supported; the MLP and the Mamba2 conv run silu (vLLM refuses any other too)");
        }

        if (root.TryGetProperty("rope_scaling", out var scaling) && scaling.ValueKind != JsonValueKind.Null)
        {
            throw json.Invalid("rope_scaling", $"{scaling.GetRawText()} is not supported; only unscaled RoPE runs");
        }

        if (json.OptionalBool("mlp_bias", false))
        {
            throw json.Invalid("mlp_bias", "true is not supported; Falcon-H1's MLP runs without bias here, as in vLLM");
        }

        if (!json.OptionalBool("mamba_use_mlp", true))
        {
            throw json.Invalid("mamba_use_mlp", "false is not supported; transformers and vLLM run the MLP in every Falcon-H1 layer");
        }

        bool projBias = json.OptionalBool("mamba_proj_bias", false);
        if (json.OptionalBool("projectors_bias", false) != projBias)
        {
            // transformers' FalconH1Mixer gives out_proj projectors_bias, vLLM's MambaMixer2 (as mamba_ssm) mamba_proj_bias.
            throw json.Invalid("projectors_bias", $"differs from mamba_proj_bias {(projBias ? "true" : "false")}: transformers biases the Mamba2 out_proj by projectors_bias, vLLM and mamba_ssm by mamba_proj_bias; only configs where the two agree run");
        }

        double keyMultiplier = Finite(json, "key_multiplier");
        if (!(keyMultiplier > 0))
        {
            throw json.Invalid("key_multiplier", $"{keyMultiplier} must be positive: it scales the attention logits, as the softmax scale does");
        }

        var attention = AttentionOptions(json, root, hidden, qkNorm: false, ropeByDefault: true, defaultTheta: 1e11) with { Bias = json.OptionalBool("attention_bias", false) };
        // FalconH1Attention.forward scales the keys by key_multiplier before RoPE; q·(m k) = m (q·k), so it is the softmax scale's factor.
        attention = attention with { Scale = keyMultiplier / Math.Sqrt(attention.HeadDim) };

        // FalconH1Config: mamba_d_ssm defaults to 1024; null means mamba_expand x hidden_size.
        int expand = Positive(json, "mamba_expand", json.OptionalInt("mamba_expand", 2));
        int dSsm = !root.TryGetProperty("mamba_d_ssm", out var ssmWidth) ? 1024
            : ssmWidth.ValueKind == JsonValueKind.Null ? checked(expand * hidden)
            : Positive(json, "mamba_d_ssm", json.RequireInt("mamba_d_ssm"));
        int heads = Positive(json, "mamba_n_heads", json.OptionalInt("mamba_n_heads", 128));
        int headDim = Positive(json, "mamba_d_head", json.IntOrAuto("mamba_d_head", dSsm / heads));
        if ((long)heads * headDim != dSsm)
        {
            throw json.Invalid("mamba_d_ssm", $"{dSsm} must equal mamba_n_heads {heads} x mamba_d_head {headDim}");
        }

        var ssm = json.OptionalFloatList("ssm_multipliers", 5, new[] { 1.0, 1.0, 1.0, 1.0, 1.0 });
        var mlp = json.OptionalFloatList("mlp_multipliers", 2, new[] { 1.0, 1.0 });
        if (ssm.Concat(mlp).Any(m => !double.IsFinite(m)))
        {
            throw json.Invalid(ssm.Any(m => !double.IsFinite(m)) ? "ssm_multipliers" : "mlp_multipliers", "every multiplier must be finite");
        }

        double eps = json.OptionalDouble("rms_norm_eps", 1e-5);
        var mamba2 = Mamba2Options(json, hidden, (heads, "mamba_n_heads"), (headDim, "mamba_d_head"), (json.OptionalInt("mamba_n_groups", 1), "mamba_n_groups"),
            (json.OptionalInt("mamba_d_state", 256), "mamba_d_state"), (json.OptionalInt("mamba_d_conv", 4), "mamba_d_conv"),
            (json.OptionalInt("mamba_chunk_size", 256), "mamba_chunk_size"), projBias, json.OptionalBool("mamba_conv_bias", true), eps, "time_step_limit") with
        {
            RmsNorm = json.OptionalBool("mamba_rms_norm", false),
            NormBeforeGate = json.OptionalBool("mamba_norm_before_gate", true),
            InProjectionMultipliers = new InProjectionMultipliers(ssm[0], ssm[1], ssm[2], ssm[3], ssm[4]),
        };
        return Decoder(json, FalconH1, hidden, types, eps, (TieWordEmbeddings: false, MaxPositions: 8192, Eos: 2),
            Positive(json, "intermediate_size", json.OptionalInt("intermediate_size", 14336)), fusedMlp: false,
            new HybridCheckpointNames("final_layernorm", "input_layernorm", "pre_ff_layernorm", "feed_forward",
                new Dictionary<string, string> { [HybridLayerTypes.Attention] = "self_attn", [HybridLayerTypes.Mamba2] = "mamba" })) with
        {
            Attention = attention,
            Mamba2 = mamba2,
            SeparateMlpNames = GatedMlpNames.Llama,
            MlpMultipliers = (mlp[0], mlp[1]),
            // FalconH1DecoderLayer.forward: mamba(norm(h)) with ssm_in_multiplier applied in FalconH1Mixer, attention on norm(h) x attention_in_multiplier.
            MixerMultipliers = new Dictionary<string, (double In, double Out)>
            {
                [HybridLayerTypes.Attention] = (Finite(json, "attention_in_multiplier"), Finite(json, "attention_out_multiplier")),
                [HybridLayerTypes.Mamba2] = (Finite(json, "ssm_in_multiplier"), Finite(json, "ssm_out_multiplier")),
            },
            // FalconH1Model.forward: embed_tokens(ids) * embedding_multiplier; FalconH1ForCausalLM.forward: lm_head(h) * lm_head_multiplier.
            EmbeddingMultiplier = Finite(json, "embedding_multiplier"),
            LmHeadMultiplier = Finite(json, "lm_head_multiplier"),
        };
    }

    /// <summary>A description with what every family reads alike (transformers' PretrainedConfig keys: vocab_size,
    /// tie_word_embeddings, max_position_embeddings, bos/pad/eos token ids) under the family's defaults.</summary>
    private static HybridModelConfig Decoder(ConfigJsonReader json, string modelType, int hidden, IReadOnlyList<string> types, double eps,
        (bool TieWordEmbeddings, int MaxPositions, int Eos) defaults, int mlpWidth, bool fusedMlp, HybridCheckpointNames names) => new()
    {
        SourcePath = json.Path,
        ModelType = modelType,
        HiddenSize = hidden,
        VocabSize = Positive(json, "vocab_size", json.RequireInt("vocab_size")),
        LayerTypes = types,
        NormEps = eps,
        TieWordEmbeddings = json.OptionalBool("tie_word_embeddings", defaults.TieWordEmbeddings),
        MaxPositionEmbeddings = Positive(json, "max_position_embeddings", json.OptionalInt("max_position_embeddings", defaults.MaxPositions)),
        BosTokenId = json.OptionalNullableInt("bos_token_id", 1),
        PadTokenId = json.OptionalNullableInt("pad_token_id", 0),
        EosTokenIds = json.OptionalIntList("eos_token_id", new[] { defaults.Eos }),
        MlpIntermediateSize = mlpWidth,
        FusedMlp = fusedMlp,
        Names = names,
    };

    /// <summary>GQA attention from num_attention_heads / num_key_value_heads, head_dim = hidden / heads unless given,
    /// RoPE from rope_parameters (transformers 5) or rope_theta / partial_rotary_factor (older files).</summary>
    private static SelfAttentionOptions AttentionOptions(ConfigJsonReader json, JsonElement root, int hidden, bool qkNorm, bool ropeByDefault, double defaultTheta)
    {
        int heads = Positive(json, "num_attention_heads", json.RequireInt("num_attention_heads"));
        int kvHeads = Positive(json, "num_key_value_heads", json.OptionalInt("num_key_value_heads", heads));
        if (heads % kvHeads != 0)
        {
            throw json.Invalid("num_key_value_heads", $"{kvHeads} KV heads do not divide num_attention_heads {heads}");
        }

        // head_dim, or Nemotron-H's older attention_head_dim, else hidden / heads.
        string headDimKey = json.Has("head_dim") || !json.Has("attention_head_dim") ? "head_dim" : "attention_head_dim";
        if (!json.Has(headDimKey) && hidden % heads != 0)
        {
            throw json.Invalid("num_attention_heads", $"{heads} heads do not divide hidden_size {hidden}");
        }

        int headDim = Positive(json, headDimKey, json.OptionalInt(headDimKey, hidden / heads));
        int? rotary = null;
        double theta = json.OptionalDouble("rope_theta", defaultTheta);
        double partial = json.OptionalDouble("partial_rotary_factor", 1.0);
        if (root.TryGetProperty("rope_parameters", out var rp) && rp.ValueKind == JsonValueKind.Object)
        {
            if (rp.TryGetProperty("rope_type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() is { } t && t != "default")
            {
                throw json.Invalid("rope_parameters.rope_type", $"'{t}' is not supported; only the default RoPE runs");
            }

            theta = rp.TryGetProperty("rope_theta", out var th) ? LenientJson.ReadDouble(th) ?? throw json.Invalid("rope_parameters.rope_theta", "expected a number") : theta;
            partial = rp.TryGetProperty("partial_rotary_factor", out var pf) ? LenientJson.ReadDouble(pf) ?? throw json.Invalid("rope_parameters.partial_rotary_factor", "expected a number") : partial;
        }

        if (ropeByDefault)
        {
            if (!(partial > 0 && partial <= 1))
            {
                throw json.Invalid("partial_rotary_factor", $"{partial} is outside (0, 1]");
            }

            if (!(theta > 0) || double.IsInfinity(theta))
            {
                throw json.Invalid("rope_theta", $"{theta} must be positive and finite");
            }

            rotary = (int)(headDim * partial) / 2 * 2;
        }

        return new SelfAttentionOptions
        {
            HiddenSize = hidden,
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            QkNorm = qkNorm,
            RotaryDim = rotary,
            RopeTheta = theta,
        };
    }

    /// <summary>Mamba2 options from a family's keys (named in errors): heads split into groups, a power-of-two chunk.</summary>
    private static Mamba2MixerOptions Mamba2Options(ConfigJsonReader json, int hidden, (int Value, string Key) heads, (int Value, string Key) headDim,
        (int Value, string Key) groups, (int Value, string Key) stateSize, (int Value, string Key) convKernel, (int Value, string Key) chunk,
        bool useBias, bool useConvBias, double eps, string timeStepLimitKey)
    {
        Positive(json, heads.Key, heads.Value);
        Positive(json, groups.Key, groups.Value);
        if (heads.Value % groups.Value != 0)
        {
            throw json.Invalid(groups.Key, $"{groups.Value} groups do not divide {heads.Key} {heads.Value}");
        }

        if (Positive(json, chunk.Key, chunk.Value) is int c && (c & (c - 1)) != 0)
        {
            throw json.Invalid(chunk.Key, $"{c} is not a power of two");
        }

        var (limitMin, limitMax) = json.OptionalFloatPair(timeStepLimitKey, (0.0, double.PositiveInfinity));
        return new Mamba2MixerOptions
        {
            HiddenSize = hidden,
            NumHeads = heads.Value,
            HeadDim = Positive(json, headDim.Key, headDim.Value),
            NGroups = groups.Value,
            StateSize = Positive(json, stateSize.Key, stateSize.Value),
            ConvKernel = Positive(json, convKernel.Key, convKernel.Value),
            ChunkSize = chunk.Value,
            UseBias = useBias,
            UseConvBias = useConvBias,
            LayerNormEpsilon = eps,
            TimeStepLimit = (limitMin, limitMax),
        };
    }

    private static string[] LayerTypes(ConfigJsonReader json, JsonElement list, string key, int numLayers, IReadOnlyDictionary<string, string> names)
    {
        if (list.ValueKind != JsonValueKind.Array)
        {
            throw json.Invalid(key, "expected a list of layer type names");
        }

        if (list.GetArrayLength() != numLayers)
        {
            throw json.Invalid(key, $"lists {list.GetArrayLength()} layer types but num_hidden_layers is {numLayers}; the two must agree");
        }

        return list.EnumerateArray().Select((item, i) =>
        {
            string? name = item.ValueKind == JsonValueKind.String ? item.GetString() : null;
            return name is not null && names.TryGetValue(name, out var kind)
                ? kind
                : throw json.Invalid(key, $"layer {i} has type {item.GetRawText()}, which this family does not have; expected one of {string.Join(", ", names.Keys.Select(n => $"\"{n}\""))}");
        }).ToArray();
    }

    /// <summary>LFM2's legacy <c>full_attn_idxs</c>: the attention layers' indices, convs elsewhere.</summary>
    private static string[] FromAttentionIndices(ConfigJsonReader json, JsonElement root, int numLayers)
    {
        if (!root.TryGetProperty("full_attn_idxs", out var idx) || idx.ValueKind == JsonValueKind.Null)
        {
            throw json.Invalid("layer_types", "required key is missing (nor is the legacy full_attn_idxs there): it says which layers are convs and which attention");
        }

        var kinds = Enumerable.Repeat(HybridLayerTypes.ShortConv, numLayers).ToArray();
        foreach (int i in json.OptionalIntList("full_attn_idxs", Array.Empty<int>()))
        {
            if (i < 0 || i >= numLayers)
            {
                throw json.Invalid("full_attn_idxs", $"layer index {i} is outside [0, num_hidden_layers = {numLayers})");
            }

            kinds[i] = HybridLayerTypes.Attention;
        }

        return kinds;
    }

    private static int Positive(ConfigJsonReader json, string key, int value) =>
        value > 0 ? value : throw json.Invalid(key, $"{value} must be positive");

    /// <summary>A μP multiplier: 1 when absent, else a finite number.</summary>
    private static double Finite(ConfigJsonReader json, string key) =>
        json.OptionalDouble(key, 1.0) is var value && double.IsFinite(value) ? value : throw json.Invalid(key, $"{value} must be finite");

    private static double NonZero(ConfigJsonReader json, string key, double value) =>
        value != 0 && double.IsFinite(value) ? value : throw json.Invalid(key, $"{value} must be finite and not zero");
}
