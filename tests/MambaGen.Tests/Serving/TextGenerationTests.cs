using System;
using System.Linq;
using System.Threading.Tasks;
using MambaGen.Cache;
using MambaGen.Generation;
using MambaGen.Models;
using MambaGen.Serving;
using MambaGen.Tests.Generation;
using static MambaGen.Tests.Serving.ServingTestModels;
using static TorchSharp.torch;

namespace MambaGen.Tests.Serving;

/// <summary>The text-level API: prompts, stop tokens and stop strings, on the default model and the tiny ones.</summary>
public class TextGenerationTests
{
    [Fact]
    public async Task Text_prompt_starts_with_bos_and_stops_at_eos_as_mambagen_generate_does()
    {
        const string prompt = "Gets the number of";
        var checkpoint = DefaultCheckpoint();
        var tokenizer = checkpoint.LoadTokenizer();
        int bos = checkpoint.Config.BosTokenId!.Value;
        var ids = tokenizer.Encode(prompt).Prepend(bos).ToArray();
        var sampling = new SamplingParams { MaxTokens = 48, StopTokenIds = checkpoint.Config.EosTokenIds.ToArray() };
        int[] expected;
        using (var model = MambaLanguageModel.Load(checkpoint, CPU))
        {
            expected = TinyLanguageModel.Alone(model, ids, sampling);
        }

        using var service = Default(numBlocks: 2);
        var pieces = await Collect(service.GenerateAsync(prompt, new GenerationOptions { MaxTokens = 48 }));

        Assert.Equal(expected, Tokens(pieces));
        var shown = expected[^1] == checkpoint.Config.EosTokenIds[0] ? expected[..^1] : expected;
        Assert.Equal(tokenizer.Decode(shown), Text(pieces));
        Assert.Equal(sampling.StopTokenIds.Contains(expected[^1]) ? FinishReason.Stop : FinishReason.Length, pieces[^1].Finish);
        Assert.All(pieces, p => Assert.DoesNotContain('\uFFFD', p.Text));
    }

    [Fact]
    public async Task Concurrent_text_prompts_on_the_default_model_get_the_text_each_gets_alone()
    {
        var prompts = new[] { "Gets the number of", "Returns a value", "The café ☃", "Creates a new instance of the" };
        using var service = Default(numBlocks: 2);
        var options = new GenerationOptions { MaxTokens = 24 };
        var alone = new string[prompts.Length];
        for (int i = 0; i < prompts.Length; i++)
        {
            alone[i] = Text(await Collect(service.GenerateAsync(prompts[i], options)));
        }

        var together = await Task.WhenAll(prompts.Select(p => Task.Run(() => Collect(service.GenerateAsync(p, options)))));

        Assert.Equal(alone, together.Select(Text).ToArray());
        Assert.Equal(2, service.Stats.FreeBlocks);
    }

    [Fact]
    public async Task Stop_string_split_across_tokens_ends_generation_and_is_not_emitted()
    {
        using var model = TinyLanguageModel.Create("mamba2");
        var prompt = new[] { 3, 1, 4, 1, 5 };
        var alone = TinyLanguageModel.Alone(model, prompt, SamplingParams.Greedy(30));
        string full = new CharTokenizer().Decode(alone);
        string stop = full.Substring(6, 3); // three tokens, one character each
        int at = full.IndexOf(stop, StringComparison.Ordinal);

        using var service = Tiny(model, numBlocks: 1);
        var pieces = await Collect(service.GenerateAsync(prompt, new GenerationOptions { MaxTokens = 30, StopStrings = new[] { "never there ~", stop } }));

        Assert.Equal(full[..at], Text(pieces));
        Assert.Equal(alone[..(at + stop.Length)], Tokens(pieces));
        Assert.Equal(FinishReason.Stop, pieces[^1].Finish);
        Assert.Equal(1, service.Stats.FreeBlocks);
        Assert.Equal(0, service.HeldRequests);
    }

    [Fact]
    public async Task Stop_token_ids_end_the_request_without_their_text_and_ignore_eos_drops_the_models_eos()
    {
        using var model = TinyLanguageModel.Create("mamba1");
        var prompt = new[] { 7, 8 };
        var alone = TinyLanguageModel.Alone(model, prompt, SamplingParams.Greedy(20));
        int stopAt = 4;
        while (alone[..stopAt].Contains(alone[stopAt]))
        {
            stopAt++;
        }

        // The model's eos is the stop token: the default stops there; IgnoreEos runs on to MaxTokens.
        using var service = Tiny(model, numBlocks: 1, eos: new[] { alone[stopAt] });
        var stopped = await Collect(service.GenerateAsync(prompt, new GenerationOptions { MaxTokens = 20 }));
        var ignored = await Collect(service.GenerateAsync(prompt, new GenerationOptions { MaxTokens = 20, IgnoreEos = true }));
        var byOption = await Collect(service.GenerateAsync(prompt, new GenerationOptions { MaxTokens = 20, IgnoreEos = true, StopTokenIds = new[] { alone[stopAt] } }));

        Assert.Equal(alone[..(stopAt + 1)], Tokens(stopped));
        Assert.Equal(new CharTokenizer().Decode(alone[..stopAt]), Text(stopped));
        Assert.Equal(FinishReason.Stop, stopped[^1].Finish);
        Assert.Equal(alone, Tokens(ignored));
        Assert.Equal(FinishReason.Length, ignored[^1].Finish);
        Assert.Equal(Tokens(stopped), Tokens(byOption));
    }

    [Fact]
    public async Task Seeded_sampling_repeats_through_the_service()
    {
        using var model = TinyLanguageModel.Create("mamba2");
        using var service = Tiny(model, numBlocks: 2);
        var options = new GenerationOptions { MaxTokens = 16, Temperature = 0.8, TopP = 0.9, Seed = 42 };

        var runs = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => Collect(service.GenerateAsync(new[] { 2, 9 }, options)))));

        Assert.Equal(Tokens(runs[0]), Tokens(runs[1]));
        Assert.Equal(Tokens(runs[0]), Tokens(runs[2]));
    }

    [Fact]
    public void Bad_arguments_are_refused_when_generate_is_called_naming_what_is_wrong()
    {
        using var model = TinyLanguageModel.Create("mamba2");
        using var service = Tiny(model, numBlocks: 1);

        Assert.Contains("outside the vocabulary", Assert.Throws<ArgumentException>(() => service.GenerateAsync(new[] { 1, TinyLanguageModel.VocabSize })).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => service.GenerateAsync(Array.Empty<int>()));
        Assert.Equal("Temperature", Assert.Throws<ArgumentOutOfRangeException>(() => service.GenerateAsync(new[] { 1 }, new GenerationOptions { Temperature = -1 })).ParamName);
        Assert.Throws<ArgumentException>(() => service.GenerateAsync(new[] { 1 }, new GenerationOptions { StopStrings = new[] { "" } }));
        Assert.Equal(0, service.HeldRequests);
    }
}
