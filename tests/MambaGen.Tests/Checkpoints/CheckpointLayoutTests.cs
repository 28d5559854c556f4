using System.IO;
using System.Linq;
using MambaGen.Checkpoints;
using MambaGen.Models;
using MambaGen.Tests.Generation;
using static TorchSharp.torch;

namespace MambaGen.Tests.Checkpoints;

/// <summary>The tensors config.json implies, computed without a model, and the checks that run before a model is allocated.</summary>
public class CheckpointLayoutTests
{
    [Theory]
    [MemberData(nameof(TinyLanguageModel.Kinds), MemberType = typeof(TinyLanguageModel))]
    public void Expected_layout_is_exactly_the_models_state_dict(string kind)
    {
        using var model = TinyLanguageModel.Create(kind);
        var expected = CheckpointLayout.Expected(model.CheckpointConfig).ToDictionary(t => t.Name, t => t.Shape);
        var actual = model.state_dict();
        Assert.Equal(actual.Keys.OrderBy(n => n), expected.Keys.OrderBy(n => n));
        foreach (var (name, tensor) in actual) Assert.Equal(tensor.shape, expected[name]);
        Assert.Equal(actual.Values.Sum(t => t.numel()), CheckpointLayout.ParameterCount(model.CheckpointConfig));
    }

    [Theory]
    [InlineData("mamba1")]
    [InlineData("mamba2")]
    public void Fixture_configs_agree_with_their_headers(string fixture)
    {
        var checkpoint = HuggingFaceCheckpoint.Open(fixture == "mamba1" ? CheckpointFixtures.Mamba1 : CheckpointFixtures.Mamba2);
        checkpoint.CheckLayout();
        checkpoint.CheckLayout(ScalarType.BFloat16);
    }

    [Fact]
    public void Create_refuses_a_model_larger_than_memory_before_allocating_it()
    {
        var config = MambaCheckpointConfig.Parse(
            """{"model_type": "mamba", "hidden_size": 4096, "num_hidden_layers": 64, "vocab_size": 2147483647, "state_size": 16}""", "huge/config.json");
        var e = Assert.Throws<CheckpointException>(() => MambaLanguageModel.Create(config, new EngineConfig(new ModelConfig(config.ModelType))));
        Assert.Equal("huge/config.json", e.File);
        Assert.Contains("more than this machine's", e.Message);
        Assert.Contains("vocab_size 2147483647", e.Message);
    }

    [Fact]
    public void Config_built_in_code_is_validated_by_create_naming_the_key()
    {
        using var model = TinyLanguageModel.Create("mamba2");
        var config = (Mamba2CheckpointConfig)model.CheckpointConfig with { ChunkSize = 12, HiddenAct = "relu" };
        var e = Assert.Throws<CheckpointException>(() => MambaLanguageModel.Create(config, model.EngineConfig));
        Assert.Equal(new[] { "hidden_act", "chunk_size" }, e.Problems.Select(p => p.Name).ToArray());
    }

    [Fact]
    public void Oversized_shard_index_is_refused_unread()
    {
        using var scratch = new ScratchFolder();
        string index = scratch.File(SafetensorsCheckpoint.IndexFileName);
        using (var stream = File.Create(index)) stream.SetLength(SafetensorsCheckpoint.MaxIndexFileBytes + 1);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(scratch.Path));
        Assert.Equal(index, e.File);
        Assert.Contains($"above the limit of {SafetensorsCheckpoint.MaxIndexFileBytes} bytes", e.Message);
    }

    [Fact]
    public void Header_string_escaping_a_lone_surrogate_is_a_checkpoint_error()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("model.safetensors");
        SafetensorsTestWriter.WriteRaw(path, """{"w\ud800": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}""", new byte[4]);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Equal(path, e.File);
        Assert.Contains("not valid Unicode", e.Message);
    }
}
