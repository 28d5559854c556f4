using System;
using System.Linq;
using static TorchSharp.torch;

namespace MambaGen.Tests.State;

/// <summary>Shapes, dtypes and page bytes against the worked numbers of vLLM's formulas (research §2.4, §3.3).</summary>
public class MambaStateArithmeticTests
{
    private static MambaSpec Spec((long[] Conv, long[] Ssm) shapes, ScalarType[] dtypes, long? padded = null) =>
        new(new[] { shapes.Conv, shapes.Ssm }, dtypes, blockSize: 2048, pageSizePadded: padded);

    [Fact]
    public void Mamba2_bf16_page_is_1342976_bytes_at_tp1()
    {
        var shapes = MambaStateShapeCalculator.Mamba2(1, 5120, 1, 80, 64, 128, 4);
        Assert.Equal(new long[] { 3, 5376 }, shapes.Conv);
        Assert.Equal(new long[] { 80, 64, 128 }, shapes.Ssm);
        var dtypes = MambaStateDtypeCalculator.Mamba2(ScalarType.BFloat16, MambaCacheDtype.Auto, MambaCacheDtype.Auto);
        Assert.Equal(1_342_976, Spec(shapes, dtypes).PageSizeBytes);
    }

    [Fact]
    public void Mamba2_with_fp32_ssm_cache_is_2653696_bytes()
    {
        var shapes = MambaStateShapeCalculator.Mamba2(1, 5120, 1, 80, 64, 128, 4);
        var dtypes = MambaStateDtypeCalculator.Mamba2(ScalarType.BFloat16, MambaCacheDtype.Auto, MambaCacheDtype.Float32);
        Assert.Equal(new[] { ScalarType.BFloat16, ScalarType.Float32 }, dtypes);
        Assert.Equal(2_653_696, Spec(shapes, dtypes).PageSizeBytes);
    }

    [Fact]
    public void Mamba2_at_tp2_replicates_the_single_group_and_halves_to_672256_bytes()
    {
        var shapes = MambaStateShapeCalculator.Mamba2(2, 5120, 1, 80, 64, 128, 4);
        Assert.Equal(new long[] { 3, 2816 }, shapes.Conv);
        Assert.Equal(new long[] { 40, 64, 128 }, shapes.Ssm);
        var dtypes = MambaStateDtypeCalculator.Mamba2(ScalarType.BFloat16, MambaCacheDtype.Auto, MambaCacheDtype.Auto);
        Assert.Equal(672_256, Spec(shapes, dtypes).PageSizeBytes);
    }

    [Fact]
    public void Qwen3Next_gated_delta_net_page_is_1097728_bytes()
    {
        var shapes = MambaStateShapeCalculator.GatedDeltaNet(1, 16, 32, 128, 128, 4);
        Assert.Equal(new long[] { 3, 8192 }, shapes.Conv);
        Assert.Equal(new long[] { 32, 128, 128 }, shapes.Ssm);
        var dtypes = MambaStateDtypeCalculator.GatedDeltaNet(ScalarType.BFloat16, MambaCacheDtype.Auto, MambaCacheDtype.Auto);
        Assert.Equal(1_097_728, Spec(shapes, dtypes).PageSizeBytes);
    }

    [Fact]
    public void Mamba1_bf16_page_is_58368_bytes()
    {
        var shapes = MambaStateShapeCalculator.Mamba1(1, 1536, 16, 4);
        var dtypes = MambaStateDtypeCalculator.Mamba1(ScalarType.BFloat16, MambaCacheDtype.Auto, MambaCacheDtype.Auto);
        Assert.Equal(58_368, Spec(shapes, dtypes).PageSizeBytes);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void Mamba2_page_bytes_split_evenly_over_tp_ranks_when_groups_replicate(int tp)
    {
        var one = MambaStateShapeCalculator.Mamba2(1, 5120, 1, 80, 64, 128, 4);
        var many = MambaStateShapeCalculator.Mamba2(tp, 5120, 1, 80, 64, 128, 4);
        Assert.Equal(80 / tp, many.Ssm[0]);
        Assert.Equal((5120 + 2 * tp * 128) / tp, many.Conv[1]);
        Assert.True(many.Conv[1] * tp >= one.Conv[1]);
    }

    [Fact]
    public void Short_conv_and_linear_attention_keep_one_state()
    {
        Assert.Equal(new long[] { 2, 1024 }, MambaStateShapeCalculator.ShortConv(1, 1024, 3));
        Assert.Equal(new long[] { 8, 128, 128 }, MambaStateShapeCalculator.LinearAttention(64, 8, 128));
        Assert.Single(MambaStateDtypeCalculator.ShortConv(ScalarType.BFloat16, MambaCacheDtype.Float32));
        Assert.Throws<ArgumentException>(() => MambaStateDtypeCalculator.LinearAttention(ScalarType.BFloat16, MambaCacheDtype.Float32));
    }

    [Fact]
    public void Indivisible_heads_name_the_dimension_at_fault()
    {
        var e = Assert.Throws<ArgumentException>(() => MambaStateShapeCalculator.Mamba2(3, 5120, 1, 80, 64, 128, 4));
        Assert.Contains("conv_dim (5888) is not divisible by the tensor-parallel size (3)", e.Message);
        e = Assert.Throws<ArgumentException>(() => MambaStateShapeCalculator.Mamba2(2, 5120, 1, 81, 64, 128, 4));
        Assert.Contains("numHeads (81)", e.Message);
    }

    [Fact]
    public void Padded_page_wins_and_may_not_be_smaller_than_the_states()
    {
        var shapes = MambaStateShapeCalculator.Mamba2(1, 5120, 1, 80, 64, 128, 4);
        var dtypes = MambaStateDtypeCalculator.Mamba2(ScalarType.BFloat16, MambaCacheDtype.Auto, MambaCacheDtype.Auto);
        Assert.Equal(1_376_256, Spec(shapes, dtypes, 1_376_256).PageSizeBytes);
        var e = Assert.Throws<InvalidOperationException>(() => Spec(shapes, dtypes, 1_000_000).PageSizeBytes);
        Assert.Contains("1342976", e.Message);
    }

    [Theory]
    [InlineData(MambaCacheMode.None, 0, 1_342_976L)]
    [InlineData(MambaCacheMode.None, 2, 3 * 1_342_976L)]
    [InlineData(MambaCacheMode.Align, 0, 2 * 1_342_976L)]
    [InlineData(MambaCacheMode.Align, 1, 3 * 1_342_976L)]
    [InlineData(MambaCacheMode.All, 0, 4 * 1_342_976L)]
    public void Max_memory_per_request_follows_the_cache_mode(MambaCacheMode mode, int spec, long expected)
    {
        var shapes = MambaStateShapeCalculator.Mamba2(1, 5120, 1, 80, 64, 128, 4);
        var dtypes = MambaStateDtypeCalculator.Mamba2(ScalarType.BFloat16, MambaCacheDtype.Auto, MambaCacheDtype.Auto);
        var s = new MambaSpec(new[] { shapes.Conv, shapes.Ssm }, dtypes, blockSize: 512, cacheMode: mode, numSpeculativeBlocks: spec);
        var config = new EngineConfig(new ModelConfig("mamba2", ScalarType.BFloat16, MaxModelLen: 2048));
        Assert.Equal(expected, s.MaxMemoryUsageBytes(config));
    }

    [Fact]
    public void Qwen3Next_attention_block_is_544_tokens_with_1_49_percent_padding()
    {
        var a = HybridPageAlignment.Compute(1_097_728, numKvHeadsPerRank: 2, headSize: 256, ScalarType.BFloat16);
        Assert.Equal(544, a.AttentionBlockSize);
        Assert.Equal(1_114_112, a.AttentionPageBytes);
        Assert.Equal(1_114_112, a.MambaPageSizePadded);
        Assert.Equal(1.49, Math.Round(a.PaddingPercent, 2));
    }

    [Fact]
    public void Mamba2_hybrid_with_8_kv_heads_gets_336_token_blocks_and_2_48_percent_padding()
    {
        var a = HybridPageAlignment.Compute(1_342_976, numKvHeadsPerRank: 8, headSize: 128, ScalarType.BFloat16);
        Assert.Equal(336, a.AttentionBlockSize);
        Assert.Equal(2.48, Math.Round(a.PaddingPercent, 2));
    }

    [Fact]
    public void Cache_mode_all_aligns_the_attention_block_to_the_chunk()
    {
        var a = HybridPageAlignment.Compute(1_097_728, 2, 256, ScalarType.BFloat16, MambaCacheMode.All, mambaChunkSize: 64);
        Assert.Equal(0, a.AttentionBlockSize % 64);
        Assert.Equal(a.AttentionBlockSize, a.MambaBlockSize);
        Assert.True(a.AttentionPageBytes >= 1_097_728);
        Assert.Equal(576, a.AttentionBlockSize);
    }
}
