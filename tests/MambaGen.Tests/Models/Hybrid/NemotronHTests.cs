using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using MambaGen.Models.Hybrid;
using MambaGen.Tests.Layers;

namespace MambaGen.Tests.Models.Hybrid;

/// <summary>
/// Nemotron-H's description: Mamba2, attention and MLP layers of their own under <c>backbone.</c>. No transformers
/// fixture exists for it yet (tools/oracle/hybrid_fixtures.py makes one on the GPU machine), so these check the
/// description and the engine's consistency, not agreement with transformers.
/// </summary>
public class NemotronHTests
{
    private static JsonObject Config() => new()
    {
        ["model_type"] = "nemotron_h", ["vocab_size"] = 53, ["hidden_size"] = 32, ["num_hidden_layers"] = 5,
        ["hybrid_override_pattern"] = "M-*M-", ["num_attention_heads"] = 4, ["num_key_value_heads"] = 2, ["head_dim"] = 8,
        ["intermediate_size"] = 48, ["mamba_num_heads"] = 4, ["mamba_head_dim"] = 16, ["ssm_state_size"] = 8, ["n_groups"] = 2,
        ["conv_kernel"] = 4, ["chunk_size"] = 8, ["mlp_hidden_act"] = "relu2", ["tie_word_embeddings"] = false,
        ["max_position_embeddings"] = 128, ["pad_token_id"] = 0, ["bos_token_id"] = null, ["eos_token_id"] = null,
    };

    private static HybridModelConfig Parse(JsonObject json) => HybridModelConfig.Parse(json.ToJsonString(), "config.json");

    [Fact]
    public void The_pattern_gives_mamba_mlp_and_attention_layers_named_as_transformers_names_them()
    {
        var c = Parse(Config());
        Assert.Equal(new[] { "mamba2", "mlp", "attention", "mamba2", "mlp" }, c.LayerTypes);
        Assert.Null(c.Attention!.RotaryDim);
        Assert.Equal((4, 16, 2, 8), (c.Mamba2!.NumHeads, c.Mamba2.HeadDim, c.Mamba2.NGroups, c.Mamba2.ChunkSize));
        using var model = HybridLanguageModel.Create(c);
        var weights = model.state_dict();
        foreach (var name in new[]
        {
            "backbone.embeddings.weight", "backbone.norm_f.weight", "lm_head.weight", "backbone.layers.0.norm.weight",
            "backbone.layers.0.mixer.in_proj.weight", "backbone.layers.0.mixer.norm.weight", "backbone.layers.1.mixer.up_proj.weight",
            "backbone.layers.1.mixer.down_proj.weight", "backbone.layers.2.mixer.q_proj.weight", "backbone.layers.2.mixer.o_proj.weight",
        })
        {
            Assert.True(weights.ContainsKey(name), name);
        }

        Assert.DoesNotContain(weights.Keys, k => k.Contains("mlp_norm") || k.Contains("unused"));
        Assert.Equal(HybridLanguageModel.ParameterCount(c), weights.Values.Sum(t => t.numel()));
    }

    [Fact]
    public void The_model_generates_alike_batched_chunk_prefilled_and_alone()
    {
        using var model = HybridLanguageModel.Create(Parse(Config()));
        MixerUnderTest.SeedWeights(model, 9, scale: 0.4);
        var prompts = new[] { new[] { 1, 2, 3, 4, 5, 6 }, new[] { 7, 8, 9 }, new[] { 10, 11 } };
        HybridGeneration.AssertBatchedEqualsAlone(model, prompts, 6, 24, new SchedulerOptions(MaxNumBatchedTokens: 4));
    }

    [Theory]
    [InlineData("hybrid_override_pattern", "\"M-*E-\"", "layer 3 has type \"E\"")]
    [InlineData("residual_in_fp32", "true", "residual stream")]
    [InlineData("mlp_hidden_act", "\"gelu\"", "'gelu'")]
    [InlineData("n_groups", "3", "do not divide")]
    public void What_the_runtime_does_not_run_is_refused_naming_the_key(string key, string value, string why)
    {
        var json = Config();
        json[key] = JsonNode.Parse(value);
        var e = Assert.Throws<CheckpointException>(() => Parse(json));
        Assert.Contains(key, e.Message);
        Assert.Contains(why, e.Message);
    }
}
