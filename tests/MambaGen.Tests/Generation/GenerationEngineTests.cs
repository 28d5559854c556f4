using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Cache;
using MambaGen.Generation;
using static TorchSharp.torch;

namespace MambaGen.Tests.Generation;

/// <summary>The engine's continuous batching: what a request generates does not depend on its neighbours or timing.</summary>
public class GenerationEngineTests
{
    [Theory]
    [MemberData(nameof(TinyLanguageModel.Kinds), MemberType = typeof(TinyLanguageModel))]
    public void Request_added_while_others_run_generates_what_it_generates_alone(string kind)
    {
        using var model = TinyLanguageModel.Create(kind);
        var prompts = TinyLanguageModel.Prompts(1, 9, 3, 6);
        var greedy = SamplingParams.Greedy(8);
        var alone = TinyLanguageModel.Alone(model, prompts[2], greedy);

        using var cache = MambaStateCache.Allocate(model.Mixers, 3, model.Device);
        // A small token budget: prompts are prefilled in chunks beside other requests' decodes.
        var engine = new GenerationEngine(model, cache, new SchedulerOptions(MaxNumBatchedTokens: 5));
        var outputs = new Dictionary<string, List<int>>();
        void Collect(IEnumerable<RequestOutput> step)
        {
            foreach (var o in step)
            {
                (outputs.TryGetValue(o.RequestId, out var list) ? list : outputs[o.RequestId] = new List<int>()).Add(o.Token);
            }
        }

        engine.AddRequest(prompts[0], SamplingParams.Greedy(10), "long");
        engine.AddRequest(prompts[1], SamplingParams.Greedy(12), "short");
        Collect(engine.Step());
        Collect(engine.Step());
        Collect(engine.Step());
        engine.AddRequest(prompts[2], greedy, "late");
        Assert.Equal(3, engine.NumRunningRequests + engine.NumWaitingRequests);
        Collect(engine.Run());

        Assert.Equal(alone, outputs["late"]);
        Assert.Equal(TinyLanguageModel.Alone(model, prompts[0], SamplingParams.Greedy(10)), outputs["long"]);
        Assert.Equal(TinyLanguageModel.Alone(model, prompts[1], SamplingParams.Greedy(12)), outputs["short"]);
    }

    [Theory]
    [MemberData(nameof(TinyLanguageModel.Kinds), MemberType = typeof(TinyLanguageModel))]
    public void Greedy_generation_is_the_same_batched_chunked_or_one_at_a_time(string kind)
    {
        using var model = TinyLanguageModel.Create(kind);
        var prompts = TinyLanguageModel.Prompts(2, 7, 1, 12, 4);
        var sampling = prompts.Select(_ => SamplingParams.Greedy(6)).ToArray();

        var batched = TinyLanguageModel.Run(model, 4, prompts, sampling).Select(TinyLanguageModel.Tokens).ToArray();
        var chunked = TinyLanguageModel.Run(model, 4, prompts, sampling, new SchedulerOptions(MaxNumBatchedTokens: 3)).Select(TinyLanguageModel.Tokens).ToArray();
        var oneAtATime = TinyLanguageModel.Run(model, 4, prompts, sampling, new SchedulerOptions(MaxNumSeqs: 1)).Select(TinyLanguageModel.Tokens).ToArray();
        var again = TinyLanguageModel.Run(model, 4, prompts, sampling).Select(TinyLanguageModel.Tokens).ToArray();

        Assert.All(batched, tokens => Assert.Equal(6, tokens.Length));
        Assert.Equal(batched, chunked);
        Assert.Equal(batched, oneAtATime);
        Assert.Equal(batched, again);
        // The prompts differ, so a model that ignored its input would show here.
        Assert.True(batched.Select(t => string.Join(",", t)).Distinct().Count() > 1, "every prompt generated the same tokens");
    }

    [Fact]
    public void Seeded_sampling_repeats_whatever_it_is_batched_with_and_differs_with_another_seed()
    {
        using var model = TinyLanguageModel.Create();
        var prompts = TinyLanguageModel.Prompts(3, 5, 8, 2);
        var seeded = new SamplingParams { Temperature = 1.0, MaxTokens = 12, Seed = 42 };
        var alone = TinyLanguageModel.Alone(model, prompts[0], seeded);

        var batched = TinyLanguageModel.Run(model, 3, prompts, new[]
        {
            seeded,
            new SamplingParams { Temperature = 0.7, TopP = 0.9, MaxTokens = 5, Seed = 7 },
            SamplingParams.Greedy(9),
        }, new SchedulerOptions(MaxNumBatchedTokens: 4));
        var otherSeed = TinyLanguageModel.Alone(model, prompts[0], seeded with { Seed = 43 });

        Assert.Equal(alone, TinyLanguageModel.Tokens(batched[0]));
        Assert.NotEqual(alone, otherSeed);
        Assert.NotEqual(alone, TinyLanguageModel.Alone(model, prompts[0], SamplingParams.Greedy(12)));
    }

    [Fact]
    public void Tiny_top_p_samples_the_argmax()
    {
        using var model = TinyLanguageModel.Create();
        var prompt = TinyLanguageModel.Prompts(4, 6)[0];

        var greedy = TinyLanguageModel.Alone(model, prompt, SamplingParams.Greedy(10));
        var nucleus = TinyLanguageModel.Alone(model, prompt, new SamplingParams { Temperature = 1.5, TopP = 1e-6, MaxTokens = 10, Seed = 5 });

        Assert.Equal(greedy, nucleus);
    }

    [Fact]
    public void Stop_token_ends_the_request_with_it_and_frees_its_block()
    {
        using var model = TinyLanguageModel.Create();
        var prompt = TinyLanguageModel.Prompts(5, 6)[0];
        var free = TinyLanguageModel.Alone(model, prompt, SamplingParams.Greedy(10));
        int stop = free[3];
        int end = Array.IndexOf(free, stop);

        using var cache = MambaStateCache.Allocate(model.Mixers, 2, model.Device);
        var engine = new GenerationEngine(model, cache);
        var id = engine.AddRequest(prompt, SamplingParams.Greedy(10) with { StopTokenIds = new[] { stop } });
        var other = engine.AddRequest(TinyLanguageModel.Prompts(6, 3)[0], SamplingParams.Greedy(30));
        var outputs = new List<RequestOutput>();
        while (outputs.Count == 0 || !outputs[^1].Finished)
        {
            outputs.AddRange(engine.Step().Where(o => o.RequestId == id));
            Assert.True(engine.HasUnfinishedRequests);
        }

        Assert.Equal(free.Take(end + 1), TinyLanguageModel.Tokens(outputs));
        Assert.Equal(FinishReason.Stop, outputs[^1].Finish);
        Assert.All(outputs.Take(outputs.Count - 1), o => Assert.Null(o.Finish));
        // The other request still runs: exactly one block is back.
        Assert.Equal(1, cache.Blocks.NumFreeBlocks);
        Assert.False(cache.Blocks.TryGetBlock(id, out _));
        Assert.True(cache.Blocks.TryGetBlock(other, out _));
    }

    [Fact]
    public void Max_tokens_limits_the_output_and_says_so()
    {
        using var model = TinyLanguageModel.Create();
        var outputs = TinyLanguageModel.Run(model, 1, TinyLanguageModel.Prompts(7, 4), new[] { SamplingParams.Greedy(5) })[0];

        Assert.Equal(5, outputs.Length);
        Assert.Equal(FinishReason.Length, outputs[^1].Finish);
        Assert.All(outputs.Take(4), o => Assert.False(o.Finished));
    }

    [Fact]
    public void More_requests_than_blocks_wait_and_all_finish_as_they_would_alone()
    {
        using var model = TinyLanguageModel.Create();
        var prompts = TinyLanguageModel.Prompts(8, 3, 7, 1, 5, 9);
        var sampling = prompts.Select((_, i) => SamplingParams.Greedy(3 + i)).ToArray();

        using var cache = MambaStateCache.Allocate(model.Mixers, 2, model.Device);
        var engine = new GenerationEngine(model, cache);
        var ids = prompts.Select((p, i) => engine.AddRequest(p, sampling[i])).ToArray();
        var outputs = ids.ToDictionary(id => id, _ => new List<int>());
        int steps = 0, mostRunning = 0;
        while (engine.HasUnfinishedRequests)
        {
            foreach (var o in engine.Step())
            {
                outputs[o.RequestId].Add(o.Token);
            }

            mostRunning = Math.Max(mostRunning, cache.Blocks.NumRunningRequests);
            Assert.True(++steps < 200, "the engine did not finish");
        }

        Assert.Equal(2, mostRunning);
        Assert.Equal(2, cache.Blocks.NumFreeBlocks);
        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(TinyLanguageModel.Alone(model, prompts[i], sampling[i]), outputs[ids[i]]);
        }
    }
}
