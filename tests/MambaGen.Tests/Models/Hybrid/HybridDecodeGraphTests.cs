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

/// <summary>
/// A hybrid model's decode graphs, uncaptured on the CPU: the same static buffers, buckets, padding rows and metadata
/// computed from the buffer as on CUDA, with each replay run eagerly (the capture itself needs a GPU).
/// </summary>
public class HybridDecodeGraphTests
{
    public static TheoryData<string> Fixtures => new()
    {
        "dev-lfm2", "dev-lfm2-attn", "dev-granite-hybrid-dense", "dev-granite-hybrid-dense-rope", "dev-nemotron-h", "dev-falcon-h1",
    };

    // Three prompts: a batch bucket of 4 with a padding row, which points at slot 0 of block 0, the first request's
    // first block (so a padding row that wrote there would change its tokens); lengths that cross attention blocks.
    private static int[][] Prompts(int vocab) =>
        new[] { 5, 23, 40 }.Select((n, r) => Enumerable.Range(0, n).Select(i => (i * 11 + r * 17 + 3) % vocab).ToArray()).ToArray();

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Decode_steps_through_the_graph_buffers_give_the_logits_of_the_eager_steps(string fixture)
    {
        var models = new[] { HybridLanguageModel.Load(CheckpointFixtures.Folder(fixture), CPU), HybridLanguageModel.Load(CheckpointFixtures.Folder(fixture), CPU) };
        models[1].UncapturedDecodeGraphs = true;
        try
        {
            var caches = models.Select(m => m.AllocateCache(64)).ToArray();
            var prompts = Prompts(models[0].VocabSize);
            var names = prompts.Select((_, r) => $"r{r}").ToArray();
            var next = new long[prompts.Length];
            for (int m = 0; m < 2; m++)
            {
                for (int r = 0; r < prompts.Length; r++)
                {
                    Assert.True(caches[m].Blocks.TryGrow(names[r], prompts[r].Length));
                    var step = caches[m].Blocks.Describe(new[] { (names[r], 0, prompts[r].Length) });
                    using var logits = models[m].Forward(torch.tensor(prompts[r].Select(t => (long)t).ToArray()), step);
                    next[r] = logits[0].argmax().item<long>();
                }
            }

            // Two attention blocks more than the longest prompt holds, so the width bucket grows during the run.
            int steps = 2 * models[0].PlanCache().AttentionBlockSize + 8;
            for (int s = 0; s < steps; s++)
            {
                var outputs = new Tensor[2];
                for (int m = 0; m < 2; m++)
                {
                    var rows = names.Select((n, r) => (n, prompts[r].Length + s, 1)).ToArray();
                    foreach (var (n, computed, _) in rows)
                    {
                        Assert.True(caches[m].Blocks.TryGrow(n, computed + 1));
                    }

                    outputs[m] = models[m].Forward(torch.tensor(next), caches[m].Blocks.Describe(rows));
                }

                float diff = (outputs[0] - outputs[1]).abs().max().item<float>();
                Assert.True(diff <= 1e-6f, $"decode step {s}: the graph buffers' logits differ from the eager step's by {diff}");
                next = outputs[0].argmax(1).data<long>().ToArray();
                foreach (var o in outputs)
                {
                    o.Dispose();
                }
            }

            Assert.Null(models[1].DecodeGraphsOff);
            Assert.True(models[1].DecodeGraphBuckets >= 2, $"{models[1].DecodeGraphBuckets} buckets: the width should have grown");
            foreach (var c in caches)
            {
                c.Dispose();
            }
        }
        finally
        {
            foreach (var m in models)
            {
                m.Dispose();
            }
        }
    }

    [Fact]
    public void A_decode_step_with_a_block_the_cache_lacks_is_refused_naming_the_block_not_run_through_the_graph_buffers()
    {
        using var model = HybridLanguageModel.Load(CheckpointFixtures.Lfm2, CPU);
        model.UncapturedDecodeGraphs = true;
        using var cache = model.AllocateCache(8);
        Assert.True(cache.Blocks.TryGrow("r", 4));
        var good = cache.Blocks.Describe(new[] { ("r", 3, 1) });
        // The same decode with its attention table pointing past the pool's 8 blocks.
        var tables = good.GroupBlockTables!.Select((t, g) => (IReadOnlyList<int[]>)(model.CacheLayout!.Groups[g].IsAttention ? new[] { new[] { 99 } } : t)).ToArray();
        var bad = new CommonAttentionMetadata(good.Requests, tables);
        var e = Assert.Throws<ArgumentException>(() => model.Forward(torch.tensor(new long[] { 5 }), bad));
        Assert.Contains("block 99", e.Message);
        Assert.Contains("8 blocks", e.Message);
        Assert.Equal(0, model.DecodeGraphBuckets);
    }

    [Fact]
    public void A_model_with_a_mixture_of_experts_decodes_eagerly_and_says_why()
    {
        using var model = HybridLanguageModel.Load(CheckpointFixtures.Folder("dev-granite-hybrid-moe-rope"), CPU);
        model.UncapturedDecodeGraphs = true;
        var tokens = HybridGeneration.Greedy(model, new[] { new[] { 1, 2, 3 } }, 4, 16, new SchedulerOptions(), out _);
        Assert.Equal(4, tokens[0].Length);
        Assert.Contains("mixture of experts", model.DecodeGraphsOff);
        Assert.Equal(0, model.DecodeGraphBuckets);
    }
}
