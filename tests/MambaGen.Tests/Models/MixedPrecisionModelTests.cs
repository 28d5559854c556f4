using System.IO;
using System.Linq;
using MambaGen.Checkpoints;
using MambaGen.Models;
using MambaGen.Tests.Checkpoints;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MambaGen.Tests.Models;

/// <summary>A bf16/f16 model on the CPU, as llama.cpp runs one: half-width matmul weights, everything else in fp32.</summary>
public class MixedPrecisionModelTests
{
    private readonly ITestOutputHelper _output;

    public MixedPrecisionModelTests(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData("mamba1", ScalarType.BFloat16)]
    [InlineData("mamba2", ScalarType.BFloat16)]
    [InlineData("mamba2", ScalarType.Float16)]
    public void Only_the_matmul_weights_take_the_half_dtype_and_the_logits_stay_near_transformers(string kind, ScalarType dtype)
    {
        string folder = kind == "mamba1" ? CheckpointFixtures.Mamba1 : CheckpointFixtures.Mamba2;
        var checkpoint = HuggingFaceCheckpoint.Open(folder);
        Assert.True(MambaLanguageModel.UsesMixedPrecision(CPU, dtype));
        using var model = MambaLanguageModel.Load(checkpoint, CPU, dtype);

        Assert.Equal(ScalarType.Float32, model.EngineConfig.Model.Dtype);
        Assert.EndsWith($"mixed precision: {dtype.ToString().ToLowerInvariant()} matmul weights, float32 activations and states", model.ExecutionPath);
        foreach (var (name, tensor) in model.state_dict())
        {
            bool matmul = name.EndsWith("proj.weight") || name == "backbone.embeddings.weight";
            Assert.True(tensor.dtype == (matmul ? dtype : ScalarType.Float32), $"{name} is {tensor.dtype}");
        }

        Assert.All(model.Mixers, m => Assert.All(m.GetKvCacheSpec(model.EngineConfig).Dtypes, d => Assert.Equal(ScalarType.Float32, d)));

        // The fixtures' transformers logits (fp32), within a tolerance of the weights' precision (bf16 keeps 8 bits of
        // mantissa, f16 11); greedy tokens may flip where two logits are that close, so they are not compared here.
        using var expected = ExpectedOutputs.Load(folder, checkpoint.Config.VocabSize);
        var report = ReferenceCheck.Run(model, expected, tolerance: dtype == ScalarType.BFloat16 ? 0.1 : 0.01);
        _output.WriteLine(report.ToString());
        Assert.True(report.LogitsPass && report.StepLogitsPass, report.ToString());
    }

    [Fact]
    public void An_fp32_model_is_not_mixed() => Assert.False(MambaLanguageModel.UsesMixedPrecision(CPU, ScalarType.Float32));
}
