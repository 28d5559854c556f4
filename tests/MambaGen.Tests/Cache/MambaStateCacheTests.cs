using System;
using System.Linq;
using MambaGen.Cache;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Cache;

public class MambaStateCacheTests
{
    private const long ConvBytes = 4 * 3 * 2;
    private const long SsmBytes = 2 * 5 * 4;

    [Fact]
    public void Writing_ssm_state_of_block_b_changes_exactly_the_bytes_after_the_conv_state_in_page_b()
    {
        const long page = 96; // 64 bytes of states, 32 of padding
        const int numBlocks = 3, b = 1;
        var layer = HandWrittenStateLayer.ConvThenSsm("layers.0.mixer", page);
        using var cache = MambaStateCache.Allocate(new MambaBase[] { layer }, numBlocks, CPU);
        var raw = cache.Layers[0].Raw;
        Assert.Equal(numBlocks * page, raw.numel());

        using (torch.NewDisposeScope())
        {
            layer.KvCache[1][b].copy_(torch.arange(10, dtype: ScalarType.Float32).reshape(2, 5).add(1));
        }

        var bytes = raw.data<sbyte>().ToArray().Select(v => (byte)v).ToArray();
        long start = b * page + ConvBytes;
        for (long i = 0; i < bytes.Length; i++)
        {
            if (i < start || i >= start + SsmBytes)
            {
                Assert.True(bytes[i] == 0, $"byte {i} outside block {b}'s SSM state changed");
            }
        }

        for (int k = 0; k < 10; k++)
        {
            Assert.Equal(BitConverter.GetBytes(k + 1f), bytes.Skip((int)start + 4 * k).Take(4).ToArray());
        }
    }

    [Fact]
    public void Writing_bf16_conv_state_of_block_b_changes_exactly_the_head_of_page_b()
    {
        const long page = 96;
        const int numBlocks = 3, b = 2;
        var layer = HandWrittenStateLayer.ConvThenSsm("layers.0.mixer", page);
        using var cache = MambaStateCache.Allocate(new MambaBase[] { layer }, numBlocks, CPU);

        using (torch.NewDisposeScope())
        {
            layer.KvCache[0][b].copy_(torch.arange(12, dtype: ScalarType.Float32).reshape(4, 3).add(1).to(ScalarType.BFloat16));
        }

        var bytes = cache.Layers[0].Raw.data<sbyte>().ToArray().Select(v => (byte)v).ToArray();
        long start = b * page;
        for (long i = 0; i < bytes.Length; i++)
        {
            if (i < start || i >= start + ConvBytes)
            {
                Assert.True(bytes[i] == 0, $"byte {i} outside block {b}'s conv state changed");
            }
        }

        for (int k = 0; k < 12; k++)
        {
            // bf16 is the upper half of the fp32 bit pattern; small integers are exact in it.
            var fp32 = BitConverter.GetBytes(k + 1f);
            Assert.Equal(new[] { fp32[2], fp32[3] }, bytes.Skip((int)start + 2 * k).Take(2).ToArray());
        }
    }

    [Fact]
    public void State_views_stride_one_page_per_block_and_start_at_their_byte_offset()
    {
        var layer = HandWrittenStateLayer.ConvThenSsm("layers.0.mixer", 96);
        using var cache = MambaStateCache.Allocate(new MambaBase[] { layer }, 3, CPU);
        var conv = cache.Layers[0].States[0];
        var ssm = cache.Layers[0].States[1];
        Assert.Equal(new long[] { 3, 4, 3 }, conv.shape);
        Assert.Equal(new long[] { 96 / 2, 3, 1 }, conv.stride());
        Assert.Equal(0, conv.storage_offset());
        Assert.Equal(new long[] { 3, 2, 5 }, ssm.shape);
        Assert.Equal(new long[] { 96 / 4, 5, 1 }, ssm.stride());
        Assert.Equal(ConvBytes / 4, ssm.storage_offset());
        Assert.Equal(ScalarType.BFloat16, conv.dtype);
        Assert.Equal(ScalarType.Float32, ssm.dtype);
    }

    [Fact]
    public void Allocation_binds_every_layer_to_its_own_zeroed_buffer()
    {
        var a = HandWrittenStateLayer.ConvThenSsm("layers.0.mixer");
        var b = HandWrittenStateLayer.ConvThenSsm("layers.1.mixer");
        using var cache = MambaStateCache.Allocate(new MambaBase[] { a, b }, 4, CPU);
        Assert.True(a.IsKvCacheBound && b.IsKvCacheBound);
        Assert.Equal(4, a.KvCache[0].shape[0]);
        Assert.Equal(0, a.KvCache[1].abs().sum().item<float>());

        a.KvCache[1].fill_(3f);
        Assert.Equal(0, b.KvCache[1].abs().sum().item<float>());
        Assert.Equal(2 * 64L, cache.BytesPerBlock);
        Assert.Equal(4 * 2 * 64L, cache.TotalBytes);
    }

    [Fact]
    public void Memory_for_n_requests_is_n_pages_per_layer_and_matches_what_a_cache_of_n_blocks_holds()
    {
        var layers = new MambaBase[] { HandWrittenStateLayer.ConvThenSsm("layers.0.mixer", 96), HandWrittenStateLayer.ConvThenSsm("layers.1.mixer") };
        Assert.Equal(5 * (96 + 64L), MambaStateCache.MemoryBytes(layers, 5));
        using var cache = MambaStateCache.Allocate(layers, 5, CPU);
        Assert.Equal(MambaStateCache.MemoryBytes(layers, 5), cache.Layers.Sum(l => l.Raw.numel() * l.Raw.element_size()));
    }

    [Fact]
    public void State_at_a_byte_offset_not_a_multiple_of_its_item_size_is_refused_naming_layer_and_state()
    {
        // bf16 [3, 3] is 18 bytes, so the fp32 state after it would start at byte 18.
        var layer = new HandWrittenStateLayer("layers.3.mixer", HandWrittenStateLayer.EngineConfigWith(),
            new[] { new long[] { 3, 3 }, new long[] { 2, 5 } }, new[] { ScalarType.BFloat16, ScalarType.Float32 });
        var e = Assert.Throws<InvalidOperationException>(() => MambaStateCache.Allocate(new MambaBase[] { layer }, 2, CPU));
        Assert.Contains("layers.3.mixer", e.Message);
        Assert.Contains("state 1", e.Message);
        Assert.Contains("byte 18", e.Message);
        Assert.False(layer.IsKvCacheBound);
    }

    [Fact]
    public void Page_not_a_multiple_of_an_item_size_is_refused()
    {
        var layer = HandWrittenStateLayer.ConvThenSsm("layers.0.mixer", 66);
        var e = Assert.Throws<InvalidOperationException>(() => MambaStateCache.Allocate(new MambaBase[] { layer }, 2, CPU));
        Assert.Contains("layers.0.mixer", e.Message);
        Assert.Contains("page of 66 bytes", e.Message);
    }

    [Fact]
    public void Page_layout_packs_states_back_to_back_then_pads()
    {
        var spec = HandWrittenStateLayer.ConvThenSsm("l", 96).GetKvCacheSpec(HandWrittenStateLayer.EngineConfigWith(96));
        var layout = MambaPageLayout.For(spec, "l");
        Assert.Equal(new long[] { 0, ConvBytes }, layout.StateOffsetsBytes);
        Assert.Equal(new long[] { ConvBytes, SsmBytes }, layout.StateSizesBytes);
        Assert.Equal(96 - ConvBytes - SsmBytes, layout.PaddingBytes);
    }

    [Fact]
    public void Prefix_caching_mode_is_refused_until_the_cache_keeps_more_than_one_block_per_request()
    {
        var layer = new HandWrittenStateLayer("layers.0.mixer", HandWrittenStateLayer.EngineConfigWith(mode: MambaCacheMode.Align),
            new[] { new long[] { 4, 3 } }, new[] { ScalarType.Float32 });
        var e = Assert.Throws<NotSupportedException>(() => MambaStateCache.Allocate(new MambaBase[] { layer }, 2, CPU));
        Assert.Contains("layers.0.mixer", e.Message);
    }

    [Fact]
    public void Two_layers_with_one_name_are_refused()
    {
        var layers = new MambaBase[] { HandWrittenStateLayer.ConvThenSsm("mixer"), HandWrittenStateLayer.ConvThenSsm("mixer") };
        var e = Assert.Throws<ArgumentException>(() => MambaStateCache.Allocate(layers, 2, CPU));
        Assert.Contains("'mixer'", e.Message);
    }
}
