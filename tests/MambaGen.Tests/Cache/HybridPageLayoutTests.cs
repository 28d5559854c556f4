using System;
using System.Linq;
using MambaGen.Attention;
using MambaGen.Cache;
using static TorchSharp.torch;

namespace MambaGen.Tests.Cache;

/// <summary>vLLM's hybrid page arithmetic and grouping, and the block pool every group draws from.</summary>
public class HybridPageLayoutTests
{
    /// <summary>A Mamba2 state as dev-granite-hybrid-dense's: conv [3, 160] and SSM [8, 16, 16], fp32: 1,920 + 8,192 bytes.</summary>
    private static MambaSpec GraniteMamba => new(new[] { new long[] { 3, 160 }, new long[] { 8, 16, 16 } }, new[] { ScalarType.Float32, ScalarType.Float32 }, 256);

    private static AttentionSpec TwoKvHeads => new(1, 2, 16, ScalarType.Float32);

    [Fact]
    public void The_attention_block_grows_until_a_page_holds_the_mamba_state_and_mamba_pages_are_padded_to_it()
    {
        var layout = HybridPageLayout.Plan(new[] { ("m0", GraniteMamba), ("m2", GraniteMamba) }, new[] { ("a1", TwoKvHeads) });
        // 256 bytes of K and V a token; 16 · ceil(10,112 / (16 · 256)) = 48 tokens; 48 · 256 = 12,288 bytes.
        Assert.Equal(48, layout.AttentionBlockSize);
        Assert.Equal(12288, layout.PageSizeBytes);
        Assert.Equal(10112, layout.MambaPageBytes);
        var vllm = HybridPageAlignment.Compute(10112, 2, 16, ScalarType.Float32);
        Assert.Equal((vllm.AttentionBlockSize, vllm.AttentionPageBytes), (layout.AttentionBlockSize, layout.PageSizeBytes));
        Assert.All(layout.Groups.Where(g => !g.IsAttention), g => Assert.Equal(12288, g.Mamba!.PageSizeBytes));
        Assert.Equal(48, layout.Groups.Single(g => g.IsAttention).Attention!.BlockSize);
    }

    [Fact]
    public void A_larger_block_size_asked_for_is_kept_and_a_smaller_one_raised()
    {
        var m = new[] { ("m", GraniteMamba) };
        var a = new[] { ("a", TwoKvHeads) };
        Assert.Equal(64, HybridPageLayout.Plan(m, a, userBlockSize: 64).AttentionBlockSize);
        Assert.Equal(48, HybridPageLayout.Plan(m, a, userBlockSize: 16).AttentionBlockSize);
    }

    [Fact]
    public void Layers_group_by_spec_in_groups_of_the_smallest_types_count_taking_every_nth_layer()
    {
        var conv = new MambaSpec(new[] { new long[] { 2, 64 } }, new[] { ScalarType.Float32 }, 256, mambaType: "short_conv");
        var layout = HybridPageLayout.Plan(
            Enumerable.Range(0, 10).Select(i => ($"conv{i}", conv)).ToArray(),
            Enumerable.Range(0, 6).Select(i => ($"attn{i}", TwoKvHeads)).ToArray());
        // 10 convs and 6 attention layers: groups of 6 (10 > 1.25 · 6), convs split as layers[i::2].
        Assert.Equal(6, layout.GroupSize);
        Assert.Equal(3, layout.Groups.Count);
        Assert.Equal(new[] { "conv0", "conv2", "conv4", "conv6", "conv8" }, layout.Groups[0].LayerNames);
        Assert.Equal(new[] { "conv1", "conv3", "conv5", "conv7", "conv9" }, layout.Groups[1].LayerNames);
        Assert.True(layout.Groups[2].IsAttention);
        Assert.Equal((1, 4), layout.PlaceOf("conv9"));
        Assert.Equal(6 * layout.PageSizeBytes, layout.BytesPerBlock);
        // Two mamba groups hold a block each; 33 tokens in 16-token blocks take 3.
        Assert.Equal(16, layout.AttentionBlockSize);
        Assert.Equal(5, layout.BlocksFor(33));
    }

    [Fact]
    public void Counts_within_a_quarter_of_each_other_share_the_largest_group_size()
    {
        var conv = new MambaSpec(new[] { new long[] { 2, 64 } }, new[] { ScalarType.Float32 }, 256, mambaType: "short_conv");
        var layout = HybridPageLayout.Plan(
            Enumerable.Range(0, 6).Select(i => ($"conv{i}", conv)).ToArray(),
            Enumerable.Range(0, 5).Select(i => ($"attn{i}", TwoKvHeads)).ToArray());
        // 6 < 1.25 · 5: one group of each type, six raw buffers (vLLM pads the attention group with an empty place).
        Assert.Equal(6, layout.GroupSize);
        Assert.Equal(2, layout.Groups.Count);
    }

    [Fact]
    public void Attention_layers_of_different_shapes_are_refused_naming_them()
    {
        var e = Assert.Throws<NotSupportedException>(() => HybridPageLayout.Plan(Array.Empty<(string, MambaSpec)>(),
            new[] { ("a0", TwoKvHeads), ("a1", new AttentionSpec(1, 4, 16, ScalarType.Float32)) }));
        Assert.Contains("'a1': 4x16", e.Message);
    }

    [Fact]
    public void The_pool_grows_a_request_all_or_nothing_and_takes_everything_back()
    {
        var layout = HybridPageLayout.Plan(new[] { ("m0", GraniteMamba), ("m2", GraniteMamba) }, new[] { ("a1", TwoKvHeads) });
        var pool = new HybridBlockPool(layout, 6);
        // Two mamba groups and one 48-token attention group: 4 blocks hold 96 tokens at most (6 - 2 = 4 blocks).
        Assert.Equal(4 * 48, pool.MaxTokensPerRequest);
        Assert.True(pool.TryGrow("a", 10));
        Assert.Equal(3, pool.NumFreeBlocks);
        Assert.Equal(new[] { 0 }, pool.BlocksOf("a", 0));
        Assert.Equal(new[] { 1 }, pool.BlocksOf("a", 1));
        Assert.Equal(new[] { 2 }, pool.BlocksOf("a", 2));
        Assert.True(pool.TryGrow("a", 97));
        Assert.Equal(new[] { 2, 3, 4 }, pool.BlocksOf("a", 2));
        Assert.False(pool.TryGrow("b", 1));
        Assert.False(pool.Holds("b"));
        Assert.Equal(1, pool.NumFreeBlocks);
        pool.Free("a");
        Assert.Equal(6, pool.NumFreeBlocks);
        Assert.Throws<InvalidOperationException>(() => pool.Free("a"));
    }
}
