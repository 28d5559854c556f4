using System.Linq;
using System.Threading.Tasks;
using MambaGen.Generation;
using MambaGen.Models.Hybrid;
using MambaGen.Serving;
using MambaGen.Tests.Checkpoints;
using MambaGen.Tests.Models.Hybrid;
using static TorchSharp.torch;

namespace MambaGen.Tests.Serving;

/// <summary>The engine service over a hybrid checkpoint's page pool.</summary>
public class HybridServingTests
{
    [Fact]
    public async Task A_hybrid_checkpoint_serves_the_tokens_the_engine_makes_over_its_page_pool()
    {
        var prompts = new[] { new[] { 1, 2, 3, 4, 5, 6, 7 }, new[] { 8, 9, 10 }, new[] { 11, 12 } };
        int[][] direct;
        using (var model = HybridLanguageModel.Load(CheckpointFixtures.Lfm2, CPU))
        {
            direct = HybridGeneration.Greedy(model, prompts, 8, 32, new SchedulerOptions(), out _);
        }

        using var service = new EngineService(() => ServedModel.Load(HybridCheckpoint.Open(CheckpointFixtures.Lfm2), CPU, ScalarType.Float32, maxConcurrentRequests: 2, maxModelLen: 64));
        // Three requests, room for two at once: the third waits for the first to finish.
        var served = await Task.WhenAll(prompts.Select(p => ServingTestModels.Collect(service.GenerateAsync(p, new GenerationOptions { MaxTokens = 8 }))));
        for (int r = 0; r < prompts.Length; r++)
        {
            Assert.Equal(direct[r], ServingTestModels.Tokens(served[r]));
        }

        // LFM2's fixture: 3 conv groups and 16-token attention blocks, 64 tokens each: 2 x (3 + 4) pages, all free again.
        // The loop publishes its stats after it writes a step's tokens: wait for the last step's.
        Assert.Equal(14, service.Stats.NumBlocks);
        Assert.True(System.Threading.SpinWait.SpinUntil(() => service.Stats.FreeBlocks == 14, 10_000), service.Stats.ToString());
    }
}
