using System;
using MambaGen.Layers;
using static TorchSharp.torch;

namespace MambaGen.Tests.CompileAndRun;

/// <summary>vLLM v0.15's rule: mamba layers refuse speculative decoding unless the model type is on its allow list.</summary>
public class SpeculativeDecodingSpecTests
{
    private static EngineConfig Speculative(string modelType, int tokens = 2) =>
        new(new ModelConfig(modelType, ScalarType.BFloat16), new CacheConfig(), new ParallelConfig(), new SpeculativeConfig(tokens));

    [Theory]
    [InlineData("mamba2")]
    [InlineData("mamba")]
    [InlineData("qwen3_5")]
    public void Cache_spec_with_speculative_decoding_is_refused_for_models_off_the_allow_list(string modelType)
    {
        var config = Speculative(modelType);
        var layers = new MambaBase[]
        {
            new Mamba2Mixer("m2", config, new Mamba2MixerOptions { HiddenSize = 8, NumHeads = 4, HeadDim = 4, StateSize = 4 }),
            new Mamba1Mixer("m1", config, new Mamba1MixerOptions { HiddenSize = 8, IntermediateSize = 16, StateSize = 4, TimeStepRank = 2 }),
            new ShortConv("sc", config, 8, 3),
            new DeclaredGatedDeltaNet("gdn", config),
        };

        foreach (var layer in layers)
        {
            var e = Assert.Throws<NotSupportedException>(() => layer.GetKvCacheSpec(config));
            Assert.Equal("Mamba with speculative decoding is not supported yet.", e.Message);
        }
    }

    [Fact]
    public void Qwen3_next_gets_one_speculative_block_per_draft_token()
    {
        var config = Speculative("qwen3_next", tokens: 3);
        var spec = new DeclaredGatedDeltaNet("gdn", config).GetKvCacheSpec(config);

        Assert.Equal(3, spec.NumSpeculativeBlocks);
        Assert.Equal(4 * spec.PageSizeBytes, spec.MaxMemoryUsageBytes(config));
    }

    [Fact]
    public void Without_speculative_decoding_every_model_type_gets_a_spec()
    {
        var config = new EngineConfig(new ModelConfig("mamba2", ScalarType.BFloat16));
        var spec = new Mamba2Mixer("m2", config, new Mamba2MixerOptions { HiddenSize = 8, NumHeads = 4, HeadDim = 4, StateSize = 4 }).GetKvCacheSpec(config);

        Assert.Equal(0, spec.NumSpeculativeBlocks);
        Assert.Equal(spec.PageSizeBytes, spec.MaxMemoryUsageBytes(config));
    }
}
