using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using MambaGen.Layers;
using MambaGen.Models;
using MambaGen.Models.Hybrid;
using MambaGen.Tests.Checkpoints;
using MambaGen.Tests.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Models.Hybrid;

/// <summary>
/// Falcon-H1's description: attention and Mamba2 side by side in every layer, then a SwiGLU MLP, with μP multipliers.
/// No transformers fixture exists for it yet (tools/oracle/hybrid_fixtures.py makes two on the GPU machine), so these
/// check the description, the checkpoint's names, the engine's consistency and each multiplier's place against the
/// weight it is equivalent to in transformers' formulas (modeling_falcon_h1.py).
/// </summary>
public class FalconH1Tests
{
    private static readonly int[][] Prompts = { new[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 }, new[] { 12, 13, 14 }, new[] { 15, 16 } };

    /// <summary>A tiny Falcon-H1: head_dim x heads != hidden_size and mamba_d_ssm given, as in released checkpoints;
    /// every multiplier 1 unless <paramref name="mup"/>.</summary>
    private static JsonObject Config(bool mup = true, bool rmsNorm = false) => new()
    {
        ["model_type"] = "falcon_h1", ["architectures"] = new JsonArray("FalconH1ForCausalLM"), ["vocab_size"] = 61, ["hidden_size"] = 32,
        ["num_hidden_layers"] = 2, ["num_attention_heads"] = 4, ["num_key_value_heads"] = 2, ["head_dim"] = 12, ["intermediate_size"] = 40,
        ["hidden_act"] = "silu", ["rms_norm_eps"] = 1e-5, ["rope_theta"] = 10000.0, ["max_position_embeddings"] = 128,
        ["mamba_d_ssm"] = 32, ["mamba_n_heads"] = 4, ["mamba_d_head"] = "auto", ["mamba_n_groups"] = 2, ["mamba_d_state"] = 8,
        ["mamba_d_conv"] = 4, ["mamba_expand"] = 2, ["mamba_chunk_size"] = 8, ["mamba_conv_bias"] = true, ["mamba_proj_bias"] = false,
        ["projectors_bias"] = false, ["mamba_rms_norm"] = rmsNorm, ["mamba_norm_before_gate"] = true, ["mamba_use_mlp"] = true,
        ["attention_bias"] = false, ["mlp_bias"] = false, ["tie_word_embeddings"] = false,
        ["pad_token_id"] = 0, ["bos_token_id"] = null, ["eos_token_id"] = null,
        ["embedding_multiplier"] = mup ? 1.7 : 1.0, ["lm_head_multiplier"] = mup ? 0.6 : 1.0, ["key_multiplier"] = mup ? 1.3 : 1.0,
        ["attention_in_multiplier"] = mup ? 0.8 : 1.0, ["attention_out_multiplier"] = mup ? 0.7 : 1.0,
        ["ssm_in_multiplier"] = mup ? 1.25 : 1.0, ["ssm_out_multiplier"] = mup ? 0.6 : 1.0,
        ["ssm_multipliers"] = mup ? new JsonArray(0.9, 1.2, 0.8, 1.3, 0.7) : new JsonArray(1.0, 1.0, 1.0, 1.0, 1.0),
        ["mlp_multipliers"] = mup ? new JsonArray(1.4, 0.6) : new JsonArray(1.0, 1.0),
    };

    private static HybridModelConfig Parse(JsonObject json) => HybridModelConfig.Parse(json.ToJsonString(), "config.json");

    [Fact]
    public void The_config_gives_attention_beside_mamba2_in_every_layer_and_reads_every_multiplier()
    {
        var c = Parse(Config());
        Assert.Equal(new[] { "attention+mamba2", "attention+mamba2" }, c.LayerTypes);
        var a = c.Attention!;
        Assert.Equal((4, 2, 12, 12, 10000.0), (a.NumHeads, a.NumKvHeads, a.HeadDim, a.RotaryDim!.Value, a.RopeTheta));
        Assert.Equal(1.3 / Math.Sqrt(12), a.Scale!.Value, 12);
        var m = c.Mamba2!;
        Assert.Equal((4, 8, 2, 8, 4, 8), (m.NumHeads, m.HeadDim, m.NGroups, m.StateSize, m.ConvKernel, m.ChunkSize));
        Assert.Equal((false, true, false, true), (m.RmsNorm, m.NormBeforeGate, m.UseBias, m.UseConvBias));
        Assert.Equal(new InProjectionMultipliers(0.9, 1.2, 0.8, 1.3, 0.7), m.InProjectionMultipliers);
        Assert.Equal((0.8, 0.7), c.MixerMultipliers["attention"]);
        Assert.Equal((1.25, 0.6), c.MixerMultipliers["mamba2"]);
        Assert.Equal((1.4, 0.6), c.MlpMultipliers);
        Assert.Equal((1.7, 0.6, 1.0, 1.0), (c.EmbeddingMultiplier, c.LmHeadMultiplier, c.ResidualMultiplier, c.LogitsScaling));
        Assert.Equal((40, false, 1e-5, false), (c.MlpIntermediateSize, c.FusedMlp, c.NormEps, c.TieWordEmbeddings));
    }

    [Fact]
    public void Transformers_defaults_apply_where_the_file_is_silent()
    {
        var json = Config();
        foreach (var key in new[] { "mamba_d_ssm", "mamba_d_head", "rope_theta", "ssm_multipliers", "mlp_multipliers", "key_multiplier", "mamba_rms_norm", "mamba_norm_before_gate" })
        {
            json.Remove(key);
        }

        json["mamba_n_heads"] = 128;
        json["mamba_n_groups"] = 1;
        var c = Parse(json);
        // FalconH1Config: mamba_d_ssm 1024, mamba_d_head auto; vLLM's rope_theta default 1e11; no gated norm.
        Assert.Equal((128, 8), (c.Mamba2!.NumHeads, c.Mamba2.HeadDim));
        Assert.Equal(1e11, c.Attention!.RopeTheta);
        Assert.Equal((false, true), (c.Mamba2.RmsNorm, c.Mamba2.NormBeforeGate));
        Assert.Equal(new InProjectionMultipliers(1, 1, 1, 1, 1), c.Mamba2.InProjectionMultipliers);
        Assert.Equal(1 / Math.Sqrt(12), c.Attention.Scale!.Value, 12);
        json["mamba_d_ssm"] = null;
        json["mamba_n_heads"] = 8;
        Assert.Equal(64, Parse(json).Mamba2!.IntermediateSize); // null: mamba_expand x hidden_size
    }

    [Fact]
    public void The_released_0_5b_config_parses_to_its_shapes_and_multipliers()
    {
        // Falcon-H1-0.5B's keys as a Megatron-Bridge test lists them, plus mamba_d_ssm 1536 (= 24 heads x 64), which
        // transformers needs there (its default, 1024, does not fit).
        const string json = """
            {"architectures": ["FalconH1ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "attention_in_multiplier": 1.0,
             "attention_out_multiplier": 0.9375, "attn_layer_indices": null, "embedding_multiplier": 5.656854249492381, "head_dim": 64,
             "hidden_act": "silu", "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 2048, "key_multiplier": 0.39062499999999994,
             "lm_head_multiplier": 0.0390625, "mamba_chunk_size": 128, "mamba_conv_bias": true, "mamba_d_conv": 4, "mamba_d_head": 64,
             "mamba_d_ssm": 1536, "mamba_d_state": 128, "mamba_expand": 2, "mamba_n_groups": 1, "mamba_n_heads": 24, "mamba_norm_before_gate": false,
             "mamba_proj_bias": false, "mamba_rms_norm": false, "mamba_use_mlp": true, "max_position_embeddings": 16384, "mlp_bias": false,
             "mlp_multipliers": [0.8838834764831844, 0.5859375], "model_type": "falcon_h1", "num_attention_heads": 8, "num_hidden_layers": 36,
             "num_key_value_heads": 2, "projectors_bias": false, "rms_norm_eps": 1e-5, "rope_scaling": null, "rope_theta": 100000000000.0,
             "ssm_in_multiplier": 1.25, "ssm_multipliers": [0.3535533905932738, 0.25, 0.3535533905932738, 0.5, 0.3535533905932738],
             "ssm_out_multiplier": 0.23570226039551587, "tie_word_embeddings": false, "torch_dtype": "bfloat16", "vocab_size": 32784}
            """;
        var c = HybridModelConfig.Parse(json, "config.json");
        Assert.Equal(36, c.LayerTypes.Count);
        Assert.Equal((8, 2, 64, 1e11), (c.Attention!.NumHeads, c.Attention.NumKvHeads, c.Attention.HeadDim, c.Attention.RopeTheta));
        Assert.Equal((24, 64, 1536, 128, 128), (c.Mamba2!.NumHeads, c.Mamba2.HeadDim, c.Mamba2.IntermediateSize, c.Mamba2.StateSize, c.Mamba2.ChunkSize));
        Assert.False(c.Mamba2.RmsNorm);
        Assert.Equal((1.25, 0.23570226039551587), c.MixerMultipliers["mamba2"]);
        // About half a billion parameters, as the name says.
        Assert.InRange(HybridLanguageModel.ParameterCount(c), 450_000_000L, 600_000_000L);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_checkpoint_under_transformers_names_loads_into_every_tensor_and_computes_what_the_built_model_does(bool rmsNorm)
    {
        var json = Config(rmsNorm: rmsNorm);
        using var built = HybridLanguageModel.Create(Parse(json));
        MixerUnderTest.SeedWeights(built, 11, scale: 0.3);
        var weights = built.state_dict();
        foreach (var name in new[]
        {
            "model.embed_tokens.weight", "model.final_layernorm.weight", "lm_head.weight", "model.layers.0.input_layernorm.weight",
            "model.layers.0.pre_ff_layernorm.weight", "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.o_proj.weight",
            "model.layers.0.mamba.in_proj.weight", "model.layers.0.mamba.conv1d.weight", "model.layers.0.mamba.conv1d.bias",
            "model.layers.0.mamba.A_log", "model.layers.0.mamba.dt_bias", "model.layers.0.mamba.D", "model.layers.0.mamba.out_proj.weight",
            "model.layers.1.feed_forward.gate_proj.weight", "model.layers.1.feed_forward.up_proj.weight", "model.layers.1.feed_forward.down_proj.weight",
        })
        {
            Assert.True(weights.ContainsKey(name), name);
        }

        Assert.Equal(rmsNorm, weights.ContainsKey("model.layers.0.mamba.norm.weight"));
        Assert.DoesNotContain(weights.Keys, k => k.EndsWith(".bias", StringComparison.Ordinal) && !k.Contains("conv1d", StringComparison.Ordinal));
        Assert.Equal(HybridLanguageModel.ParameterCount(Parse(json)), weights.Values.Sum(t => t.numel()));

        using var scratch = Write(built, json);
        using var loaded = HybridCheckpoint.Open(scratch.Path).LoadModel(CPU);
        using var expected = Logits(built, Prompts);
        using var actual = Logits(loaded, Prompts);
        Assert.True(expected.equal(actual).all().item<bool>());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_model_generates_alike_batched_chunk_prefilled_and_alone(bool rmsNorm)
    {
        using var model = HybridLanguageModel.Create(Parse(Config(rmsNorm: rmsNorm)));
        MixerUnderTest.SeedWeights(model, 9, scale: 0.4);
        HybridGeneration.AssertBatchedEqualsAlone(model, Prompts, 6, 24, new SchedulerOptions(MaxNumBatchedTokens: 4));
    }

    public static TheoryData<string> Multipliers => new()
    {
        "embedding_multiplier", "lm_head_multiplier", "key_multiplier", "attention_in_multiplier", "attention_out_multiplier",
        "ssm_in_multiplier", "ssm_out_multiplier", "ssm_multipliers.0", "ssm_multipliers.1", "ssm_multipliers.2", "ssm_multipliers.3",
        "ssm_multipliers.4", "mlp_multipliers.0", "mlp_multipliers.1",
    };

    /// <summary>
    /// Each multiplier moves the logits, and exactly as scaling the weight transformers applies it after does
    /// (FalconH1Attention.forward: k_proj(x) x key; FalconH1DecoderLayer.forward: attention on x x attention_in, each
    /// branch's output x its out multiplier; FalconH1Mixer.torch_forward: in_proj(x x ssm_in) x mup_vector over
    /// [z | x | B | C | dt]; FalconH1MLP.forward: act(gate_proj(x) x gate), down_proj(.) x down; the embeddings and the
    /// LM head's output scaled): a dropped or misplaced multiplier fails here.
    /// </summary>
    [Theory]
    [MemberData(nameof(Multipliers))]
    public void Each_multiplier_scales_the_logits_as_the_weight_it_multiplies_in_transformers_would(string multiplier)
    {
        const double value = 1.9;
        var plain = Config(mup: false);
        using var reference = HybridLanguageModel.Create(Parse(plain));
        MixerUnderTest.SeedWeights(reference, 5, scale: 0.4);
        var weights = reference.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var m = reference.Config.Mamba2!;
        int inner = m.IntermediateSize, groupState = m.NGroups * m.StateSize;
        var segments = new[] { (0, inner), (inner, inner), (2 * inner, groupState), (2 * inner + groupState, groupState), (2 * inner + 2 * groupState, m.NumHeads) };

        var scaledConfig = Config(mup: false);
        string[] parts = multiplier.Split('.');
        if (parts.Length == 2)
        {
            var list = scaledConfig[parts[0]]!.AsArray();
            list[int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)] = value;
        }
        else
        {
            scaledConfig[multiplier] = value;
        }

        using var withMultiplier = Build(scaledConfig, weights);
        using var withScaledWeights = Build(plain, weights.ToDictionary(kv => kv.Key, kv => Fold(multiplier, kv.Key, kv.Value)));
        using var unscaled = Logits(reference, Prompts);
        using var expected = Logits(withScaledWeights, Prompts);
        using var actual = Logits(withMultiplier, Prompts);
        Assert.True((actual - unscaled).abs().max().item<float>() > 1e-3, $"{multiplier} does not move the logits");
        Assert.True((actual - expected).abs().max().item<float>() < 1e-4, $"{multiplier}: {(actual - expected).abs().max().item<float>()} from the scaled weights' logits");

        Tensor Fold(string key, string name, Tensor w)
        {
            bool Is(params string[] suffixes) => suffixes.Any(s => name.EndsWith(s, StringComparison.Ordinal));
            switch (key)
            {
                case "embedding_multiplier" when Is("embed_tokens.weight"):
                case "lm_head_multiplier" when name == "lm_head.weight":
                case "key_multiplier" when Is("self_attn.k_proj.weight"):
                case "attention_in_multiplier" when Is("self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight"):
                case "attention_out_multiplier" when Is("self_attn.o_proj.weight"):
                case "ssm_in_multiplier" when Is("mamba.in_proj.weight"):
                case "ssm_out_multiplier" when Is("mamba.out_proj.weight"):
                case "mlp_multipliers.0" when Is("feed_forward.gate_proj.weight"):
                case "mlp_multipliers.1" when Is("feed_forward.down_proj.weight"):
                    return w * value;
                case var s when s.StartsWith("ssm_multipliers.", StringComparison.Ordinal) && Is("mamba.in_proj.weight"):
                    var (start, width) = segments[s[^1] - '0'];
                    var scaled = w.clone();
                    scaled.narrow(0, start, width).mul_(value);
                    return scaled;
                default:
                    return w;
            }
        }
    }

    [Theory]
    [InlineData("layers_block_type", "[\"hybrid\", \"hybrid\", \"hybrid\"]", "num_hidden_layers is 2")]
    [InlineData("layers_block_type", "[\"hybrid\", \"mamba\"]", "layer 1 has type \"mamba\"")]
    [InlineData("mamba_d_ssm", "30", "30 must equal mamba_n_heads 4 x mamba_d_head 7")]
    [InlineData("mamba_d_head", "6", "mamba_d_ssm")]
    [InlineData("hidden_act", "\"gelu\"", "'gelu'")]
    [InlineData("rope_scaling", "{\"type\": \"linear\", \"factor\": 2.0}", "only unscaled RoPE")]
    [InlineData("rope_parameters", "{\"rope_type\": \"yarn\", \"rope_theta\": 10000.0}", "only the default RoPE")]
    [InlineData("projectors_bias", "true", "mamba_proj_bias")]
    [InlineData("mlp_bias", "true", "without bias")]
    [InlineData("mamba_use_mlp", "false", "every Falcon-H1 layer")]
    [InlineData("ssm_multipliers", "[1.0, 1.0]", "a list of 5 numbers")]
    [InlineData("mlp_multipliers", "1.5", "a list of 2 numbers")]
    [InlineData("key_multiplier", "0", "must be positive")]
    [InlineData("mamba_chunk_size", "12", "not a power of two")]
    [InlineData("mamba_n_groups", "3", "do not divide")]
    public void What_the_runtime_does_not_run_is_refused_naming_the_key(string key, string value, string why)
    {
        var json = Config();
        json[key] = JsonNode.Parse(value);
        var e = Assert.Throws<CheckpointException>(() => Parse(json));
        Assert.Contains(why, e.Message);
        string named = key == "mamba_d_head" ? "mamba_d_ssm" : key == "rope_parameters" ? "rope_parameters.rope_type" : key;
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void A_checkpoint_with_fewer_layers_than_the_config_says_is_refused_naming_num_hidden_layers()
    {
        using var built = HybridLanguageModel.Create(Parse(Config()));
        var json = Config();
        json["num_hidden_layers"] = 3;
        using var scratch = Write(built, json);
        var e = Assert.Throws<CheckpointException>(() => HybridCheckpoint.Open(scratch.Path).LoadModel(CPU));
        Assert.Contains("num_hidden_layers", e.Message);
        Assert.Contains("tensors of 2", e.Message);
    }

    private static HybridLanguageModel Build(JsonObject json, IReadOnlyDictionary<string, Tensor> weights)
    {
        var model = HybridLanguageModel.Create(Parse(json));
        using var noGrad = torch.no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            p.copy_(weights[name]);
        }

        return model;
    }

    /// <summary>config.json and model.safetensors of <paramref name="model"/>'s weights in a scratch folder.</summary>
    private static ScratchFolder Write(HybridLanguageModel model, JsonObject json)
    {
        var scratch = new ScratchFolder();
        File.WriteAllText(scratch.File("config.json"), json.ToJsonString());
        SafetensorsTestWriter.Write(scratch.File("model.safetensors"), model.state_dict().Select(kv => RawTensor.From(kv.Key, kv.Value)));
        return scratch;
    }

    /// <summary>The logits at every token of the prompts, each prefilled whole on a fresh cache.</summary>
    private static Tensor Logits(HybridLanguageModel model, int[][] rows)
    {
        using var cache = RequestCache.For(model, rows.Length, rows.Max(r => r.Length));
        var step = cache.Step(rows.Select(r => (0, r.Length)).ToArray());
        using var ids = torch.tensor(rows.SelectMany(r => r.Select(t => (long)t)).ToArray());
        return model.ForwardAllTokens(ids, step);
    }
}
