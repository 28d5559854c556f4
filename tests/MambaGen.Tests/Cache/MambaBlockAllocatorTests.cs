using System;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Cache;
using static TorchSharp.torch;

namespace MambaGen.Tests.Cache;

public class MambaBlockAllocatorTests
{
    [Fact]
    public void Running_requests_get_distinct_blocks()
    {
        var blocks = new MambaBlockAllocator(3);
        int a = blocks.Allocate("a"), b = blocks.Allocate("b"), c = blocks.Allocate("c");
        Assert.Equal(3, new[] { a, b, c }.Distinct().Count());
        Assert.All(new[] { a, b, c }, id => Assert.InRange(id, 0, 2));
        Assert.Equal(0, blocks.NumFreeBlocks);
        Assert.Equal(b, blocks.BlockOf("b"));
    }

    [Fact]
    public void Request_beyond_the_number_of_blocks_is_refused_naming_the_counts()
    {
        var blocks = new MambaBlockAllocator(2);
        blocks.Allocate("a");
        blocks.Allocate("b");
        var e = Assert.Throws<InvalidOperationException>(() => blocks.Allocate("c"));
        Assert.Contains("'c'", e.Message);
        Assert.Contains("all 2 blocks", e.Message);
        Assert.Contains("2 running requests", e.Message);
    }

    [Fact]
    public void Freeing_twice_is_refused_naming_the_request()
    {
        var blocks = new MambaBlockAllocator(2);
        blocks.Allocate("a");
        blocks.Free("a");
        var e = Assert.Throws<InvalidOperationException>(() => blocks.Free("a"));
        Assert.Contains("'a'", e.Message);
        Assert.Equal(2, blocks.NumFreeBlocks);
    }

    [Fact]
    public void Allocating_twice_for_one_request_is_refused()
    {
        var blocks = new MambaBlockAllocator(2);
        blocks.Allocate("a");
        var e = Assert.Throws<InvalidOperationException>(() => blocks.Allocate("a"));
        Assert.Contains("already holds", e.Message);
    }

    [Fact]
    public void Freed_dirty_block_is_reused_and_the_new_request_starts_without_initial_state()
    {
        var layer = HandWrittenStateLayer.ConvThenSsm("layers.0.mixer");
        using var cache = MambaStateCache.Allocate(new MambaBase[] { layer }, 1, CPU);
        int first = cache.Blocks.Allocate("old");
        layer.KvCache[1][first].fill_(7f);
        cache.Blocks.Free("old");

        int reused = cache.Blocks.Allocate("new");
        Assert.Equal(first, reused);
        // Not zeroed on reuse, as in vLLM: the old request's state is still there.
        Assert.Equal(7f, layer.KvCache[1][reused].max().item<float>());

        var common = new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 5, reused, "new") });
        using var metadata = layer.GetAttnBackend().CreateMetadataBuilder(CPU, 8).Build(common);
        Assert.Equal(new[] { reused }, metadata.StateIndicesP);
        Assert.Equal(new[] { false }, metadata.HasInitialStatesP);
        Assert.False(metadata.HasInitialStatesPTensor[0].item<bool>());
    }
}
