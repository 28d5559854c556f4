using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Generation;
using MambaGen.Models.Hybrid;
using MambaGen.Tests.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Models.Hybrid;

/// <summary>The engine over one page pool for a hybrid model's conv, Mamba2 and attention layers.</summary>
public class HybridEngineTests
{
    public static TheoryData<string> Fixtures => new() { "dev-lfm2", "dev-granite-hybrid-dense" };

    private static HybridLanguageModel Load(string fixture) =>
        HybridLanguageModel.Load(fixture == "dev-lfm2" ? CheckpointFixtures.Lfm2 : CheckpointFixtures.GraniteHybridDense, CPU);

    private static int[][] Prompts(int vocab) =>
        Enumerable.Range(0, 4).Select(r => Enumerable.Range(0, 7 + 3 * r).Select(i => (i * 7 + r * 13 + 1) % vocab).ToArray()).ToArray();

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Requests_wait_and_are_preempted_when_the_pool_runs_out_and_still_generate_what_a_roomy_pool_does(string fixture)
    {
        using var model = Load(fixture);
        var prompts = Prompts(model.VocabSize);
        // Long enough to cross an attention block: 16 tokens for LFM2, 48 for Granite.
        int maxTokens = fixture == "dev-lfm2" ? 20 : 44;
        var roomy = HybridGeneration.Greedy(model, prompts, maxTokens, 64, new SchedulerOptions(MaxNumBatchedTokens: 16), out int none);
        Assert.Equal(0, none);
        // Room for about two requests at their prompts' length and one at full length: requests wait, and running
        // ones that cannot grow are sent back and recomputed.
        var layout = model.PlanCache();
        int tight = layout.BlocksFor(prompts.Max(p => p.Length) + maxTokens) + layout.BlocksFor(1);
        var together = HybridGeneration.Greedy(model, prompts, maxTokens, tight, new SchedulerOptions(MaxNumBatchedTokens: 16), out int preemptions);
        Assert.True(preemptions > 0, $"{tight} blocks should force a preemption");
        for (int r = 0; r < prompts.Length; r++)
        {
            Assert.Equal(roomy[r], together[r]);
        }
    }

    [Fact]
    public void A_step_writes_only_the_pages_of_the_blocks_its_requests_hold_in_every_shared_buffer()
    {
        using var model = Load("dev-lfm2");
        using var cache = model.AllocateCache(12);
        foreach (var buffer in cache.Buffers)
        {
            buffer.copy_(torch.randint(-100, 100, buffer.shape, dtype: ScalarType.Int8, generator: new Generator(5)));
        }

        var before = cache.Buffers.Select(b => b.clone()).ToArray();
        Assert.True(cache.Blocks.TryGrow("a", 9));
        Assert.True(cache.Blocks.TryGrow("b", 20));
        var step = cache.Blocks.Describe(new[] { ("a", 0, 9), ("b", 0, 20) });
        model.Forward(torch.randint(0, model.VocabSize, new long[] { 29 }, dtype: ScalarType.Int64), step);
        var held = model.CacheLayout!.Groups.SelectMany(g => cache.Blocks.BlocksOf("a", g.Index).Concat(cache.Blocks.BlocksOf("b", g.Index))).ToHashSet();
        for (int j = 0; j < before.Length; j++)
        {
            var changed = cache.Buffers[j].ne(before[j]).view(12, -1).any(1);
            var changedBlocks = Enumerable.Range(0, 12).Where(b => changed[b].item<bool>()).ToArray();
            Assert.All(changedBlocks, b => Assert.Contains(b, held));
            Assert.NotEmpty(changedBlocks);
        }
    }

    [Fact]
    public void A_request_the_whole_pool_cannot_hold_is_refused_naming_the_limit()
    {
        using var model = Load("dev-lfm2");
        using var cache = model.AllocateCache(5);
        var engine = new GenerationEngine(model, cache);
        // Three conv groups take a block each; two 16-token attention blocks hold 32 tokens.
        var e = Assert.Throws<ArgumentException>(() => engine.AddRequest(Enumerable.Repeat(1, 20).ToArray(), SamplingParams.Greedy(13), "long"));
        Assert.Contains("'long'", e.Message);
        Assert.Contains("at most 32 tokens", e.Message);
        engine.AddRequest(Enumerable.Repeat(1, 20).ToArray(), SamplingParams.Greedy(12), "fits");
        Assert.Equal(12, engine.Run().Count());
        Assert.Equal(5, cache.Blocks.NumFreeBlocks);
    }

    [Fact]
    public void A_request_beyond_max_position_embeddings_is_refused_naming_the_key()
    {
        using var model = Load("dev-granite-hybrid-dense");
        using var cache = model.AllocateCache(64);
        var engine = new GenerationEngine(model, cache);
        var e = Assert.Throws<ArgumentException>(() => engine.AddRequest(new[] { 1, 2, 3 }, SamplingParams.Greedy(254), "r"));
        Assert.Contains("max_position_embeddings", e.Message);
        Assert.Contains("257 tokens", e.Message);
    }

    [Fact]
    public void A_step_without_a_cache_or_without_block_tables_is_a_clear_error()
    {
        using var model = Load("dev-lfm2");
        var step = new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 2, 0, "r") });
        var ids = torch.tensor(new long[] { 1, 2 });
        Assert.Contains("AllocateCache", Assert.Throws<InvalidOperationException>(() => model.Forward(ids, step)).Message);
        using var cache = model.AllocateCache(8);
        Assert.Contains("GroupBlockTables", Assert.Throws<ArgumentException>(() => model.Forward(ids, step)).Message);
    }
}
