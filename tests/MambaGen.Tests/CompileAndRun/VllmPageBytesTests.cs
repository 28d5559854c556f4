using MambaGen.Cache;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.CompileAndRun;

/// <summary>Declared layers give vLLM's page sizes (research notes §2.4, computed with vLLM's formulas).</summary>
public class VllmPageBytesTests
{
    private static EngineConfig Bf16(string modelType, int tp = 1, MambaCacheDtype ssm = MambaCacheDtype.Auto) =>
        new(new ModelConfig(modelType, ScalarType.BFloat16), new CacheConfig { MambaSsmCacheDtype = ssm }, new ParallelConfig(tp));

    private static DeclaredMamba2 Mamba2_5120(EngineConfig config) => new("layers.0.mixer", config, 5120, 1, 80, 64, 128, 4);

    [Fact]
    public void Mamba2_5120_bf16_at_tp1_has_a_1342976_byte_page()
    {
        var layer = Mamba2_5120(Bf16("mamba2"));
        var spec = layer.GetKvCacheSpec(layer.Config);

        Assert.Equal(new[] { new long[] { 3, 5376 }, new long[] { 80, 64, 128 } }, spec.Shapes);
        Assert.Equal(new[] { ScalarType.BFloat16, ScalarType.BFloat16 }, spec.Dtypes);
        Assert.Equal(new long[] { 32_256, 1_310_720 }, spec.StateSizesBytes);
        Assert.Equal(1_342_976, spec.PageSizeBytes);
    }

    [Fact]
    public void Mamba2_5120_bf16_at_tp2_extends_one_group_to_two_and_has_a_672256_byte_page()
    {
        var layer = Mamba2_5120(Bf16("mamba2", tp: 2));
        var spec = layer.GetKvCacheSpec(layer.Config);

        Assert.Equal(new[] { new long[] { 3, 2816 }, new long[] { 40, 64, 128 } }, spec.Shapes);
        Assert.Equal(672_256, spec.PageSizeBytes);
    }

    [Fact]
    public void Mamba2_5120_with_an_fp32_ssm_cache_has_a_2653696_byte_page_and_allocates_it()
    {
        var layer = Mamba2_5120(Bf16("mamba2", ssm: MambaCacheDtype.Float32));
        var spec = layer.GetKvCacheSpec(layer.Config);
        Assert.Equal(new[] { ScalarType.BFloat16, ScalarType.Float32 }, spec.Dtypes);
        Assert.Equal(2_653_696, spec.PageSizeBytes);

        using var cache = MambaStateCache.Allocate(new MambaBase[] { layer }, 2, CPU);
        Assert.Equal(2_653_696, cache.BytesPerBlock);
        Assert.Equal(2 * 2_653_696L, cache.Layers[0].Raw.numel());
        Assert.Equal(ScalarType.BFloat16, layer.ConvStateTensor.dtype);
        Assert.Equal(ScalarType.Float32, layer.SsmStateTensor.dtype);
        Assert.Equal(new long[] { 2, 80, 64, 128 }, layer.SsmStateTensor.shape);
    }

    [Fact]
    public void Qwen3_next_gated_deltanet_bf16_has_a_1097728_byte_page()
    {
        var layer = new DeclaredGatedDeltaNet("layers.0.linear_attn", Bf16("qwen3_next"));
        var spec = layer.GetKvCacheSpec(layer.Config);

        Assert.Equal(new[] { new long[] { 3, 8192 }, new long[] { 32, 128, 128 } }, spec.Shapes);
        Assert.Equal(new long[] { 49_152, 1_048_576 }, spec.StateSizesBytes);
        Assert.Equal(1_097_728, spec.PageSizeBytes);
    }

    [Fact]
    public void Mamba1_1536_bf16_has_a_58368_byte_page()
    {
        var layer = new DeclaredMamba1("layers.0.mixer", Bf16("mamba"), 1536, 16, 4);
        var spec = layer.GetKvCacheSpec(layer.Config);

        Assert.Equal(new[] { new long[] { 3, 1536 }, new long[] { 1536, 16 } }, spec.Shapes);
        Assert.Equal(new long[] { 9_216, 49_152 }, spec.StateSizesBytes);
        Assert.Equal(58_368, spec.PageSizeBytes);
    }

    [Fact]
    public void Short_conv_ignores_the_ssm_cache_dtype_and_has_one_bf16_state()
    {
        // LFM2-1.2B: hidden 2048, conv_L_cache 3.
        var layer = new DeclaredShortConv("layers.0.conv", Bf16("lfm2", ssm: MambaCacheDtype.Float32), 2048, 3);
        var spec = layer.GetKvCacheSpec(layer.Config);

        Assert.Equal(new[] { new long[] { 2, 2048 } }, spec.Shapes);
        Assert.Equal(new[] { ScalarType.BFloat16 }, spec.Dtypes);
        Assert.Equal(8_192, spec.PageSizeBytes);
    }

    [Fact]
    public void Linear_attention_at_tp8_keeps_eight_heads_of_a_square_state()
    {
        // MiniMax-Text-01: 64 heads of 128.
        var layer = new DeclaredLinearAttention("layers.0.self_attn", Bf16("minimax_text_01", tp: 8), 64, 128);
        var spec = layer.GetKvCacheSpec(layer.Config);

        Assert.Equal(new[] { new long[] { 8, 128, 128 } }, spec.Shapes);
        Assert.Equal(262_144, spec.PageSizeBytes);
    }
}
