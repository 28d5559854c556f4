using System;
using MambaGen.Cache;
using MambaGen.Generation;

namespace MambaGen.Tests.Generation;

/// <summary>The engine refuses bad requests when they are added, naming the setting or token at fault.</summary>
public class RequestValidationTests
{
    public static TheoryData<string, SamplingParams> InvalidSampling => new()
    {
        { nameof(SamplingParams.Temperature), new SamplingParams { Temperature = -0.5 } },
        { nameof(SamplingParams.Temperature), new SamplingParams { Temperature = double.NaN } },
        { nameof(SamplingParams.TopP), new SamplingParams { Temperature = 1, TopP = 0 } },
        { nameof(SamplingParams.TopP), new SamplingParams { Temperature = 1, TopP = 1.5 } },
        { nameof(SamplingParams.TopP), new SamplingParams { Temperature = 1, TopP = double.NaN } },
        { nameof(SamplingParams.TopK), new SamplingParams { Temperature = 1, TopK = -1 } },
        { nameof(SamplingParams.MaxTokens), new SamplingParams { MaxTokens = 0 } },
    };

    [Theory]
    [MemberData(nameof(InvalidSampling))]
    public void Invalid_sampling_params_are_refused_naming_the_setting(string setting, SamplingParams sampling)
    {
        using var model = TinyLanguageModel.Create();
        using var cache = MambaStateCache.Allocate(model.Mixers, 1, model.Device);
        var engine = new GenerationEngine(model, cache);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => engine.AddRequest(new[] { 1, 2 }, sampling));
        Assert.Equal(setting, e.ParamName);
        Assert.False(engine.HasUnfinishedRequests);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(TinyLanguageModel.VocabSize)]
    public void Prompt_token_outside_the_vocabulary_is_refused_naming_the_request_and_position(int token)
    {
        using var model = TinyLanguageModel.Create();
        using var cache = MambaStateCache.Allocate(model.Mixers, 1, model.Device);
        var engine = new GenerationEngine(model, cache);

        var e = Assert.Throws<ArgumentException>(() => engine.AddRequest(new[] { 3, token, 4 }, SamplingParams.Greedy(2), "bad"));
        Assert.Contains("'bad'", e.Message);
        Assert.Contains($"prompt token 1 is {token}", e.Message);
        Assert.Contains($"[0, {TinyLanguageModel.VocabSize})", e.Message);
        Assert.False(engine.HasUnfinishedRequests);
    }

    [Fact]
    public void Empty_prompt_is_refused()
    {
        using var model = TinyLanguageModel.Create();
        using var cache = MambaStateCache.Allocate(model.Mixers, 1, model.Device);
        var engine = new GenerationEngine(model, cache);

        var e = Assert.Throws<ArgumentException>(() => engine.AddRequest(Array.Empty<int>(), SamplingParams.Greedy(2), "empty"));
        Assert.Contains("'empty' has an empty prompt", e.Message);
    }

    [Fact]
    public void A_second_request_with_a_running_id_is_refused()
    {
        using var model = TinyLanguageModel.Create();
        using var cache = MambaStateCache.Allocate(model.Mixers, 2, model.Device);
        var engine = new GenerationEngine(model, cache);
        engine.AddRequest(new[] { 1 }, SamplingParams.Greedy(2), "same");

        var e = Assert.Throws<ArgumentException>(() => engine.AddRequest(new[] { 2 }, SamplingParams.Greedy(2), "same"));
        Assert.Contains("'same' is already in the engine", e.Message);
    }
}
