using System;
using System.IO;
using System.Linq;
using MambaGen.CpuBench;
using MambaGen.CpuBench.Gguf;
using MambaGen.Testing;

namespace MambaGen.CpuBench.Tests;

public sealed class GgufConversionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mambagen-gguf-").FullName;

    private static string DefaultModel => RepoPaths.Combine("models", "default");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Convert(string folder, GgufFileType type)
    {
        var path = Path.Combine(_dir, $"{Path.GetFileName(folder)}-{type}.gguf");
        HuggingFaceToGguf.Convert(folder, path, type);
        return path;
    }

    [Fact]
    public void DefaultModelReadsBackWithLlamaCppsKeysShapesAndAlignment()
    {
        var file = GgufReader.Read(Convert(DefaultModel, GgufFileType.AllF32));

        Assert.Equal(3u, file.Version);
        Assert.Equal(32, file.Alignment);
        Assert.Equal(0, file.DataStart % 32);
        Assert.Equal("general.architecture", file.KeyOrder[0]);
        Assert.Equal("mamba2", file.Metadata["general.architecture"]);
        Assert.Equal(0u, file.Metadata["general.file_type"]);
        Assert.Equal(2u, file.Metadata["general.quantization_version"]);
        Assert.Equal(256u, file.Metadata["mamba2.embedding_length"]);
        Assert.Equal(4u, file.Metadata["mamba2.block_count"]);
        Assert.Equal(4u, file.Metadata["mamba2.ssm.conv_kernel"]);
        Assert.Equal(512u, file.Metadata["mamba2.ssm.inner_size"]);
        Assert.Equal(64u, file.Metadata["mamba2.ssm.state_size"]);
        Assert.Equal(8u, file.Metadata["mamba2.ssm.time_step_rank"]); // heads
        Assert.Equal(1u, file.Metadata["mamba2.ssm.group_count"]);
        Assert.Equal(GgufValueType.Float32, file.MetadataTypes["mamba2.attention.layer_norm_rms_epsilon"]);
        Assert.Equal(1e-5f, (float)file.Metadata["mamba2.attention.layer_norm_rms_epsilon"]);
        Assert.Equal(0u, file.Metadata["mamba2.feed_forward_length"]);
        Assert.Equal(0u, file.Metadata["mamba2.attention.head_count"]);

        Assert.Equal("gpt2", file.Metadata["tokenizer.ggml.model"]);
        var tokens = (object[])file.Metadata["tokenizer.ggml.tokens"];
        var types = (object[])file.Metadata["tokenizer.ggml.token_type"];
        Assert.Equal(3072, tokens.Length);
        Assert.Equal(3072, types.Length);
        Assert.Equal("<|endoftext|>", tokens[0]);
        Assert.Equal(3, types[0]); // control
        Assert.Equal(1, types[1]); // normal
        Assert.Contains("Ġ t", ((object[])file.Metadata["tokenizer.ggml.merges"]).Cast<string>());
        Assert.Equal(0u, file.Metadata["tokenizer.ggml.bos_token_id"]);
        Assert.Equal(0u, file.Metadata["tokenizer.ggml.eos_token_id"]);

        // Tied embeddings: no output tensor (llama.cpp falls back to token_embd); 2 + 9 a block.
        Assert.Equal(2 + 9 * 4, file.Tensors.Count);
        Assert.DoesNotContain(file.Tensors, t => t.Name == "output.weight");
        var byName = file.Tensors.ToDictionary(t => t.Name);
        // ggml order (fastest first), as llama.cpp's mamba2 loader asks for them.
        Assert.Equal(new ulong[] { 256, 3072 }, byName["token_embd.weight"].Ne);
        Assert.Equal(new ulong[] { 256, 1160 }, byName["blk.0.ssm_in.weight"].Ne);    // 2*512 + 2*64 + 8
        Assert.Equal(new ulong[] { 4, 640 }, byName["blk.0.ssm_conv1d.weight"].Ne);   // squeezed
        Assert.Equal(new ulong[] { 640 }, byName["blk.0.ssm_conv1d.bias"].Ne);
        Assert.Equal(new ulong[] { 8 }, byName["blk.0.ssm_dt.bias"].Ne);
        Assert.Equal(new ulong[] { 1, 8 }, byName["blk.0.ssm_a"].Ne);
        Assert.Equal(new ulong[] { 1, 8 }, byName["blk.0.ssm_d"].Ne);
        Assert.Equal(new ulong[] { 512, 1 }, byName["blk.0.ssm_norm.weight"].Ne);   // (groups, inner / groups)
        Assert.Equal(new ulong[] { 512, 256 }, byName["blk.3.ssm_out.weight"].Ne);
        Assert.All(file.Tensors, t => Assert.Equal(GgmlType.F32, t.Type));
        Assert.All(file.Tensors, t => Assert.Equal(0ul, t.Offset % 32));

        // Values: A = -exp(A_log), the rest as stored.
        var source = SafetensorsReader.ReadFolder(DefaultModel);
        var aLog = source["backbone.layers.2.mixer.A_log"].Data;
        Assert.Equal(aLog.Select(v => -MathF.Exp(v)).ToArray(), file.ReadTensor(byName["blk.2.ssm_a"]));
        Assert.Equal(source["backbone.embeddings.weight"].Data, file.ReadTensor(byName["token_embd.weight"]));
        Assert.Equal(source["backbone.layers.1.mixer.conv1d.weight"].Data, file.ReadTensor(byName["blk.1.ssm_conv1d.weight"]));
    }

    [Fact]
    public void Bf16KeepsNormsConvAndVectorsInFp32AsTheConverterDoes()
    {
        var file = GgufReader.Read(Convert(DefaultModel, GgufFileType.MostlyBF16));
        Assert.Equal(32u, file.Metadata["general.file_type"]);
        var byName = file.Tensors.ToDictionary(t => t.Name);
        Assert.Equal(GgmlType.BF16, byName["token_embd.weight"].Type);
        Assert.Equal(GgmlType.BF16, byName["blk.0.ssm_in.weight"].Type);
        Assert.Equal(GgmlType.BF16, byName["blk.0.ssm_out.weight"].Type);
        foreach (var name in new[] { "blk.0.ssm_conv1d.weight", "blk.0.ssm_conv1d.bias", "blk.0.ssm_a", "blk.0.ssm_d", "blk.0.ssm_dt.bias", "blk.0.ssm_norm.weight", "blk.0.attn_norm.weight", "output_norm.weight" })
            Assert.Equal(GgmlType.F32, byName[name].Type);
        // The default model is stored in bf16, so its bf16 GGUF holds the same values.
        var source = SafetensorsReader.ReadFolder(DefaultModel);
        Assert.Equal(source["backbone.layers.0.mixer.in_proj.weight"].Data, file.ReadTensor(byName["blk.0.ssm_in.weight"]));
    }

    [Fact]
    public void Mamba1FixtureGetsMambaKeysAndTensors()
    {
        var file = GgufReader.Read(Convert(RepoPaths.Combine("tests", "fixtures", "dev-mamba1"), GgufFileType.MostlyF16));
        Assert.Equal("mamba", file.Metadata["general.architecture"]);
        Assert.Equal(3u, file.Metadata["mamba.ssm.time_step_rank"]);
        Assert.Equal(false, file.Metadata["mamba.ssm.dt_b_c_rms"]);
        var byName = file.Tensors.ToDictionary(t => t.Name);
        Assert.Equal(new ulong[] { 8, 96 }, byName["blk.0.ssm_a"].Ne);
        Assert.Equal(new ulong[] { 96 }, byName["blk.0.ssm_d"].Ne);
        Assert.Equal(new ulong[] { 96, 19 }, byName["blk.0.ssm_x.weight"].Ne);
        Assert.Equal(new ulong[] { 3, 96 }, byName["blk.0.ssm_dt.weight"].Ne);
        Assert.Equal(GgmlType.F16, byName["blk.0.ssm_dt.weight"].Type);
        Assert.Equal(61, ((object[])file.Metadata["tokenizer.ggml.tokens"]).Length);
        Assert.Equal("Ċ", ((object[])file.Metadata["tokenizer.ggml.tokens"])[10]); // "\n" is there for llama.cpp's tokenizer
    }

    [Theory]
    [InlineData(1.0f, 0x3f80)]
    [InlineData(1.00390625f, 0x3f80)]  // halfway, even below: down
    [InlineData(1.01171875f, 0x3f82)]  // halfway, odd below: up
    [InlineData(-2.5f, 0xc020)]
    public void Bf16RoundsToNearestEven(float value, int bits) => Assert.Equal((ushort)bits, GgufWriter.ToBf16(value));

    [Fact]
    public void LlamaCppLoadsTheDefaultModelAndPicksMambaGensGreedyTokens()
    {
        var gguf = Convert(DefaultModel, GgufFileType.AllF32);
        var prompt = Program.PromptIds(DefaultModel, 24);
        var llama = LlamaCppRun.Run(gguf, 1, prompt, 15);
        var mambaGen = MambaGenRun.Run(DefaultModel, "f32", 1, prompt, 15);
        Assert.Equal(16, llama.Tokens.Count);
        Assert.Equal(mambaGen.Tokens, llama.Tokens);
    }
}
