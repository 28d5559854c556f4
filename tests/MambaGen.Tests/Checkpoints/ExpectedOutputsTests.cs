using System.IO;
using MambaGen.Checkpoints;
using static TorchSharp.torch;

namespace MambaGen.Tests.Checkpoints;

public class ExpectedOutputsTests
{
    [Theory]
    [InlineData("dev-mamba1")]
    [InlineData("dev-mamba2")]
    public void Fixture_expected_outputs_load_with_consistent_shapes(string fixture)
    {
        string folder = fixture == "dev-mamba1" ? CheckpointFixtures.Mamba1 : CheckpointFixtures.Mamba2;
        using var expected = ExpectedOutputs.Load(folder, vocabSize: 61);
        Assert.Equal(new long[] { 3, 29 }, expected.InputIds.shape);
        Assert.Equal(ScalarType.Int64, expected.InputIds.dtype);
        Assert.Equal(new long[] { 3, 29, 61 }, expected.Logits.shape);
        Assert.Equal(ScalarType.Float32, expected.Logits.dtype);
        Assert.Equal(new long[] { 3, 7 }, expected.GenPrompt.shape);
        Assert.Equal(new long[] { 3, 17 }, expected.GenTokens.shape);
        Assert.Equal(new long[] { 3, 10, 61 }, expected.GenLogits.shape);
        Assert.Equal(10, expected.NewTokenCount);
    }

    [Fact]
    public void Vocabulary_that_disagrees_with_the_logits_names_the_tensor()
    {
        var e = Assert.Throws<CheckpointException>(() => ExpectedOutputs.Load(CheckpointFixtures.Mamba1, vocabSize: 50));
        Assert.Contains(e.Problems, p => p.Name == "logits" && p.Reason.Contains("should be [3, 29, 50]"));
    }

    [Fact]
    public void Missing_or_mistyped_tensors_are_named()
    {
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba1);
        string path = scratch.File(ExpectedOutputs.FileName);
        var tensors = SafetensorsTestWriter.ReadAll(path);
        tensors.RemoveAll(t => t.Name == "gen_logits");
        int i = tensors.FindIndex(t => t.Name == "input_ids");
        tensors[i] = tensors[i] with { Dtype = "F32", Shape = new long[] { 3, 29, 2 } }; // same bytes, wrong dtype
        SafetensorsTestWriter.Write(path, tensors);
        var e = Assert.Throws<CheckpointException>(() => ExpectedOutputs.Load(scratch.Path));
        Assert.Contains(e.Problems, p => p.File == path && p.Name == "gen_logits" && p.Reason.Contains("missing"));
        Assert.Contains(e.Problems, p => p.File == path && p.Name == "input_ids" && p.Reason.Contains("found F32"));
    }

    [Fact]
    public void Generated_tokens_that_do_not_extend_the_prompt_are_refused()
    {
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba2);
        string path = scratch.File(ExpectedOutputs.FileName);
        var tensors = SafetensorsTestWriter.ReadAll(path);
        int i = tensors.FindIndex(t => t.Name == "gen_tokens");
        var data = (byte[])tensors[i].Data.Clone();
        data[0] = (byte)((data[0] + 1) % 61); // first prompt token of the first row, still a valid id
        tensors[i] = tensors[i] with { Data = data };
        SafetensorsTestWriter.Write(path, tensors);
        var e = Assert.Throws<CheckpointException>(() => ExpectedOutputs.Load(scratch.Path));
        Assert.Equal("gen_tokens", e.Name);
        Assert.Contains("does not start with gen_prompt", e.Message);
    }
}
