using System.Linq;
using MambaGen.Backends;
using MambaGen.Cuda;
using MambaGen.Layers;
using MambaGen.Ops;
using MambaGen.Tests.Layers;
using MambaGen.Tests.Ops;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MambaGen.Tests.Cuda.Emulator;

/// <summary>
/// The fused CUDA kernels, run by the CPU emulator, against the TorchSharp reference ops: every mixer over prefill,
/// mixed, resumed and padded steps from dirty blocks, in fp32 and bf16. The GPU machine's <c>bench verify</c> checks the
/// same kernels as compiled for the device; this checks their arithmetic and indexing on every CI run.
/// </summary>
public sealed class EmulatedKernelTests
{
    public static TheoryData<string, string, string> KindsDtypesAndScans
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (var scan in new[] { "row-warps", "tiled" })
            {
                data.Add(MixerUnderTest.Mamba1, "float32", scan);
                data.Add(MixerUnderTest.Mamba2, "float32", scan);
                data.Add(MixerUnderTest.Mamba2TwoGroups, "float32", scan);
                data.Add(MixerUnderTest.Mamba2WideState, "float32", scan);
                data.Add(MixerUnderTest.Mamba1, "bfloat16", scan);
                data.Add(MixerUnderTest.Mamba2TwoGroups, "bfloat16", scan);
            }

            data.Add(MixerUnderTest.ShortConvKind, "float32", "row-warps");
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(KindsDtypesAndScans))]
    public void Kernels_match_the_reference_ops_over_prefill_mixed_and_padded_steps_from_dirty_blocks(string kind, string dtypeName, string scan)
    {
        var ops = EmulatedKernels.With(PrefillScanSetting.Parse(scan));
        var dtype = dtypeName == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32;
        // bf16: both round to bf16 at the same points but sum in another order (one bf16 ulp is 0.4%).
        double tolerance = dtype == ScalarType.BFloat16 ? 3e-2 : 2e-5;
        var viaKernels = MixerUnderTest.Create(kind, seed: 31, dtype: dtype);
        var viaReference = MixerUnderTest.Create(kind, seed: 31, dtype: dtype);
        using var cacheA = viaKernels.Allocate(5);
        using var cacheB = viaReference.Allocate(5);
        using (var noGrad = torch.no_grad())
        {
            for (int i = 0; i < viaKernels.Layer.KvCache.Count; i++)
            {
                var garbage = torch.randn(viaKernels.Layer.KvCache[i].shape, generator: new Generator(7)).to(viaKernels.Layer.KvCache[i].dtype);
                viaKernels.Layer.KvCache[i].copy_(garbage);
                viaReference.Layer.KvCache[i].copy_(garbage);
            }
        }

        var steps = new[]
        {
            // New prefills, one longer than a scan tile (256 tokens), so tiles hand their state on.
            new[] { new ScheduledRequest(0, 5, 1), new ScheduledRequest(0, 3, 3), new ScheduledRequest(0, 261, 4) },
            // A decode, a resumed prefill and a new one in one step.
            new[] { new ScheduledRequest(5, 1, 1), new ScheduledRequest(3, 4, 3), new ScheduledRequest(0, 7, 2) },
            // Decodes with a padding row.
            new[] { new ScheduledRequest(6, 1, 1), ScheduledRequest.Padding(), new ScheduledRequest(7, 1, 3), new ScheduledRequest(7, 1, 2) },
            new[] { new ScheduledRequest(7, 1, 1), new ScheduledRequest(8, 1, 3), new ScheduledRequest(261, 1, 4) },
        };
        int seed = 50;
        foreach (var requests in steps)
        {
            var common = new CommonAttentionMetadata(requests);
            using var a = MixerUnderTest.Builder(kind, ops).Build(common);
            using var b = MixerUnderTest.Builder(kind, MambaOps.Reference).Build(common);
            var hidden = viaKernels.Hidden(seed++, common.NumActualTokens, dtype);
            var yKernels = ((IMambaMixer)viaKernels.Layer).Forward(hidden, a);
            var yReference = ((IMambaMixer)viaReference.Layer).Forward(hidden, b);

            // A padding row's output is unspecified (the reference computes it from block 0, the kernels write zeros).
            var real = torch.tensor(Enumerable.Range(0, requests.Length).Where(i => !requests[i].IsPadding)
                .SelectMany(i => Enumerable.Range(common.QueryStartLoc[i], requests[i].NumScheduledTokens)).Select(t => (long)t).ToArray());
            string what = $"{kind} {dtypeName} ({scan} scans), step of {string.Join(" + ", requests.Select(r => r.NumScheduledTokens))} tokens";
            OpsAssert.Close(yReference.index_select(0, real), yKernels.index_select(0, real), tolerance, tolerance, what + ": output");
            for (int i = 0; i < viaKernels.Layer.KvCache.Count; i++)
            {
                OpsAssert.Close(viaReference.Layer.KvCache[i], viaKernels.Layer.KvCache[i], tolerance, tolerance, $"{what}: state {i}");
            }
        }
    }

    [Fact]
    public void Norm_kernels_match_the_reference_ops()
    {
        var kernels = (INormOps)EmulatedKernels.Ops.Norm;
        using var g = new Generator(3);
        var residual = torch.randn(new long[] { 3, 40 }, generator: g);
        var delta = torch.randn(new long[] { 3, 40 }, generator: g);
        var weight = torch.randn(new long[] { 40 }, generator: g);
        var z = torch.randn(new long[] { 3, 40 }, generator: g);
        // The residual takes the delta in place: each side gets its own copy.
        var (residualA, residualB) = (residual.clone(), residual.clone());
        OpsAssert.Close(MambaOps.Reference.Norm.AddRmsNorm(residualA, delta, weight, 1e-5, false), kernels.AddRmsNorm(residualB, delta, weight, 1e-5, false), 1e-5, 1e-5, "add + RMSNorm");
        OpsAssert.Close(residualA, residualB, 1e-6, 1e-6, "residual + delta");
        OpsAssert.Close(MambaOps.Reference.Norm.AddRmsNorm(residual, null, weight, 1e-5, false), kernels.AddRmsNorm(residual, null, weight, 1e-5, false), 1e-5, 1e-5, "RMSNorm");
        OpsAssert.Close(MambaOps.Reference.Norm.GatedRmsNorm(residual, z, weight, 20, 1e-5), kernels.GatedRmsNorm(residual, z, weight, 20, 1e-5), 1e-5, 1e-5, "gated RMSNorm");
    }
}
