using System.Linq;
using System.Text.Json.Nodes;
using MambaGen.Checkpoints;
using MambaGen.Models.Hybrid;
using MambaGen.Tests.Checkpoints;
using System.IO;

namespace MambaGen.Tests.Models.Hybrid;

/// <summary>The families' config.json read into one description; what the runtime cannot run is an error naming the key.</summary>
public class HybridConfigTests
{
    private static JsonObject Fixture(string folder) => JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!.AsObject();

    private static CheckpointException Refused(JsonObject config) =>
        Assert.Throws<CheckpointException>(() => HybridModelConfig.Parse(config.ToJsonString(), "config.json"));

    [Fact]
    public void Lfm2_reads_conv_and_attention_layers_qk_norm_rope_and_the_derived_mlp_width()
    {
        var c = HybridModelConfig.Load(CheckpointFixtures.Lfm2);
        Assert.Equal(new[] { HybridLayerTypes.ShortConv, HybridLayerTypes.ShortConv, HybridLayerTypes.Attention, HybridLayerTypes.ShortConv }, c.LayerTypes);
        Assert.True(c.Attention!.QkNorm);
        Assert.Equal((16, 1e6, 2), (c.Attention.RotaryDim!.Value, c.Attention.RopeTheta, c.Attention.NumKvHeads));
        // block_auto_adjust_ff_dim: 96 · 2/3 = 64, up to a multiple of 256.
        Assert.Equal(256, c.MlpIntermediateSize);
        Assert.Equal("out_proj", c.Attention.OutputProjectionName);
    }

    [Fact]
    public void Granite_reads_mamba_and_attention_layers_nope_and_the_mup_multipliers()
    {
        var c = HybridModelConfig.Load(CheckpointFixtures.GraniteHybridDense);
        Assert.Equal(new[] { HybridLayerTypes.Mamba2, HybridLayerTypes.Attention, HybridLayerTypes.Mamba2 }, c.LayerTypes);
        Assert.Null(c.Attention!.RotaryDim);
        Assert.Equal((2.0, 0.5, 3.0, 0.2), (c.EmbeddingMultiplier, c.ResidualMultiplier, c.LogitsScaling, c.Attention.Scale!.Value));
        Assert.Equal((8, 16, 16, 8), (c.Mamba2!.NumHeads, c.Mamba2.HeadDim, c.Mamba2.StateSize, c.Mamba2.ChunkSize));
    }

    [Fact]
    public void Granite_with_experts_adds_routed_experts_beside_the_shared_mlp_under_the_checkpoint_names()
    {
        var json = Fixture(CheckpointFixtures.GraniteHybridDense);
        json["num_local_experts"] = 4;
        var c = HybridModelConfig.Parse(json.ToJsonString());
        Assert.Equal(new MoeOptions(4, 2, 96), c.Moe);
        using var model = HybridLanguageModel.Create(c);
        var weights = model.state_dict();
        Assert.Equal(new long[] { 4, 192, 64 }, weights["model.layers.0.block_sparse_moe.input_linear.weight"].shape);
        Assert.Equal(new long[] { 4, 64, 96 }, weights["model.layers.1.block_sparse_moe.output_linear.weight"].shape);
        Assert.Equal(new long[] { 4, 64 }, weights["model.layers.2.block_sparse_moe.router.layer.weight"].shape);
        Assert.Equal(HybridLanguageModel.ParameterCount(c), weights.Values.Sum(t => t.numel()));
    }

    [Fact]
    public void The_parameter_count_refused_before_allocation_is_the_built_models()
    {
        foreach (var folder in new[] { CheckpointFixtures.Lfm2, CheckpointFixtures.GraniteHybridDense })
        {
            var c = HybridModelConfig.Load(folder);
            using var model = HybridLanguageModel.Create(c);
            Assert.Equal(HybridLanguageModel.ParameterCount(c), model.state_dict().Values.Sum(t => t.numel()));
        }
    }

    [Fact]
    public void Granite_with_rope_rotates_by_its_theta()
    {
        var json = Fixture(CheckpointFixtures.GraniteHybridDense);
        json["position_embedding_type"] = "rope";
        var c = HybridModelConfig.Parse(json.ToJsonString());
        Assert.Equal((16, 10000.0), (c.Attention!.RotaryDim!.Value, c.Attention.RopeTheta));
    }

    [Fact]
    public void Layer_types_that_do_not_add_up_or_are_unknown_name_the_key()
    {
        var json = Fixture(CheckpointFixtures.Lfm2);
        json["num_hidden_layers"] = 5;
        var e = Refused(json);
        Assert.Contains("layer_types", e.Message);
        Assert.Contains("num_hidden_layers is 5", e.Message);

        json = Fixture(CheckpointFixtures.Lfm2);
        json["layer_types"]![1] = "sliding_attention";
        e = Refused(json);
        Assert.Contains("layer_types", e.Message);
        Assert.Contains("layer 1 has type \"sliding_attention\"", e.Message);

        json = Fixture(CheckpointFixtures.GraniteHybridDense);
        json.Remove("layer_types");
        Assert.Contains("layer_types", Refused(json).Message);
    }

    [Theory]
    [InlineData("num_local_experts", "-1", "must be 0 (dense) or positive")]
    [InlineData("num_experts_per_tok", "3", "between 1 and num_local_experts")]
    [InlineData("position_embedding_type", "\"alibi\"", "'alibi'")]
    [InlineData("hidden_act", "\"gelu\"", "'gelu'")]
    [InlineData("mamba_d_head", "20", "must equal mamba_expand")]
    [InlineData("num_key_value_heads", "3", "do not divide")]
    [InlineData("logits_scaling", "0", "not zero")]
    public void Options_the_runtime_does_not_run_are_refused_naming_the_key(string key, string value, string why)
    {
        var json = Fixture(CheckpointFixtures.GraniteHybridDense);
        json[key] = JsonNode.Parse(value);
        if (key == "num_experts_per_tok")
        {
            json["num_local_experts"] = 2;
        }

        var e = Refused(json);
        Assert.Contains(key, e.Message);
        Assert.Contains(why, e.Message);
    }

    [Fact]
    public void Lfm2_rope_scaling_other_than_default_and_an_unknown_model_type_are_refused()
    {
        var json = Fixture(CheckpointFixtures.Lfm2);
        json["rope_parameters"]!["rope_type"] = "yarn";
        Assert.Contains("rope_parameters.rope_type", Refused(json).Message);
        json = Fixture(CheckpointFixtures.Lfm2);
        json["model_type"] = "zamba2";
        var e = Refused(json);
        Assert.Contains("model_type", e.Message);
        Assert.Contains("'lfm2'", e.Message);
    }

    [Fact]
    public void A_config_whose_vocab_disagrees_with_the_embedding_is_refused_before_the_model_is_built()
    {
        using var copy = ScratchFolder.CopyOf(CheckpointFixtures.Lfm2);
        var json = Fixture(copy.Path);
        json["vocab_size"] = int.MaxValue;
        File.WriteAllText(Path.Combine(copy.Path, "config.json"), json.ToJsonString());
        var e = Assert.Throws<CheckpointException>(() => HybridLanguageModel.Load(copy.Path, TorchSharp.torch.CPU));
        Assert.Contains("vocab_size", e.Message);
        Assert.Contains("model.embed_tokens.weight", e.Message);
    }
}
