using System.IO;
using MambaGen.Checkpoints;

namespace MambaGen.Tests.Checkpoints;

public class MambaCheckpointConfigTests
{
    private const string MinimalMamba2 =
        """{"model_type": "mamba2", "hidden_size": 48, "num_hidden_layers": 2, "vocab_size": 61, "state_size": 8, "num_heads": 6, "head_dim": 16, "n_groups": 1""";

    [Fact]
    public void Mamba1_fixture_config_parses_with_its_values()
    {
        var config = Assert.IsType<Mamba1CheckpointConfig>(MambaCheckpointConfig.Load(CheckpointFixtures.Mamba1));
        Assert.Equal("mamba", config.ModelType);
        Assert.Equal(48, config.HiddenSize);
        Assert.Equal(3, config.NumHiddenLayers);
        Assert.Equal(61, config.VocabSize);
        Assert.Equal(8, config.StateSize);
        Assert.Equal(2, config.Expand);
        Assert.Equal(4, config.ConvKernel);
        Assert.Equal(96, config.IntermediateSize);
        Assert.Equal(3, config.TimeStepRank);
        Assert.False(config.UseBias);
        Assert.True(config.UseConvBias);
        Assert.Equal(1e-5, config.LayerNormEpsilon);
        Assert.True(config.ResidualInFp32);
        Assert.True(config.TieWordEmbeddings);
        Assert.Equal(0, config.PadTokenId);
        Assert.Null(config.BosTokenId);
        Assert.Empty(config.EosTokenIds);
        Assert.Equal("silu", config.HiddenAct);
    }

    [Fact]
    public void Mamba2_fixture_config_parses_with_its_values_and_transformers5_infinity()
    {
        var config = Assert.IsType<Mamba2CheckpointConfig>(MambaCheckpointConfig.Load(CheckpointFixtures.Mamba2));
        Assert.Equal(48, config.HiddenSize);
        Assert.Equal(6, config.NumHeads);
        Assert.Equal(16, config.HeadDim);
        Assert.Equal(1, config.NGroups);
        Assert.Equal(8, config.ChunkSize);
        Assert.Equal(8, config.StateSize);
        Assert.Equal(96, config.IntermediateSize);
        Assert.Equal(0.0, config.TimeStepLimitMin);
        Assert.Equal(double.PositiveInfinity, config.TimeStepLimitMax);
        Assert.True(config.RmsNorm);
        Assert.False(config.NormBeforeGate);
        Assert.True(config.TieWordEmbeddings);
        Assert.False(config.UseBias);
    }

    [Theory]
    [InlineData("[0.0, Infinity]", 0.0, double.PositiveInfinity)]
    [InlineData("[0.001, Infinity]", 0.001, double.PositiveInfinity)]
    [InlineData("""[0.0, {"__float__": "Infinity"}]""", 0.0, double.PositiveInfinity)]
    [InlineData("[0.001, 0.1]", 0.001, 0.1)]
    public void Time_step_limit_reads_bare_and_wrapped_infinity(string limit, double min, double max)
    {
        var config = (Mamba2CheckpointConfig)MambaCheckpointConfig.Parse(MinimalMamba2 + $", \"time_step_limit\": {limit}}}");
        Assert.Equal(min, config.TimeStepLimitMin);
        Assert.Equal(max, config.TimeStepLimitMax);
    }

    [Theory]
    [InlineData("[-Infinity, Infinity]", "found [-Infinity, Infinity]")]
    [InlineData("[-0.5, 0.1]", "found [-0.5, 0.1]")]
    [InlineData("[0.1, 0.01]", "found [0.1, 0.01]")]
    [InlineData("[0.0, 0.0]", "max > 0")]
    [InlineData("[NaN, 1.0]", "found [NaN, 1]")]
    public void Negative_inverted_or_empty_time_step_limit_is_refused_by_name(string limit, string says)
    {
        var e = Assert.Throws<CheckpointException>(() => MambaCheckpointConfig.Parse(MinimalMamba2 + $", \"time_step_limit\": {limit}}}"));
        Assert.Equal("time_step_limit", e.Name);
        Assert.Contains(says, e.Message);
    }

    [Fact]
    public void Infinity_inside_a_string_is_left_as_written()
    {
        // hidden_act is the one free-text key read; an activation other than silu is refused, quoting it as written.
        var e = Assert.Throws<CheckpointException>(() =>
            MambaCheckpointConfig.Parse(MinimalMamba2 + """, "hidden_act": "Infinity NaN -Infinity", "note": "say \"NaN\""}"""));
        Assert.Equal("hidden_act", e.Name);
        Assert.Contains("'Infinity NaN -Infinity' is not supported", e.Message);
    }

    [Fact]
    public void Optional_keys_take_transformers_defaults()
    {
        var mamba1 = (Mamba1CheckpointConfig)MambaCheckpointConfig.Parse(
            """{"model_type": "mamba", "hidden_size": 40, "num_hidden_layers": 1, "vocab_size": 10, "state_size": 16, "future_key": {"x": 1}}""");
        Assert.Equal(80, mamba1.IntermediateSize);
        Assert.Equal(3, mamba1.TimeStepRank); // ceil(40 / 16)
        Assert.True(mamba1.UseBias);
        Assert.True(mamba1.TieWordEmbeddings);
        Assert.Equal(4, mamba1.ConvKernel);
        Assert.Equal(new[] { 0 }, mamba1.EosTokenIds);

        var mamba2 = (Mamba2CheckpointConfig)MambaCheckpointConfig.Parse(MinimalMamba2 + "}");
        Assert.Equal(256, mamba2.ChunkSize);
        Assert.False(mamba2.TieWordEmbeddings);
        Assert.Equal(double.PositiveInfinity, mamba2.TimeStepLimitMax);
        Assert.Equal(1, mamba2.PadTokenId);
        Assert.Equal(new[] { 2 }, mamba2.EosTokenIds);
    }

    [Fact]
    public void Time_step_rank_auto_is_ceil_of_hidden_over_16()
    {
        var config = MambaCheckpointConfig.Parse(
            """{"model_type": "mamba", "hidden_size": 768, "num_hidden_layers": 1, "vocab_size": 10, "state_size": 16, "time_step_rank": "auto"}""");
        Assert.Equal(48, config.TimeStepRank);
    }

    [Fact]
    public void Missing_required_key_names_the_file_and_the_key()
    {
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba1);
        string path = scratch.File("config.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"hidden_size\": 48,", ""));
        var e = Assert.Throws<CheckpointException>(() => MambaCheckpointConfig.Load(scratch.Path));
        Assert.Equal(path, e.File);
        Assert.Equal("hidden_size", e.Name);
        Assert.Contains("config.json", e.Message);
        Assert.Contains("'hidden_size'", e.Message);
    }

    [Fact]
    public void Bad_json_names_the_file()
    {
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba2);
        string path = scratch.File("config.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"chunk_size\": 8,", "\"chunk_size\": 8,,"));
        var e = Assert.Throws<CheckpointException>(() => MambaCheckpointConfig.Load(scratch.Path));
        Assert.Equal(path, e.File);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void Unsupported_model_type_is_refused_by_name()
    {
        var e = Assert.Throws<CheckpointException>(() => MambaCheckpointConfig.Parse("""{"model_type": "llama", "hidden_size": 8}"""));
        Assert.Equal("model_type", e.Name);
        Assert.Contains("'llama' is not supported", e.Message);
    }

    [Fact]
    public void Value_of_the_wrong_kind_names_the_key()
    {
        var e = Assert.Throws<CheckpointException>(() => MambaCheckpointConfig.Parse(
            """{"model_type": "mamba", "hidden_size": "wide", "num_hidden_layers": 1, "vocab_size": 10, "state_size": 16}"""));
        Assert.Equal("hidden_size", e.Name);
        Assert.Contains("expected an integer", e.Message);
    }

    [Fact]
    public void Mamba2_heads_that_do_not_tile_the_inner_width_are_refused()
    {
        var e = Assert.Throws<CheckpointException>(() => MambaCheckpointConfig.Parse(MinimalMamba2.Replace("\"head_dim\": 16", "\"head_dim\": 12") + "}"));
        Assert.Equal("num_heads", e.Name);
        Assert.Contains("intermediate_size (96)", e.Message);
    }

    [Fact]
    public void Missing_config_json_is_reported_with_its_path()
    {
        using var scratch = new ScratchFolder();
        var e = Assert.Throws<CheckpointException>(() => MambaCheckpointConfig.Load(scratch.Path));
        Assert.Equal(scratch.File("config.json"), e.File);
    }
}
