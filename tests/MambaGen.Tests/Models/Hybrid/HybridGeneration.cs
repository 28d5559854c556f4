using System.Collections.Generic;
using System.Linq;
using MambaGen.Generation;
using MambaGen.Models.Hybrid;

namespace MambaGen.Tests.Models.Hybrid;

/// <summary>Greedy generation of prompts through the engine on a fresh page pool, for the hybrid model tests.</summary>
internal static class HybridGeneration
{
    /// <summary>Each prompt's new tokens, in prompt order; the pool must hold all its blocks free again at the end.</summary>
    /// <param name="stepped">What the engine steps, where not <paramref name="model"/> itself (a wrapper of it).</param>
    public static int[][] Greedy(HybridLanguageModel model, IReadOnlyList<int[]> prompts, int maxTokens, int numBlocks, SchedulerOptions options, out int preemptions,
        ICausalLanguageModel? stepped = null)
    {
        using var cache = model.AllocateCache(numBlocks);
        var engine = new GenerationEngine(stepped ?? model, cache, options);
        var ids = prompts.Select(p => engine.AddRequest(p, SamplingParams.Greedy(maxTokens))).ToArray();
        var outputs = ids.ToDictionary(id => id, _ => new List<int>());
        foreach (var o in engine.Run())
        {
            outputs[o.RequestId].Add(o.Token);
        }

        Assert.Equal(numBlocks, cache.Blocks.NumFreeBlocks);
        preemptions = engine.NumPreemptions;
        return ids.Select(id => outputs[id].ToArray()).ToArray();
    }

    /// <summary>Whether the prompts give the same tokens batched under <paramref name="options"/> as each alone.</summary>
    public static void AssertBatchedEqualsAlone(HybridLanguageModel model, int[][] prompts, int maxTokens, int numBlocks, SchedulerOptions options)
    {
        var together = Greedy(model, prompts, maxTokens, numBlocks, options, out _);
        for (int r = 0; r < prompts.Length; r++)
        {
            Assert.Equal(Greedy(model, new[] { prompts[r] }, maxTokens, numBlocks, new SchedulerOptions(), out _)[0], together[r]);
        }
    }
}
