using System;
using MambaGen.Backends;
using MambaGen.Cache;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.CompileAndRun;

/// <summary>What the generator writes for layers declared in this project: type, backend, state order, dtypes, accessors.</summary>
public class GeneratedMembersTests
{
    private static EngineConfig Config(ScalarType model = ScalarType.BFloat16, MambaCacheDtype cache = MambaCacheDtype.Auto, MambaCacheDtype ssm = MambaCacheDtype.Auto) =>
        new(new ModelConfig("mamba2", model), new CacheConfig { MambaCacheDtype = cache, MambaSsmCacheDtype = ssm }, new ParallelConfig());

    [Fact]
    public void Each_vllm_mamba_type_gets_its_name_and_built_in_backend()
    {
        var config = Config();
        var layers = new (MambaBase Layer, string Type, Type Backend, string Name)[]
        {
            (new DeclaredMamba1("m1", config, 8, 4, 4), "mamba1", typeof(Mamba1AttentionBackend), "MAMBA1_ATTN"),
            (new DeclaredMamba2("m2", config, 8, 1, 2, 4, 4, 4), "mamba2", typeof(Mamba2AttentionBackend), "MAMBA2_ATTN"),
            (new DeclaredShortConv("sc", config, 8, 3), "short_conv", typeof(ShortConvAttentionBackend), "SHORT_CONV_ATTN"),
            (new DeclaredLinearAttention("la", config, 2, 4), "linear_attention", typeof(LinearAttentionBackend), "LINEAR_ATTN"),
            (new DeclaredGatedDeltaNet("gdn", config), "gdn_attention", typeof(GdnAttentionBackend), "GDN_ATTN"),
        };

        foreach (var (layer, type, backend, name) in layers)
        {
            Assert.Equal(type, layer.MambaType);
            Assert.IsType(backend, layer.GetAttnBackend());
            Assert.Equal(name, layer.GetAttnBackend().Name);
            Assert.Same(layer.GetAttnBackend(), layer.GetAttnBackend());
            Assert.Equal(type, layer.GetKvCacheSpec(config).MambaType);
        }
    }

    [Fact]
    public void Only_mamba2_builds_chunked_metadata()
    {
        var config = Config();
        var common = new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 5, 0, "r") });
        using var m2 = new DeclaredMamba2("m2", config, 8, 1, 2, 4, 4, 4).GetAttnBackend().CreateMetadataBuilder(CPU, 4).Build(common);
        using var m1 = new DeclaredMamba1("m1", config, 8, 4, 4).GetAttnBackend().CreateMetadataBuilder(CPU, 4).Build(common);

        Assert.Equal(new[] { 0, 4, 5 }, Assert.IsType<Mamba2AttentionMetadata>(m2).CuChunkSeqlenP);
        Assert.IsNotType<Mamba2AttentionMetadata>(m1);
    }

    [Fact]
    public void A_custom_backend_replaces_the_built_in_one_for_a_custom_mamba_type()
    {
        var layer = new DeclaredTokenShift("shift", Config(), 6);

        Assert.Equal("token_shift", layer.MambaType);
        Assert.IsType<TokenShiftBackend>(layer.GetAttnBackend());
        Assert.Same(MambaAttentionBackends.Get<TokenShiftBackend>(), layer.GetAttnBackend());
        Assert.Equal("token_shift", layer.GetKvCacheSpec(layer.Config).MambaType);
    }

    [Fact]
    public void Explicit_order_puts_states_where_it_says_and_fixed_dtypes_ignore_the_cache_config()
    {
        var layer = new DeclaredTokenShift("shift", Config(ScalarType.Float16, ssm: MambaCacheDtype.BFloat16), 6);

        Assert.Equal(new[] { new long[] { 1, 6 }, new long[] { 2, 6 }, new long[] { 6 } }, layer.GetStateShape());
        Assert.Equal(new[] { ScalarType.BFloat16, ScalarType.BFloat16, ScalarType.Float32 }, layer.GetStateDtype());

        // bf16 state 0 (12 B), bf16 state 1 (24 B), fp32 state 2 (24 B).
        var spec = layer.GetKvCacheSpec(layer.Config);
        Assert.Equal(new long[] { 12, 24, 24 }, spec.StateSizesBytes);
        Assert.Equal(60, spec.PageSizeBytes);

        using var cache = MambaStateCache.Allocate(new MambaBase[] { layer }, 3, CPU);
        Assert.Equal(new long[] { 3, 1, 6 }, layer.PreviousTokenTensor.shape);
        Assert.Equal(new long[] { 3, 2, 6 }, layer.MixStateTensor.shape);
        Assert.Equal(new long[] { 3, 6 }, layer.ScaleStateTensor.shape);
        Assert.Equal(ScalarType.Float32, layer.ScaleStateTensor.dtype);
        Assert.Equal(new long[] { 0, 12, 36 }, cache.Layers[0].Layout.StateOffsetsBytes);
    }

    [Theory]
    [InlineData(MambaCacheDtype.Auto, MambaCacheDtype.Auto, ScalarType.BFloat16, ScalarType.BFloat16)]
    [InlineData(MambaCacheDtype.Auto, MambaCacheDtype.Float32, ScalarType.BFloat16, ScalarType.Float32)]
    [InlineData(MambaCacheDtype.Float16, MambaCacheDtype.Auto, ScalarType.Float16, ScalarType.Float16)]
    [InlineData(MambaCacheDtype.Float32, MambaCacheDtype.BFloat16, ScalarType.Float32, ScalarType.BFloat16)]
    public void Auto_dtype_rule_gives_the_first_state_the_conv_dtype_and_later_ones_the_ssm_dtype(MambaCacheDtype cache, MambaCacheDtype ssm, ScalarType conv, ScalarType ssmDtype)
    {
        var config = Config(ScalarType.BFloat16, cache, ssm);
        var expected = new[] { conv, ssmDtype };

        Assert.Equal(expected, new DeclaredMamba2("m2", config, 8, 1, 2, 4, 4, 4).GetStateDtype());
        Assert.Equal(expected, new DeclaredMamba1("m1", config, 8, 4, 4).GetStateDtype());
        Assert.Equal(expected, new DeclaredGatedDeltaNet("gdn", config).GetStateDtype());
        Assert.Equal(MambaStateDtypeCalculator.Mamba2(ScalarType.BFloat16, cache, ssm), new DeclaredMamba2("m2", config, 8, 1, 2, 4, 4, 4).GetStateDtype());
        Assert.Equal(MambaStateDtypeCalculator.ShortConv(ScalarType.BFloat16, cache), new DeclaredShortConv("sc", config, 8, 3).GetStateDtype());
    }

    [Fact]
    public void Named_conv_and_ssm_rules_hold_whatever_the_position()
    {
        var layer = new DeclaredSwappedRules("swapped", Config(ScalarType.BFloat16, ssm: MambaCacheDtype.Float32));

        Assert.Equal(new[] { ScalarType.Float32, ScalarType.BFloat16 }, layer.GetStateDtype());
    }

    [Fact]
    public void Generated_accessor_before_a_cache_is_bound_names_the_layer()
    {
        var layer = new DeclaredMamba2("backbone.layers.7.mixer", Config(), 8, 1, 2, 4, 4, 4);

        var e = Assert.Throws<InvalidOperationException>(() => layer.SsmStateTensor);
        Assert.Contains("backbone.layers.7.mixer", e.Message);
        Assert.Contains("DeclaredMamba2", e.Message);
        Assert.Contains("no KV cache bound", e.Message);
    }

    [Fact]
    public void Generated_accessors_return_the_bound_views_of_the_cache_page()
    {
        using var scope = torch.NewDisposeScope();
        var layer = new DeclaredMamba1("m1", Config(), 8, 4, 4);
        using var cache = MambaStateCache.Allocate(new MambaBase[] { layer }, 2, CPU);

        Assert.Equal(new long[] { 2, 3, 8 }, layer.ConvStateTensor.shape);
        Assert.Equal(new long[] { 2, 8, 4 }, layer.SsmStateTensor.shape);
        layer.SsmStateTensor[1].fill_(1);
        // bf16 1.0 is 0x3F80: both bytes of each of the 8·4 values are non-zero, all in page 1.
        Assert.Equal(8 * 4 * 2, cache.Layers[0].Raw.view(2, -1)[1].ne(0).sum().item<long>());
        Assert.Equal(0, cache.Layers[0].Raw.view(2, -1)[0].ne(0).sum().item<long>());
    }
}
