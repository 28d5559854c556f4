using System.Linq;
using MambaGen.Backends;
using MambaGen.Layers;
using MambaGen.Tests.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Layers;

/// <summary>bf16 weights with the SSM state kept in fp32 because the cache config asks for it (vLLM's mamba_ssm_cache_dtype).</summary>
public class MixedPrecisionStateTests
{
    // bf16 keeps 8 bits of mantissa, and the errors add up over the projections: a loose tolerance, relative and absolute.
    private const double Rtol = 0.05, Atol = 0.05;

    [Theory]
    [MemberData(nameof(MixerUnderTest.KindsWithSsmState), MemberType = typeof(MixerUnderTest))]
    public void Bf16_weights_with_fp32_ssm_cache_keep_an_fp32_ssm_state_and_a_bf16_conv_state(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind, dtype: ScalarType.BFloat16, ssmCacheDtype: MambaCacheDtype.Float32);
        using var cache = mixer.Allocate(3);

        var (conv, ssm) = mixer.Layer switch
        {
            Mamba1Mixer m1 => (m1.ConvStateTensor, m1.SsmStateTensor),
            Mamba2Mixer m2 => (m2.ConvStateTensor, m2.SsmStateTensor),
            _ => throw new Xunit.Sdk.XunitException($"{kind} has no SSM state."),
        };
        Assert.Equal(ScalarType.BFloat16, conv.dtype);
        Assert.Equal(ScalarType.Float32, ssm.dtype);
        Assert.Equal(new[] { ScalarType.BFloat16, ScalarType.Float32 }, mixer.Layer.GetStateDtype());

        // The page holds the bf16 conv state, then the fp32 SSM state right after it.
        var shapes = mixer.Layer.GetStateShape();
        long convBytes = shapes[0].Aggregate(1L, (p, d) => p * d) * 2;
        long ssmBytes = shapes[1].Aggregate(1L, (p, d) => p * d) * 4;
        var layout = cache.Layers[0].Layout;
        Assert.Equal(convBytes + ssmBytes, layout.PageSizeBytes);
        Assert.Equal(new[] { 0L, convBytes }, layout.StateOffsetsBytes);
        Assert.Equal(convBytes + ssmBytes, cache.BytesPerBlock);
        Assert.Equal(3 * (convBytes + ssmBytes), cache.Layers[0].Raw.numel());
    }

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void Bf16_weights_with_fp32_ssm_cache_stay_close_to_the_fp32_model(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var fp32 = MixerUnderTest.Create(kind, seed: 77);
        var bf16 = MixerUnderTest.Create(kind, seed: 77, dtype: ScalarType.BFloat16, ssmCacheDtype: MambaCacheDtype.Float32);
        var x = fp32.Hidden(40, 9);
        using var fp32Cache = fp32.Allocate(1);
        using var bf16Cache = bf16.Allocate(1);

        var expected = fp32.Step(x.narrow(0, 0, 7), new ScheduledRequest(0, 7, 0, "r"));
        var actual = bf16.Step(x.narrow(0, 0, 7).to(ScalarType.BFloat16), new ScheduledRequest(0, 7, 0, "r"));
        Assert.Equal(ScalarType.BFloat16, actual.dtype);
        OpsAssert.Close(expected, actual, Rtol, Atol, $"{kind}: bf16 prefill against fp32");

        for (int t = 7; t < 9; t++)
        {
            expected = fp32.Step(x.narrow(0, t, 1), new ScheduledRequest(t, 1, 0, "r"));
            actual = bf16.Step(x.narrow(0, t, 1).to(ScalarType.BFloat16), new ScheduledRequest(t, 1, 0, "r"));
            OpsAssert.Close(expected, actual, Rtol, Atol, $"{kind}: bf16 decode of token {t} against fp32");
        }

        var last = bf16.Layer.KvCache.Count - 1;
        OpsAssert.Close(fp32.Layer.KvCache[last][0], bf16.Layer.KvCache[last][0], Rtol, Atol, $"{kind}: last state in the bf16 model against fp32");
    }
}
