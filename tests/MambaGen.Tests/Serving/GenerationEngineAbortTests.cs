using System.Linq;
using MambaGen.Cache;
using MambaGen.Generation;
using MambaGen.Tests.Generation;

namespace MambaGen.Tests.Serving;

/// <summary><see cref="GenerationEngine.Abort"/>: the block a caller gives up is free at once, and the others go on.</summary>
public class GenerationEngineAbortTests
{
    [Fact]
    public void Aborting_a_running_and_a_waiting_request_frees_the_block_at_once_and_leaves_the_others_unchanged()
    {
        using var model = TinyLanguageModel.Create("mamba2");
        var prompts = TinyLanguageModel.Prompts(5, 4, 6, 3);
        var alone = TinyLanguageModel.Alone(model, prompts[1], SamplingParams.Greedy(8));
        using var cache = MambaStateCache.Allocate(model.Mixers, 2, model.Device);
        var engine = new GenerationEngine(model, cache);
        engine.AddRequest(prompts[0], SamplingParams.Greedy(1000), "running");
        engine.AddRequest(prompts[1], SamplingParams.Greedy(8), "kept");
        engine.AddRequest(prompts[2], SamplingParams.Greedy(1000), "waiting");
        var kept = engine.Step().Where(o => o.RequestId == "kept").Select(o => o.Token).ToList();
        Assert.Equal(0, cache.Blocks.NumFreeBlocks);

        Assert.True(engine.Abort("running"));
        Assert.Equal(1, cache.Blocks.NumFreeBlocks);
        Assert.True(engine.Abort("waiting"));
        Assert.Equal(1, cache.Blocks.NumFreeBlocks);
        Assert.False(engine.Abort("waiting"));
        Assert.Equal(0, engine.NumWaitingRequests);

        kept.AddRange(engine.Run().Select(o => o.Token));
        Assert.Equal(alone, kept);
        Assert.Equal(2, cache.Blocks.NumFreeBlocks);
        Assert.False(engine.Contains("kept"));
    }
}
