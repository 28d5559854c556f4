using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Cache;
using MambaGen.Generation;
using MambaGen.Models;
using MambaGen.Models.Hybrid;
using MambaGen.Ops;
using MambaGen.Tests.Checkpoints;
using MambaGen.Tests.Models.Hybrid;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MambaGen.Tests.Generation;

/// <summary>
/// Async scheduling: a step of greedy decodes queues the next one from its picks before reading them. The CPU op set
/// picks on the host, so a model here offers pending picks of its own that log when each is read.
/// </summary>
public sealed class AsyncSchedulingTests
{
    private static readonly SchedulerOptions Async = new() { AsyncScheduling = true };

    [Theory]
    [MemberData(nameof(TinyLanguageModel.Kinds), MemberType = typeof(TinyLanguageModel))]
    public void Each_request_gets_the_tokens_and_finish_it_gets_without_it(string kind)
    {
        using var model = TinyLanguageModel.Create(kind);
        var prompts = TinyLanguageModel.Prompts(21, 5, 9, 2, 7);
        var free = TinyLanguageModel.Alone(model, prompts[1], SamplingParams.Greedy(12));
        // One request ends on a stop token in the middle of the run, one at its length early, one late; the last
        // arrives while the others decode (a prefill step, scheduled the ordinary way, between pipelined ones).
        var sampling = new[]
        {
            SamplingParams.Greedy(11),
            SamplingParams.Greedy(12) with { StopTokenIds = new[] { free[4] } },
            SamplingParams.Greedy(3),
            SamplingParams.Greedy(6),
        };

        var expected = Run(model, prompts, sampling, new SchedulerOptions(), log: null);
        var log = new List<string>();
        var actual = Run(model, prompts, sampling, Async, log);

        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var id in expected.Keys)
        {
            Assert.Equal(expected[id], actual[id]);
        }

        Assert.Equal(FinishReason.Stop, actual["r1"][^1].Finish);
        Assert.Contains(log, l => l.StartsWith("forward picks", StringComparison.Ordinal));
    }

    [Fact]
    public void The_next_decode_is_queued_from_the_picks_before_they_are_read()
    {
        using var model = TinyLanguageModel.Create();
        var log = new List<string>();
        var fed = new PickingModel(model, log);
        using var cache = MambaStateCache.Allocate(model.Mixers, 2, model.Device);
        var engine = new GenerationEngine(fed, cache, Async);
        engine.AddRequest(TinyLanguageModel.Prompts(3, 4)[0], SamplingParams.Greedy(4));

        var tokens = new List<int>();
        while (engine.HasUnfinishedRequests)
        {
            tokens.AddRange(engine.Step().Select(o => o.Token));
        }

        // The prompt's step picks 1 and queues step 2 from it before reading 1; so on until step 4, the request's last
        // (its length is known), which queues none.
        Assert.Equal(new[]
        {
            "forward host 4", "pick 1", "forward picks 1", "pick 2", "read 1",
            "forward picks 1", "pick 3", "read 2",
            "forward picks 1", "pick 4", "read 3",
            "read 4",
        }, log);
        Assert.Equal(TinyLanguageModel.Alone(model, TinyLanguageModel.Prompts(3, 4)[0], SamplingParams.Greedy(4)), tokens);
        Assert.Equal(2, cache.Blocks.NumFreeBlocks);
    }

    [Fact]
    public void A_request_aborted_while_its_next_step_is_queued_gets_no_more_tokens_and_frees_its_block()
    {
        using var model = TinyLanguageModel.Create();
        var log = new List<string>();
        using var cache = MambaStateCache.Allocate(model.Mixers, 2, model.Device);
        var engine = new GenerationEngine(new PickingModel(model, log), cache, Async);
        var id = engine.AddRequest(TinyLanguageModel.Prompts(4, 3)[0], SamplingParams.Greedy(20));

        Assert.Single(engine.Step());
        Assert.True(engine.Abort(id));

        // The queued step had no other request: it is dropped unread, and the engine is idle.
        Assert.False(engine.HasUnfinishedRequests);
        Assert.Empty(engine.Step());
        Assert.Equal(2, cache.Blocks.NumFreeBlocks);
        Assert.DoesNotContain("read 2", log);
    }

    [Fact]
    public void Sampled_requests_step_the_ordinary_way()
    {
        using var model = TinyLanguageModel.Create();
        var log = new List<string>();
        var prompts = TinyLanguageModel.Prompts(8, 4, 6);
        var sampling = new[] { SamplingParams.Greedy(5), new SamplingParams { Temperature = 0.8, MaxTokens = 5, Seed = 3 } };

        // Both from the start: a sampled request runs beside the greedy one in every step.
        var expected = TinyLanguageModel.Run(model, 2, prompts, sampling);
        var actual = TinyLanguageModel.Run(new PickingModel(model, log), model.Mixers, 2, prompts, sampling, Async);

        Assert.Equal(TinyLanguageModel.Tokens(expected[0]), TinyLanguageModel.Tokens(actual[0]));
        Assert.Equal(TinyLanguageModel.Tokens(expected[1]), TinyLanguageModel.Tokens(actual[1]));
        Assert.DoesNotContain(log, l => l.StartsWith("pick", StringComparison.Ordinal));
    }

    [Fact]
    public void Picks_the_op_set_declines_now_and_then_are_read_at_once_with_the_same_tokens()
    {
        using var model = TinyLanguageModel.Create("mamba1");
        var log = new List<string>();
        var prompts = TinyLanguageModel.Prompts(9, 3, 8);
        var sampling = new[] { SamplingParams.Greedy(9), SamplingParams.Greedy(7) };

        var expected = TinyLanguageModel.Run(model, 2, prompts, sampling);
        // Every third pick declined: after a queued step (its picks then read at once) and at a step's own start.
        var actual = TinyLanguageModel.Run(new PickingModel(model, log) { DeclineEvery = 3 }, model.Mixers, 2, prompts, sampling, Async);

        Assert.Equal(expected.Select(TinyLanguageModel.Tokens), actual.Select(TinyLanguageModel.Tokens));
        Assert.Contains("declined 3", log);
        Assert.Contains(log, l => l.StartsWith("forward picks", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(64)]
    [InlineData(0)]
    public void A_hybrid_model_whose_attention_blocks_grow_each_step_gets_the_same_tokens(int numBlocks)
    {
        // LFM2 with attention: each queued step first grows every request's attention blocks; 0 blocks is a pool so
        // tight that requests wait and are preempted (the growth for a queued step fails, and the step is ordinary).
        using var model = HybridLanguageModel.Load(CheckpointFixtures.Folder("dev-lfm2-attn"), CPU);
        var prompts = Enumerable.Range(0, 3).Select(r => Enumerable.Range(0, 6 + 5 * r).Select(i => (i * 7 + r * 13 + 1) % model.VocabSize).ToArray()).ToArray();
        const int maxTokens = 20;
        var layout = model.PlanCache();
        int blocks = numBlocks > 0 ? numBlocks : layout.BlocksFor(prompts.Max(p => p.Length) + maxTokens) + layout.BlocksFor(1);
        var options = new SchedulerOptions(MaxNumBatchedTokens: 16);
        var log = new List<string>();

        var expected = HybridGeneration.Greedy(model, prompts, maxTokens, blocks, options, out _);
        var actual = HybridGeneration.Greedy(model, prompts, maxTokens, blocks, options with { AsyncScheduling = true }, out int preemptions,
            new PickingModel(model, log));

        Assert.Equal(expected, actual);
        Assert.Contains(log, l => l.StartsWith("forward picks", StringComparison.Ordinal));
        Assert.True(numBlocks > 0 || preemptions > 0, $"{blocks} blocks should force a preemption");
    }

    [Fact]
    public void The_switch_is_on_unless_turned_off()
    {
        bool turnedOff = Environment.GetEnvironmentVariable(SchedulerOptions.AsyncSchedulingVariable)?.Trim().ToLowerInvariant() is "0" or "false" or "off";
        Assert.Equal(!turnedOff, new SchedulerOptions().AsyncScheduling);
        Assert.False((new SchedulerOptions() with { AsyncScheduling = false }).AsyncScheduling);
    }

    /// <summary>Runs the requests (the last one added after the first two steps) through one engine; outputs by request id r0, r1, ...</summary>
    private static Dictionary<string, RequestOutput[]> Run(MambaLanguageModel model, int[][] prompts, SamplingParams[] sampling, SchedulerOptions options, List<string>? log)
    {
        using var cache = MambaStateCache.Allocate(model.Mixers, prompts.Length, model.Device);
        ICausalLanguageModel stepped = log is null ? model : new PickingModel(model, log);
        var engine = new GenerationEngine(stepped, cache, options);
        var outputs = new Dictionary<string, List<RequestOutput>>();
        for (int i = 0; i < prompts.Length - 1; i++)
        {
            engine.AddRequest(prompts[i], sampling[i], $"r{i}");
        }

        int steps = 0;
        while (engine.HasUnfinishedRequests)
        {
            foreach (var o in engine.Step())
            {
                (outputs.TryGetValue(o.RequestId, out var list) ? list : outputs[o.RequestId] = new List<RequestOutput>()).Add(o);
            }

            if (++steps == 2)
            {
                engine.AddRequest(prompts[^1], sampling[^1], $"r{prompts.Length - 1}");
            }
        }

        Assert.Equal(prompts.Length, cache.Blocks.NumFreeBlocks);
        return outputs.ToDictionary(p => p.Key, p => p.Value.ToArray());
    }

    /// <summary>
    /// The tiny model with greedy picks that stay "on the device" until read: each forward logs where its ids came
    /// from (the host, or the last step's picks), each pick and each read its step's number.
    /// </summary>
    private sealed class PickingModel(ICausalLanguageModel inner, List<string> log) : ICausalLanguageModel, IGreedyOps
    {
        private readonly HashSet<IntPtr> _picks = new();
        private int _steps;

        public int VocabSize => inner.VocabSize;

        public Device Device => inner.Device;

        public IGreedyOps Greedy => this;

        public Tensor Forward(Tensor inputIds, CommonAttentionMetadata step)
        {
            log.Add(_picks.Contains(inputIds.Handle) ? $"forward picks {inputIds.shape[0]}" : $"forward host {inputIds.shape[0]}");
            return inner.Forward(inputIds, step);
        }

        public Tensor? Pick(Tensor logits) =>
            torch.stack(new[] { logits.argmax(-1), logits.amax(-1).isfinite().to(ScalarType.Int64) }, 1);

        /// <summary>Every this many calls PickAsync declines (as an op set out of events would); 0 never.</summary>
        public int DeclineEvery { get; init; }

        public PendingPicks? PickAsync(Tensor logits)
        {
            using var scope = torch.NewDisposeScope();
            int step = ++_steps;
            if (DeclineEvery > 0 && step % DeclineEvery == 0)
            {
                log.Add($"declined {step}");
                return null;
            }

            log.Add($"pick {step}");
            var picks = Pick(logits)!;
            var pending = new PendingPicks(picks.select(1, 0).contiguous(), picks.clone(), () => log.Add($"read {step}"));
            _picks.Add(pending.Tokens.Handle);
            return pending;
        }
    }
}
