using System;
using MambaGen.Cache;
using MambaGen.Generation;
using MambaGen.Tests.Generation;
using static TorchSharp.torch;

namespace MambaGen.Tests.Cache;

/// <summary>After Dispose no layer keeps a view of the freed buffers, and neither the cache nor its layers run on as if nothing happened.</summary>
public class MambaStateCacheDisposeTests
{
    [Fact]
    public void Dispose_unbinds_every_layer_the_cache_bound()
    {
        var a = HandWrittenStateLayer.ConvThenSsm("layers.0.mixer");
        var b = HandWrittenStateLayer.ConvThenSsm("layers.1.mixer");
        var cache = MambaStateCache.Allocate(new MambaBase[] { a, b }, 2, CPU);

        cache.Dispose();

        Assert.True(cache.IsDisposed);
        Assert.False(a.IsKvCacheBound);
        Assert.False(b.IsKvCacheBound);
        Assert.Empty(a.KvCache);
    }

    [Fact]
    public void Dispose_leaves_a_layer_alone_that_was_bound_to_another_cache_since()
    {
        var layer = HandWrittenStateLayer.ConvThenSsm("layers.0.mixer");
        var first = MambaStateCache.Allocate(new MambaBase[] { layer }, 2, CPU);
        using var second = MambaStateCache.Allocate(new MambaBase[] { layer }, 3, CPU);

        first.Dispose();

        Assert.True(layer.IsKvCacheBound);
        Assert.Equal(3, layer.KvCache[0].shape[0]);
        Assert.Same(second.Layers[0].States[0], layer.KvCache[0]);
    }

    [Fact]
    public void Using_a_disposed_cache_throws_ObjectDisposedException_saying_what_to_do()
    {
        var layer = HandWrittenStateLayer.ConvThenSsm("layers.0.mixer");
        var cache = MambaStateCache.Allocate(new MambaBase[] { layer }, 2, CPU);
        cache.Dispose();
        cache.Dispose();

        var blocks = Assert.Throws<ObjectDisposedException>(() => cache.Blocks);
        Assert.Contains("was disposed", blocks.Message);
        Assert.Contains("MambaStateCache.Allocate", blocks.Message);
        Assert.Throws<ObjectDisposedException>(() => cache.Layers);
        Assert.Throws<ObjectDisposedException>(() => cache.TotalBytes);
        Assert.Throws<ObjectDisposedException>(() => cache.BytesPerBlock);
    }

    [Fact]
    public void An_engine_given_a_disposed_cache_is_refused()
    {
        using var model = TinyLanguageModel.Create("mamba2");
        var cache = MambaStateCache.Allocate(model.Mixers, 1, model.Device);
        cache.Dispose();

        Assert.Throws<ObjectDisposedException>(() => new GenerationEngine(model, cache));
    }

    [Theory]
    [MemberData(nameof(TinyLanguageModel.Kinds), MemberType = typeof(TinyLanguageModel))]
    public void A_layer_whose_cache_was_disposed_fails_its_next_forward_saying_it_has_no_cache(string kind)
    {
        using var model = TinyLanguageModel.Create(kind);
        var cache = MambaStateCache.Allocate(model.Mixers, 1, model.Device);
        var engine = new GenerationEngine(model, cache);
        engine.AddRequest(TinyLanguageModel.Prompts(1, 4)[0], SamplingParams.Greedy(4), "r");
        engine.Step();

        cache.Dispose();

        var e = Assert.Throws<InvalidOperationException>(() => engine.Step());
        Assert.Contains("has no KV cache bound", e.Message);
    }
}
