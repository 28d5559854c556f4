using System.Linq;
using MambaGen.Backends;
using MambaGen.Layers;
using MambaGen.Ops;
using MambaGen.Tests.Layers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MambaGen.Tests.Ops;

/// <summary>The CPU's fused decode loops against the TorchSharp reference ops, step by step from dirty blocks.</summary>
public sealed class CpuDecodeOpsTests
{
    public static TheoryData<string, int> KindsAndThreads => new()
    {
        { MixerUnderTest.Mamba1, 1 }, { MixerUnderTest.Mamba2, 1 }, { MixerUnderTest.Mamba2TwoGroups, 1 }, { MixerUnderTest.ShortConvKind, 1 },
        { MixerUnderTest.Mamba1, 2 }, { MixerUnderTest.Mamba2, 2 },
    };

    [Theory]
    [MemberData(nameof(KindsAndThreads))]
    public void Decode_steps_match_the_reference_ops_in_outputs_and_states_with_padding_rows(string kind, int threads)
    {
        // Threads on every step however small, so the spread-out loops are checked too.
        var loops = new Cpu.CpuDecodeOps(threads, parallelWork: 0);
        var fused = MambaOps.Of("loops", loops);
        var viaLoops = MixerUnderTest.Create(kind, seed: 21);
        var viaReference = MixerUnderTest.Create(kind, seed: 21);
        using var cacheA = viaLoops.Allocate(4);
        using var cacheB = viaReference.Allocate(4);
        viaLoops.DirtyStates(viaReference, seed: 5);

        var steps = new[]
        {
            new[] { new ScheduledRequest(0, 5, 1), new ScheduledRequest(0, 3, 3) },
            new[] { new ScheduledRequest(5, 1, 1), new ScheduledRequest(3, 1, 3) },
            new[] { new ScheduledRequest(6, 1, 1), ScheduledRequest.Padding(), new ScheduledRequest(4, 1, 3) },
            new[] { new ScheduledRequest(7, 1, 1), new ScheduledRequest(9, 1, 2) },
            // A prefill resumed from a stored state beside one that starts from zeros over a dirty block.
            new[] { new ScheduledRequest(8, 1, 1), new ScheduledRequest(10, 3, 2), new ScheduledRequest(0, 2, 0) },
        };
        int seed = 40;
        foreach (var requests in steps)
        {
            var common = new CommonAttentionMetadata(requests);
            using var a = MixerUnderTest.Builder(kind, fused).Build(common);
            using var b = MixerUnderTest.Builder(kind, MambaOps.Reference).Build(common);
            var hidden = viaLoops.Hidden(seed++, common.NumActualTokens);
            var yLoops = ((IMambaMixer)viaLoops.Layer).Forward(hidden, a);
            var yReference = ((IMambaMixer)viaReference.Layer).Forward(hidden, b);

            // A padding row's output is unspecified (the reference computes it from block 0, the loops write zeros).
            var real = Enumerable.Range(0, requests.Length).Where(i => requests[i].StateBlockId >= 0)
                .SelectMany(i => Enumerable.Range(common.QueryStartLoc[i], requests[i].NumScheduledTokens)).Select(t => (long)t).ToArray();
            var rows = torch.tensor(real);
            OpsAssert.Close(yReference.index_select(0, rows), yLoops.index_select(0, rows), 1e-5, 1e-5, $"{kind} output");
            for (int i = 0; i < viaLoops.Layer.KvCache.Count; i++)
            {
                OpsAssert.Close(viaReference.Layer.KvCache[i], viaLoops.Layer.KvCache[i], 1e-5, 1e-5, $"{kind} state {i}");
            }
        }
    }

    public static TheoryData<int, int, ScalarType> FusedRows => new()
    {
        { 1, 1, ScalarType.Float32 }, { 3, 2, ScalarType.Float32 }, { 8, 1, ScalarType.Float32 },
        { 1, 1, ScalarType.BFloat16 }, { 5, 2, ScalarType.BFloat16 }, { 2, 1, ScalarType.Float16 },
    };

    [Theory]
    [MemberData(nameof(FusedRows))]
    public void Fused_projections_match_the_ops_they_fuse_with_fp32_or_half_width_weights(int rows, int threads, ScalarType weightDtype)
    {
        var loops = new Cpu.CpuDecodeOps(threads, parallelWork: 0);
        Assert.True(loops.Takes(rows, ScalarType.Float32));
        Assert.False(loops.Takes(9, ScalarType.Float32));
        FusedProjectionChecks.MatchTheOpsTheyFuse(loops, loops, rows, ScalarType.Float32, weightDtype, ScalarType.Float32);
    }

    [Theory]
    [InlineData("dev-mamba2", "float32")]
    [InlineData("dev-mamba1", "float32")]
    [InlineData("dev-mamba2", "bfloat16")]
    public void A_model_decodes_the_same_with_its_blocks_in_three_fused_calls(string fixture, string dtypeName) =>
        FusedProjectionChecks.ModelDecodesTheSame(MambaOps.Of("loops", new Cpu.CpuDecodeOps(2, parallelWork: 0)), fixture, dtypeName);

    [Theory]
    [InlineData(3, 16, 8)]
    [InlineData(130, 20, 10)]
    [InlineData(1, 37, 37)]
    public void Norms_match_the_reference_ops(int rows, int width, int groupSize)
    {
        // Prefill-sized row counts, widths with a scalar tail after the vectors, and gates far out on both sides.
        var loops = new Cpu.CpuDecodeOps(1);
        using var g = new Generator(3);
        var residual = torch.randn(new long[] { rows, width }, generator: g);
        var delta = torch.randn(new long[] { rows, width }, generator: g);
        var weight = torch.randn(new long[] { width }, generator: g);
        var z = torch.randn(new long[] { rows, 2 * width }, generator: g).mul_(30);
        var x = torch.randn(new long[] { rows, 2 * width }, generator: g);
        var gateWeight = torch.randn(new long[] { 2 * width }, generator: g);

        var r1 = residual.clone();
        var r2 = residual.clone();
        var fused = loops.AddRmsNorm(r1, delta, weight, 1e-5, castInput: true);
        var reference = ReferenceOps.Instance.AddRmsNorm(r2, delta, weight, 1e-5, castInput: true);

        OpsAssert.Close(r2, r1, 1e-6, 1e-6, "residual after the add");
        OpsAssert.Close(reference, fused, 1e-5, 1e-5, "add + RMS norm");
        OpsAssert.Close(ReferenceOps.Instance.GatedRmsNorm(x, z, gateWeight, groupSize, 1e-5), loops.GatedRmsNorm(x, z, gateWeight, groupSize, 1e-5), 1e-5, 1e-5, "gated RMS norm");
    }

    [Theory]
    [InlineData(1, 3, 4100, 300)]
    [InlineData(2, 3, 4100, 300)]
    [InlineData(1, 1, 1027, 37)]
    [InlineData(2, 8, 1027, 64)]
    public void Decode_rows_through_the_own_GEMV_match_the_reference_projection(int threads, int rows, int outputs, int inputs)
    {
        // Output counts not a multiple of four and input widths not a multiple of sixteen take the GEMV's tails.
        var loops = new Cpu.CpuDecodeOps(threads, parallelWork: 0);
        using var g = new Generator(9);
        var weight = torch.randn(new long[] { outputs, inputs }, generator: g);
        var bias = torch.randn(new long[] { outputs }, generator: g);
        // Rows of a wider tensor, as the layers pass narrowed projections.
        var x = torch.randn(new long[] { rows, inputs + 5 }, generator: g).narrow(1, 2, inputs);

        OpsAssert.Close(nn.functional.linear(x, weight, bias), loops.Linear(x, weight, bias), 1e-5, 1e-4, "projection with bias");
        OpsAssert.Close(nn.functional.linear(x, weight), loops.Linear(x, weight, null), 1e-5, 1e-4, "projection without bias");
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, 1, 3)]
    [InlineData(ScalarType.BFloat16, 2, 8)]
    [InlineData(ScalarType.Float16, 1, 1)]
    [InlineData(ScalarType.Float16, 2, 5)]
    public void Half_width_weights_against_fp32_rows_match_the_reference_mixed_projection(ScalarType weightDtype, int threads, int rows)
    {
        var loops = new Cpu.CpuDecodeOps(threads, parallelWork: 0);
        using var g = new Generator(11);
        // 1027 outputs and 301 inputs: the four-row blocks, the vector body and both tails.
        var weight = torch.randn(new long[] { 1027, 301 }, generator: g).to(weightDtype);
        var bias = torch.randn(new long[] { 1027 }, generator: g);
        var x = torch.randn(new long[] { rows, 306 }, generator: g).narrow(1, 3, 301);

        var reference = ReferenceOps.Instance.Linear(x, weight, bias);
        Assert.Equal(ScalarType.Float32, reference.dtype);
        // The reference's bf16 GEMM rounds its output to bf16 (about 3 significant digits); the loops keep fp32 sums.
        double tolerance = weightDtype == ScalarType.BFloat16 ? 2e-2 : 1e-4;
        OpsAssert.Close(reference, loops.Linear(x, weight, bias), tolerance, tolerance, $"{weightDtype} projection");
        OpsAssert.Close(ReferenceOps.Instance.Linear(x, weight, null), loops.Linear(x, weight, null), tolerance, tolerance, $"{weightDtype} projection without bias");
    }

    [Fact]
    public void Mamba1_prefill_scan_matches_the_reference_over_the_whole_softplus_range()
    {
        // dt from -30 to 30: softplus's log(1 + exp) branch near 0 and far below, and its threshold at 20; channels
        // not a multiple of the eight a vector holds; one sequence resuming its block, one starting fresh.
        var loops = new Cpu.CpuDecodeOps(1);
        using var g = new Generator(17);
        const int channels = 13, state = 6, tokens = 9;
        var u = torch.randn(new long[] { tokens, channels }, generator: g);
        var delta = torch.rand(new long[] { tokens, channels }, generator: g).mul_(60).sub_(30);
        var aLog = torch.randn(new long[] { channels, state }, generator: g).mul_(0.5);
        var b = torch.randn(new long[] { tokens, state }, generator: g);
        var c = torch.randn(new long[] { tokens, state }, generator: g);
        var d = torch.randn(new long[] { channels }, generator: g);
        var z = torch.randn(new long[] { tokens, channels }, generator: g).mul_(10);
        var bias = torch.randn(new long[] { channels }, generator: g);
        var states = torch.randn(new long[] { 3, channels, state }, generator: g);
        var qsl = new[] { 0, 4, 9 };
        var blocks = new[] { 2, 0 };
        using var batch = new PrefillBatch(qsl, torch.tensor(qsl.Select(q => (long)q).ToArray()), blocks, torch.tensor(blocks.Select(q => (long)q).ToArray()),
            torch.tensor(new[] { true, false }), null);

        var statesLoops = states.clone();
        var statesReference = states.clone();
        var yLoops = loops.Forward(u, delta, aLog, b, c, d, z, bias, true, statesLoops, batch);
        var yReference = ReferenceOps.Instance.Forward(u, delta, aLog, b, c, d, z, bias, true, statesReference, batch);
        OpsAssert.Close(yReference, yLoops, 1e-4, 1e-5, "scan output");
        OpsAssert.Close(statesReference, statesLoops, 1e-4, 1e-5, "final states");
    }
}
