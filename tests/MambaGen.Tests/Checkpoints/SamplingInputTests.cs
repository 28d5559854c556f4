using System;
using MambaGen.Cache;
using MambaGen.Generation;
using MambaGen.Tests.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Checkpoints;

/// <summary>Sampling settings at the edges of float32, and logits that a broken model makes non-finite.</summary>
public class SamplingInputTests
{
    public static TheoryData<string, SamplingParams, string> Invalid => new()
    {
        { nameof(SamplingParams.Temperature), new SamplingParams { Temperature = 1e-50 }, "underflows float32" },
        { nameof(SamplingParams.Temperature), new SamplingParams { Temperature = double.PositiveInfinity }, "positive finite" },
        { nameof(SamplingParams.Temperature), new SamplingParams { Temperature = -1e-50 }, "0 (greedy) or a positive" },
        { nameof(SamplingParams.TopP), new SamplingParams { Temperature = 1, TopP = 1e-50 }, "underflows float32" },
        { nameof(SamplingParams.TopP), new SamplingParams { Temperature = 1, TopP = -0.5 }, "(0, 1]" },
        { nameof(SamplingParams.TopP), new SamplingParams { Temperature = 1, TopP = double.PositiveInfinity }, "(0, 1]" },
        { nameof(SamplingParams.MaxTokens), new SamplingParams { MaxTokens = int.MaxValue }, "more than a sequence can hold" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Sampling_values_that_float32_cannot_hold_are_refused_naming_the_field(string field, SamplingParams sampling, string says)
    {
        using var model = TinyLanguageModel.Create();
        using var cache = MambaStateCache.Allocate(model.Mixers, 1, model.Device);
        var engine = new GenerationEngine(model, cache);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => engine.AddRequest(new[] { 1, 2 }, sampling));
        Assert.Equal(field, e.ParamName);
        Assert.Contains(says, e.Message);
        Assert.False(engine.HasUnfinishedRequests);
    }

    [Theory]
    [InlineData(1e-30, 1.0)]
    [InlineData(1.0, 1e-30)]
    [InlineData(SamplingParams.MinPositive, SamplingParams.MinPositive)]
    public void Tiny_temperature_or_top_p_samples_the_greedy_token_instead_of_failing(double temperature, double topP)
    {
        using var model = TinyLanguageModel.Create();
        var prompt = TinyLanguageModel.Prompts(3, 6)[0];
        var greedy = TinyLanguageModel.Alone(model, prompt, SamplingParams.Greedy(8));
        var sampled = TinyLanguageModel.Alone(model, prompt, new SamplingParams { Temperature = temperature, TopP = topP, MaxTokens = 8, Seed = 1 });
        Assert.Equal(greedy, sampled);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.8)]
    public void Non_finite_logits_are_an_error_naming_the_request_not_garbage_tokens(double temperature)
    {
        using var model = TinyLanguageModel.Create();
        using (torch.no_grad()) model.state_dict()["backbone.layers.1.mixer.out_proj.weight"][0, 0] = torch.tensor(float.NaN);
        using var cache = MambaStateCache.Allocate(model.Mixers, 2, model.Device);
        var engine = new GenerationEngine(model, cache);
        engine.AddRequest(new[] { 1, 2, 3 }, new SamplingParams { Temperature = temperature, MaxTokens = 4, Seed = 1 }, "poisoned");

        var e = Assert.Throws<InvalidOperationException>(() => engine.Step());
        Assert.Contains("request 'poisoned'", e.Message);
        Assert.Contains("NaN or +Inf", e.Message);
    }

    [Theory]
    [InlineData(float.NaN, "1 NaN or +Inf value(s) of 3")]
    [InlineData(float.PositiveInfinity, "1 NaN or +Inf value(s) of 3")]
    public void One_bad_logit_in_a_row_is_caught(float bad, string says)
    {
        using var logits = torch.tensor(new[] { 0f, 1f, 2f, 0f, bad, 1f }, 2, 3);
        var e = Assert.Throws<InvalidOperationException>(() =>
            Sampler.Sample(logits, new[] { SamplingParams.Greedy(1), SamplingParams.Greedy(1) }, new Generator?[] { null, null }, new[] { "a", "b" }));
        Assert.Contains("request 'b'", e.Message);
        Assert.Contains(says, e.Message);
    }

    [Fact]
    public void Masked_minus_infinity_logits_are_not_a_fault_but_an_all_minus_infinity_row_is()
    {
        using var masked = torch.tensor(new[] { float.NegativeInfinity, 1f, 2f }, 1, 3);
        using var generator = new Generator(5, CPU);
        Assert.Equal(new[] { 2 }, Sampler.Sample(masked, new[] { SamplingParams.Greedy(1) }, new Generator?[] { null }));
        Assert.NotEqual(0, Sampler.Sample(masked, new[] { new SamplingParams { Temperature = 1, Seed = 5 } }, new Generator?[] { generator })[0]);

        using var dead = torch.full(1, 3, float.NegativeInfinity);
        var e = Assert.Throws<InvalidOperationException>(() => Sampler.Sample(dead, new[] { SamplingParams.Greedy(1) }, new Generator?[] { null }));
        Assert.Contains("are all -Inf", e.Message);
    }

    [Fact]
    public void Sampler_without_request_ids_names_the_row()
    {
        using var logits = torch.tensor(new[] { 0f, 1f, 2f, float.PositiveInfinity, 0f, 1f }, 2, 3);
        var e = Assert.Throws<InvalidOperationException>(() =>
            Sampler.Sample(logits, new[] { SamplingParams.Greedy(1), SamplingParams.Greedy(1) }, new Generator?[] { null, null }));
        Assert.Contains("row 1", e.Message);
    }
}
