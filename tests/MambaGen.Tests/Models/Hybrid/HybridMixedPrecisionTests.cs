using System.Linq;
using MambaGen.Checkpoints;
using MambaGen.Models;
using MambaGen.Models.Hybrid;
using MambaGen.Tests.Checkpoints;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MambaGen.Tests.Models.Hybrid;

/// <summary>A bf16/f16 hybrid on the CPU, as a Mamba model and llama.cpp run one: half-width matmul weights, the rest fp32.</summary>
public class HybridMixedPrecisionTests
{
    private readonly ITestOutputHelper _output;

    public HybridMixedPrecisionTests(ITestOutputHelper output) => _output = output;

    [Theory]
    [InlineData("lfm2", ScalarType.BFloat16)]
    [InlineData("granite", ScalarType.BFloat16)]
    [InlineData("granite", ScalarType.Float16)]
    [InlineData("granite-moe", ScalarType.BFloat16)]
    public void Only_the_matmul_weights_take_the_half_dtype_and_the_logits_stay_near_transformers(string family, ScalarType dtype)
    {
        string folder = family switch
        {
            "lfm2" => CheckpointFixtures.Lfm2,
            "granite" => CheckpointFixtures.GraniteHybridDense,
            _ => CheckpointFixtures.Folder("dev-granite-hybrid-moe-rope"),
        };
        using var model = HybridLanguageModel.Load(folder, CPU, dtype);

        Assert.Equal(ScalarType.Float32, model.EngineConfig.Model.Dtype);
        Assert.EndsWith($"mixed precision: {dtype.ToString().ToLowerInvariant()} matmul weights, float32 activations and states", model.ExecutionPath);
        int half = 0;
        foreach (var (name, tensor) in model.state_dict())
        {
            // Projections (attention's q/k/v/o, Mamba2's and the short conv's in/out, the MLP's, the MoE's stacked
            // experts) and the embeddings; the MoE's router stays fp32, so the same experts are chosen.
            bool matmul = tensor.dim() == 2 && !name.Contains(".router.") || tensor.dim() == 3 && name.Contains(".block_sparse_moe.");
            half += matmul ? 1 : 0;
            Assert.True(tensor.dtype == (matmul ? dtype : ScalarType.Float32), $"{name} [{string.Join(", ", tensor.shape)}] is {tensor.dtype}");
        }

        Assert.True(half > 4, $"only {half} half-width weights");

        // transformers' fp32 logits within the weights' precision (bf16 keeps 8 bits of mantissa, f16 11); greedy
        // tokens may flip where two logits are that close, so they are not compared.
        using var expected = ExpectedOutputs.Load(folder, model.VocabSize);
        var report = ReferenceCheck.Run(model, expected, tolerance: dtype == ScalarType.BFloat16 ? 0.1 : 0.01);
        _output.WriteLine(report.ToString());
        Assert.True(report.LogitsPass && report.StepLogitsPass, report.ToString());
    }

    [Fact]
    public void A_built_model_made_mixed_keeps_its_weights_rounded_and_its_logits_near_fp32()
    {
        using var model = HybridLanguageModel.Load(CheckpointFixtures.GraniteHybridDense, CPU);
        using var expected = ExpectedOutputs.Load(CheckpointFixtures.GraniteHybridDense, model.VocabSize);
        var before = ReferenceCheck.Run(model, expected);
        var embeddings = model.state_dict().Single(p => p.Key.EndsWith("embed_tokens.weight")).Value.clone();

        model.UseMixedPrecision(ScalarType.BFloat16);

        var rounded = model.state_dict().Single(p => p.Key.EndsWith("embed_tokens.weight")).Value;
        Assert.Equal(ScalarType.BFloat16, rounded.dtype);
        Assert.True(rounded.to(ScalarType.Float32).allclose(embeddings, rtol: 1e-2, atol: 1e-6), "the embeddings' values did not survive the rounding");
        var after = ReferenceCheck.Run(model, expected, tolerance: 0.1);
        _output.WriteLine($"fp32: {before}\nmixed: {after}");
        Assert.True(after.LogitsPass && after.StepLogitsPass && after.MaxLogitDiff > before.MaxLogitDiff, after.ToString());
    }
}
