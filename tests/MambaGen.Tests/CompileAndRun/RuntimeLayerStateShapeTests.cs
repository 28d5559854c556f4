using System;
using MambaGen.Layers;
using static TorchSharp.torch;

namespace MambaGen.Tests.CompileAndRun;

/// <summary>The runtime layers declare their states through the generator; what they declare must be what vLLM's
/// calculators give, at every tensor-parallel size.</summary>
public class RuntimeLayerStateShapeTests
{
    public static TheoryData<int> TensorParallelSizes => new() { 1, 2, 4 };

    private static EngineConfig Config(string modelType, int tp, MambaCacheDtype ssm = MambaCacheDtype.Auto) =>
        new(new ModelConfig(modelType, ScalarType.BFloat16), new CacheConfig { MambaSsmCacheDtype = ssm }, new ParallelConfig(tp));

    [Theory]
    [MemberData(nameof(TensorParallelSizes))]
    public void Mamba1_mixer_states_match_the_calculator(int tp)
    {
        var layer = new Mamba1Mixer("m1", Config("mamba", tp, MambaCacheDtype.Float32), new Mamba1MixerOptions { HiddenSize = 8, IntermediateSize = 16, StateSize = 4, TimeStepRank = 2 });
        var (conv, ssm) = MambaStateShapeCalculator.Mamba1(tp, 16, 4, 4);

        Assert.Equal(new[] { conv, ssm }, layer.GetStateShape());
        Assert.Equal(MambaStateDtypeCalculator.Mamba1(ScalarType.BFloat16, MambaCacheDtype.Auto, MambaCacheDtype.Float32), layer.GetStateDtype());
        Assert.Equal("mamba1", layer.MambaType);
        Assert.Equal(16 / tp, layer.GetStateShape()[1][0]);
    }

    [Theory]
    [MemberData(nameof(TensorParallelSizes))]
    public void Mamba2_mixer_states_match_the_calculator_with_one_and_two_groups(int tp)
    {
        foreach (int groups in new[] { 1, 2 })
        {
            var options = new Mamba2MixerOptions { HiddenSize = 8, NumHeads = 8, HeadDim = 2, NGroups = groups, StateSize = 4, ChunkSize = 4 };
            var layer = new Mamba2Mixer("m2", Config("mamba2", tp, MambaCacheDtype.Float32), options);
            var (conv, ssm) = MambaStateShapeCalculator.Mamba2(tp, 16, groups, 8, 2, 4, 4);

            Assert.Equal(new[] { conv, ssm }, layer.GetStateShape());
            Assert.Equal(new[] { ScalarType.BFloat16, ScalarType.Float32 }, layer.GetStateDtype());
            // Groups that do not split over the ranks are replicated: each rank's conv state holds all of its B and C.
            int groupsPerRank = groups % tp == 0 ? groups / tp : 1;
            Assert.Equal(16 / tp + 2 * groupsPerRank * 4, layer.GetStateShape()[0][1]);
        }
    }

    [Theory]
    [MemberData(nameof(TensorParallelSizes))]
    public void Short_conv_state_matches_the_calculator(int tp)
    {
        var layer = new ShortConv("sc", Config("lfm2", tp, MambaCacheDtype.Float32), 8, 3);

        Assert.Equal(new[] { MambaStateShapeCalculator.ShortConv(tp, 8, 3) }, layer.GetStateShape());
        Assert.Equal(new[] { ScalarType.BFloat16 }, layer.GetStateDtype());
        Assert.Equal("short_conv", layer.MambaType);
    }

    [Fact]
    public void Mamba2_mixer_at_a_tensor_parallel_size_that_does_not_divide_the_heads_is_refused()
    {
        var layer = new Mamba2Mixer("m2", Config("mamba2", 3), new Mamba2MixerOptions { HiddenSize = 8, NumHeads = 8, HeadDim = 2, StateSize = 4 });

        var e = Assert.Throws<ArgumentException>(() => layer.GetStateShape());
        Assert.Contains("not divisible by the tensor-parallel size (3)", e.Message);
    }
}
