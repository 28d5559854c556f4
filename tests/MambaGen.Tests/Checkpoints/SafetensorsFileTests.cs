using System;
using System.IO;
using System.Linq;
using MambaGen.Checkpoints;
using static TorchSharp.torch;

namespace MambaGen.Tests.Checkpoints;

public class SafetensorsFileTests
{
    [Fact]
    public void Mamba1_fixture_holds_every_tensor_with_its_hf_shape()
    {
        var file = SafetensorsFile.Open(Path.Combine(CheckpointFixtures.Mamba1, "model.safetensors"));
        Assert.Equal(2 + 3 * 10, file.Tensors.Count);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal(new long[] { 61, 48 }, file.Tensors["backbone.embeddings.weight"].Shape);
        for (int i = 0; i < 3; i++)
        {
            string p = $"backbone.layers.{i}.mixer.";
            Assert.Equal(new long[] { 192, 48 }, file.Tensors[p + "in_proj.weight"].Shape);
            Assert.Equal(new long[] { 96, 1, 4 }, file.Tensors[p + "conv1d.weight"].Shape);
            Assert.Equal(new long[] { 96 }, file.Tensors[p + "conv1d.bias"].Shape);
            Assert.Equal(new long[] { 19, 96 }, file.Tensors[p + "x_proj.weight"].Shape); // dt_rank 3 + 2 * state 8
            Assert.Equal(new long[] { 96, 3 }, file.Tensors[p + "dt_proj.weight"].Shape);
            Assert.Equal(new long[] { 96 }, file.Tensors[p + "dt_proj.bias"].Shape);
            Assert.Equal(new long[] { 96, 8 }, file.Tensors[p + "A_log"].Shape);
            Assert.Equal(new long[] { 96 }, file.Tensors[p + "D"].Shape);
            Assert.Equal(new long[] { 48, 96 }, file.Tensors[p + "out_proj.weight"].Shape);
            Assert.Equal(new long[] { 48 }, file.Tensors[$"backbone.layers.{i}.norm.weight"].Shape);
        }
        Assert.Equal(new long[] { 48 }, file.Tensors["backbone.norm_f.weight"].Shape);
        Assert.False(file.Tensors.ContainsKey("lm_head.weight"));
        Assert.All(file.Tensors.Values, t => Assert.Equal(ScalarType.Float32, t.Dtype));
    }

    [Fact]
    public void Mamba2_fixture_holds_every_tensor_with_its_hf_shape()
    {
        var file = SafetensorsFile.Open(Path.Combine(CheckpointFixtures.Mamba2, "model.safetensors"));
        Assert.Equal(2 + 3 * 9, file.Tensors.Count);
        for (int i = 0; i < 3; i++)
        {
            string p = $"backbone.layers.{i}.mixer.";
            // in_proj: z (96) + x (96) + B (8) + C (8) + dt (6 heads)
            Assert.Equal(new long[] { 214, 48 }, file.Tensors[p + "in_proj.weight"].Shape);
            Assert.Equal(new long[] { 112, 1, 4 }, file.Tensors[p + "conv1d.weight"].Shape);
            Assert.Equal(new long[] { 6 }, file.Tensors[p + "A_log"].Shape);
            Assert.Equal(new long[] { 6 }, file.Tensors[p + "dt_bias"].Shape);
            Assert.Equal(new long[] { 96 }, file.Tensors[p + "norm.weight"].Shape);
        }
    }

    [Fact]
    public void Tensor_data_reads_back_the_bytes_written_for_every_supported_dtype()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("model.safetensors");
        using var f32 = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        using var f16 = f32.to(ScalarType.Float16);
        using var bf16 = f32.to(ScalarType.BFloat16);
        using var i64 = arange(5, dtype: ScalarType.Int64);
        using var i32 = arange(7, dtype: ScalarType.Int32);
        SafetensorsTestWriter.Write(path, new[]
        {
            RawTensor.From("f32", f32), RawTensor.From("f16", f16), RawTensor.From("bf16", bf16),
            RawTensor.From("i64", i64), RawTensor.From("i32", i32),
        });
        var file = SafetensorsFile.Open(path);
        foreach (var (name, expected) in new[] { ("f32", f32), ("f16", f16), ("bf16", bf16), ("i64", i64), ("i32", i32) })
        {
            using var read = file.Read(name);
            Assert.Equal(expected.dtype, read.dtype);
            Assert.Equal(expected.shape, read.shape);
            Assert.True(read.equal(expected).all().item<bool>(), name);
        }
    }

    [Fact]
    public void Truncated_file_names_the_file_and_the_tensor_past_its_end()
    {
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba1);
        string path = scratch.File("model.safetensors");
        using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength(stream.Length - 100);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Equal(path, e.File);
        Assert.Equal("backbone.norm_f.weight", e.Name); // the last tensor in the data section
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Header_length_past_the_end_of_the_file_is_reported()
    {
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba1);
        string path = scratch.File("model.safetensors");
        using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength(1000); // cut inside the header
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Equal(path, e.File);
        Assert.Contains("header length", e.Message);
    }

    [Fact]
    public void File_shorter_than_the_length_prefix_is_reported()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("model.safetensors");
        File.WriteAllBytes(path, new byte[] { 1, 2, 3 });
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains("too short", e.Message);
    }

    [Fact]
    public void Bad_header_json_names_the_file()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("model.safetensors");
        SafetensorsTestWriter.WriteRaw(path, """{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]""", new byte[4]);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Equal(path, e.File);
        Assert.Contains("header is not valid JSON", e.Message);
    }

    [Fact]
    public void Unknown_dtype_names_the_tensor_and_the_dtype()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("model.safetensors");
        SafetensorsTestWriter.WriteRaw(path, """{"w": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}}""", new byte[4]);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Equal("w", e.Name);
        Assert.Contains("'F8_E4M3' is not supported", e.Message);
    }

    [Fact]
    public void Dtype_that_disagrees_with_the_byte_length_names_the_tensor()
    {
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba1);
        string path = scratch.File("model.safetensors");
        var tensors = SafetensorsTestWriter.ReadAll(path);
        int i = tensors.FindIndex(t => t.Name == "backbone.layers.1.mixer.D");
        tensors[i] = tensors[i] with { Dtype = "BF16" }; // 96 fp32 values are 384 bytes, 96 bf16 need 192
        SafetensorsTestWriter.Write(path, tensors);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Equal("backbone.layers.1.mixer.D", e.Name);
        Assert.Contains("needs 192 bytes", e.Message);
        Assert.Contains("span 384", e.Message);
    }

    [Fact]
    public void Overlapping_tensors_are_reported()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("model.safetensors");
        SafetensorsTestWriter.WriteRaw(path,
            """{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}""",
            new byte[12]);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Equal("b", e.Name);
        Assert.Contains("overlap", e.Message);
    }

    [Fact]
    public void Every_broken_entry_of_a_header_is_listed_at_once()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("model.safetensors");
        SafetensorsTestWriter.WriteRaw(path,
            """{"a": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [3], "data_offsets": [8, 16]}}""",
            new byte[16]);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Equal(new[] { "a", "b" }, e.Problems.Select(p => p.Name).ToArray());
    }

    [Fact]
    public void Reading_a_tensor_the_file_lacks_names_it()
    {
        var file = SafetensorsFile.Open(Path.Combine(CheckpointFixtures.Mamba1, "model.safetensors"));
        var e = Assert.Throws<CheckpointException>(() => file.Read("lm_head.weight"));
        Assert.Equal("lm_head.weight", e.Name);
    }
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void Reading_into_a_model_tensor_converts_like_libtorch_across_several_buffer_chunks(ScalarType modelDtype)
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("model.safetensors");
        // More than two conversion buffers' worth of f32, and a length that leaves a partial last chunk.
        long count = 2 * SafetensorsFile.ConvertChunkBytes / 4 + 1234;
        using var g = new TorchSharp.torch.Generator(4);
        using var weights = randn(new[] { count }, generator: g).mul_(3);
        SafetensorsTestWriter.Write(path, new[] { RawTensor.From("small", arange(5, dtype: ScalarType.Float32)), RawTensor.From("w", weights) });
        var file = SafetensorsFile.Open(path);

        using var target = full(new[] { count }, float.NaN, dtype: modelDtype);
        file.ReadInto("w", target);
        using var expected = weights.to(modelDtype);
        Assert.True(target.equal(expected).all().item<bool>());
    }

    [Fact]
    public void Reading_into_a_tensor_of_another_size_or_a_file_cut_after_opening_names_the_tensor()
    {
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba1);
        string path = scratch.File("model.safetensors");
        var file = SafetensorsFile.Open(path);
        using var wrongSize = empty(47);
        var wrong = Assert.Throws<ArgumentException>(() => file.ReadInto("backbone.norm_f.weight", wrongSize));
        Assert.Contains("backbone.norm_f.weight", wrong.Message);

        using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength(stream.Length - 100);
        using var target = empty(48);
        var e = Assert.Throws<CheckpointException>(() => file.ReadInto("backbone.norm_f.weight", target));
        Assert.Equal("backbone.norm_f.weight", e.Name);
        Assert.Contains("truncated", e.Message);
    }
}
