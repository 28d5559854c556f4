using System;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Cuda;
using MambaGen.Layers;
using MambaGen.Ops;
using MambaGen.Tests.Layers;
using MambaGen.Tests.Ops;
using TorchSharp;
using Xunit;
using MambaGen.Cache;
using MambaGen.Checkpoints;
using MambaGen.Models;
using MambaGen.Testing;
using static TorchSharp.torch;

namespace MambaGen.Tests.Cuda.Emulator;

/// <summary>
/// The fused CUDA kernels, run by the CPU emulator, against the TorchSharp reference ops: every mixer over prefill,
/// mixed, resumed and padded steps from dirty blocks, in fp32 and bf16. The GPU machine's <c>bench verify</c> checks the
/// same kernels as compiled for the device; this checks their arithmetic and indexing on every CI run.
/// </summary>
public sealed class EmulatedKernelTests
{
    /// <summary>Each mixer with the default kernels, the opt-in ones and the first timed ones (<see cref="KernelChoices"/>).</summary>
    public static TheoryData<string, string, string> KindsDtypesAndVariants
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (var variants in new[] { "default", "opt-in" })
            {
                data.Add(MixerUnderTest.Mamba1, "float32", variants);
                data.Add(MixerUnderTest.Mamba2, "float32", variants);
                data.Add(MixerUnderTest.Mamba2TwoGroups, "float32", variants);
                data.Add(MixerUnderTest.Mamba2WideState, "float32", variants);
                data.Add(MixerUnderTest.Mamba1, "bfloat16", variants);
                data.Add(MixerUnderTest.Mamba2TwoGroups, "bfloat16", variants);
            }

            // The first timed kernels (row-warp scans and updates), which the default still runs for few sequences.
            data.Add(MixerUnderTest.Mamba1, "float32", "row-warps");
            data.Add(MixerUnderTest.Mamba2TwoGroups, "bfloat16", "row-warps");
            // The chunked scans: the 300-token prefill spans three chunks, the resumed one starts from a cached state.
            data.Add(MixerUnderTest.Mamba1, "float32", "chunked");
            data.Add(MixerUnderTest.Mamba1, "bfloat16", "chunked");
            data.Add(MixerUnderTest.Mamba2, "float32", "chunked");
            data.Add(MixerUnderTest.Mamba2TwoGroups, "float32", "chunked");
            data.Add(MixerUnderTest.Mamba2WideState, "float32", "chunked");
            data.Add(MixerUnderTest.Mamba2TwoGroups, "bfloat16", "chunked");
            // The SSD on tensor cores (bf16 only; fp32 takes the default scans): chunks of 128 tokens, two of the state
            // dim's 32-column stages (wide state), two groups.
            data.Add(MixerUnderTest.Mamba2, "bfloat16", "tensor-cores");
            data.Add(MixerUnderTest.Mamba2TwoGroups, "bfloat16", "tensor-cores");
            data.Add(MixerUnderTest.Mamba2WideState, "bfloat16", "tensor-cores");
            data.Add(MixerUnderTest.Mamba2FullTiles, "bfloat16", "tensor-cores");
            data.Add(MixerUnderTest.Mamba2FullTiles, "float32", "tensor-cores");
            data.Add(MixerUnderTest.Mamba2FullTiles, "bfloat16", "default");
            // The wide decode update: 80 p rows x 4 threads of 32 state values a block.
            data.Add(MixerUnderTest.Mamba2FullTiles, "float32", "wide");
            data.Add(MixerUnderTest.Mamba2, "float32", "tensor-cores");
            // Mamba-1's block-wide scan: the 261-token prefill over one chunk of 64 threads x 8 tokens.
            data.Add(MixerUnderTest.Mamba1, "float32", "block-scan");
            data.Add(MixerUnderTest.Mamba1, "bfloat16", "block-scan");
            data.Add(MixerUnderTest.ShortConvKind, "float32", "default");
            data.Add(MixerUnderTest.Mamba2TwoGroups, "float16", "default");
            data.Add(MixerUnderTest.Mamba1, "float16", "opt-in");
            return data;
        }
    }

    [EmulatorTheory]
    [MemberData(nameof(KindsDtypesAndVariants))]
    public void Kernels_match_the_reference_ops_over_prefill_mixed_and_padded_steps_from_dirty_blocks(string kind, string dtypeName, string variants)
    {
        var ops = EmulatedKernels.Named(variants);
        var dtype = Dtype(dtypeName);
        // bf16 / fp16: both round at the same points but sum in another order (one bf16 ulp is 0.4%, one fp16 ulp 0.05%).
        double tolerance = dtype == ScalarType.BFloat16 ? 3e-2 : dtype == ScalarType.Float16 ? 1e-2 : 2e-5;
        // The tensor-core SSD rounds its matrix operands to bf16 (as mamba_ssm does): its outputs are off by about an ulp of
        // the step's largest, which the layer's gated norm and out_proj carry into outputs near zero.
        double outputScale = variants == "tensor-cores" && dtype == ScalarType.BFloat16 ? 1 : 0;
        var viaKernels = MixerUnderTest.Create(kind, seed: 31, dtype: dtype);
        var viaReference = MixerUnderTest.Create(kind, seed: 31, dtype: dtype);
        using var cacheA = viaKernels.Allocate(5);
        using var cacheB = viaReference.Allocate(5);
        viaKernels.DirtyStates(viaReference, seed: 7);

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
            string what = $"{kind} {dtypeName} ({variants} kernels), step of {string.Join(" + ", requests.Select(r => r.NumScheduledTokens))} tokens";
            var expected = yReference.index_select(0, real);
            double atol = Math.Max(tolerance, 2e-2 * outputScale * expected.abs().max().to(ScalarType.Float32).item<float>());
            OpsAssert.Close(expected, yKernels.index_select(0, real), tolerance, atol, what + ": output");
            for (int i = 0; i < viaKernels.Layer.KvCache.Count; i++)
            {
                OpsAssert.Close(viaReference.Layer.KvCache[i], viaKernels.Layer.KvCache[i], tolerance, tolerance, $"{what}: state {i}");
            }
        }
    }

    /// <summary>Every scan and update variant, on the mixers whose shapes reach their tiles, stages and chunks.</summary>
    public static TheoryData<string, string, string> RaceChecks => new()
    {
        { MixerUnderTest.Mamba2FullTiles, "bfloat16", "tensor-cores" },
        { MixerUnderTest.Mamba2WideState, "float32", "opt-in" },
        { MixerUnderTest.Mamba2TwoGroups, "float32", "row-warps" },
        { MixerUnderTest.Mamba2TwoGroups, "float32", "chunked" },
        { MixerUnderTest.Mamba1, "float32", "block-scan" },
        { MixerUnderTest.Mamba1, "float32", "opt-in" },
        { MixerUnderTest.Mamba1, "float32", "row-warps" },
        { MixerUnderTest.Mamba1, "float32", "chunked" },
        { MixerUnderTest.ShortConvKind, "float32", "default" },
        { MixerUnderTest.Mamba2FullTiles, "float32", "wide" },
    };

    [EmulatorTheory]
    [MemberData(nameof(RaceChecks))]
    public void Kernels_give_the_same_bits_whichever_order_a_blocks_threads_run_in(string kind, string dtypeName, string variants)
    {
        // The emulator runs a block's threads between barriers one after another: in index order, then in reverse on
        // shared memory filled with NaNs. A thread that reads what another writes with no barrier between sees the new
        // value in one order and the old in the other, and a block that reads shared memory it never wrote gets the last
        // block's values in one run and NaNs in the other; race-free kernels match bit for bit.
        var ops = EmulatedKernels.Named(variants);
        var dtype = Dtype(dtypeName);
        var inOrder = MixerUnderTest.Create(kind, seed: 5, dtype: dtype);
        var reversed = MixerUnderTest.Create(kind, seed: 5, dtype: dtype);
        using var cacheA = inOrder.Allocate(5);
        using var cacheB = reversed.Allocate(5);
        inOrder.DirtyStates(reversed, seed: 9);
        var steps = new[]
        {
            new[] { new ScheduledRequest(0, 5, 1), new ScheduledRequest(0, 3, 3), new ScheduledRequest(0, 261, 4) },
            new[] { new ScheduledRequest(5, 1, 1), ScheduledRequest.Padding(), new ScheduledRequest(261, 1, 4), new ScheduledRequest(3, 4, 3) },
        };
        int seed = 70;
        foreach (var requests in steps)
        {
            var common = new CommonAttentionMetadata(requests);
            var hidden = inOrder.Hidden(seed++, common.NumActualTokens, dtype);
            using var a = MixerUnderTest.Builder(kind, ops).Build(common);
            var yInOrder = ((IMambaMixer)inOrder.Layer).Forward(hidden, a);
            using var b = MixerUnderTest.Builder(kind, ops).Build(common);
            var yReversed = KernelEmulator.InReverseOrder(() => ((IMambaMixer)reversed.Layer).Forward(hidden, b));

            string what = $"{kind} {dtypeName} ({variants} kernels), step of {string.Join(" + ", requests.Select(r => r.NumScheduledTokens))} tokens";
            SameBits(yInOrder, yReversed, what + ": output");
            for (int i = 0; i < inOrder.Layer.KvCache.Count; i++)
            {
                SameBits(inOrder.Layer.KvCache[i], reversed.Layer.KvCache[i], $"{what}: state {i}");
            }
        }
    }

    [EmulatorFact]
    public void Norm_and_projection_kernels_give_the_same_bits_whichever_order_a_blocks_threads_run_in()
    {
        // Rows past one batch of loads a thread, and projections of one row and of five past one batch of weights.
        var norms = (INormOps)EmulatedKernels.OptIn.Norm;
        var projections = (IFusedProjectionOps)EmulatedKernels.OptIn.Linear;
        using var g = new Generator(4);
        var residual = torch.randn(new long[] { 5, 9000 }, generator: g);
        var z = torch.randn(new long[] { 5, 9000 }, generator: g);
        var normWeight = torch.randn(new long[] { 9000 }, generator: g);
        var weight = torch.randn(new long[] { 40, 1320 }, generator: g);
        var small = torch.randn(new long[] { 5, 1320 }, generator: g);
        var smallWeight = torch.randn(new long[] { 1320 }, generator: g);
        Tensor[] Run() =>
        [
            norms.AddRmsNorm(residual.clone(), z, normWeight, 1e-5, false),
            norms.GatedRmsNorm(residual, z, normWeight, 4500, 1e-5),
            projections.NormLinear(small.narrow(0, 0, 1), smallWeight, 1e-5, weight, null),
            projections.NormLinear(small, smallWeight, 1e-5, weight, null),
        ];

        var inOrder = Run();
        var reversed = KernelEmulator.InReverseOrder(Run);

        string[] names = { "add + RMSNorm", "gated RMSNorm", "RMSNorm + GEMV, one row", "RMSNorm + GEMV, five rows" };
        for (int i = 0; i < inOrder.Length; i++)
        {
            SameBits(inOrder[i], reversed[i], names[i]);
        }
    }

    private static ScalarType Dtype(string name) =>
        name switch { "bfloat16" => ScalarType.BFloat16, "float16" => ScalarType.Float16, _ => ScalarType.Float32 };

    private static void SameBits(Tensor inOrder, Tensor reversed, string what) =>
        Assert.True(inOrder.eq(reversed).all().item<bool>(),
            $"{what}: the bits differ when a block's threads run in reverse order on shared memory filled with NaNs: a thread reads what another writes with no barrier between, or a block reads shared memory it never wrote.");

    [EmulatorFact]
    public void Tensor_core_SSD_matches_the_reference_scan_over_full_tiles_several_chunks_and_a_resumed_sequence()
    {
        // Real checkpoints' shape (64 p rows a tile and a partial second, a state dim of 128), a 1,100-token prompt over
        // nine chunks (past one batch of the carry's look-ahead), a one-token prompt and one resumed from a cached state,
        // slow decays so the carried state matters.
        const int heads = 2, headDim = 80, stateDim = 128, tokens = 1231;
        int[] lengths = { 1100, 1, 130 }, computed = { 0, 0, 57 }, blocks = { 1, 3, 0 };
        var qsl = new[] { 0, 1100, 1101, tokens };
        using var g = new Generator(5);
        var bf16 = ScalarType.BFloat16;
        // x, B and C as views into one wider row, as the mixer's conv output holds them; dt a view of another.
        var xbc = torch.randn(new long[] { tokens, heads * headDim + 2 * stateDim + 3 }, generator: g).to(bf16);
        var x = xbc.narrow(1, 0, heads * headDim).view(tokens, heads, headDim);
        var dt = (torch.randn(new long[] { tokens, heads + 5 }, generator: g) * 0.5 - 3).to(bf16).narrow(1, 2, heads);
        var aLog = (torch.randn(new long[] { heads }, generator: g) * 0.3 - 1).to(bf16);
        xbc.narrow(1, heads * headDim, 2 * stateDim).mul_(0.3);
        var b = xbc.narrow(1, heads * headDim, stateDim).view(tokens, 1, stateDim);
        var c = xbc.narrow(1, heads * headDim + stateDim, stateDim).view(tokens, 1, stateDim);
        var d = torch.randn(new long[] { heads }, generator: g).to(bf16);
        var dtBias = (torch.randn(new long[] { heads }, generator: g) * 0.1).to(bf16);
        var states = torch.randn(new long[] { 4, heads, headDim, stateDim }, generator: g);
        using var batch = new PrefillBatch(qsl, torch.tensor(qsl.Select(q => (long)q).ToArray()), blocks, torch.tensor(blocks.Select(q => (long)q).ToArray()),
            torch.tensor(new[] { false, false, true }), Mamba2ChunkLayout.Compute(computed, lengths, 64));
        var (statesReference, statesKernels) = (states.clone(), states.clone());

        var yReference = MambaOps.Reference.Ssd.ChunkScan(x, dt, aLog, b, c, d, dtBias, true, (0, double.PositiveInfinity), statesReference, batch);
        var yKernels = EmulatedKernels.TensorCores.Ssd.ChunkScan(x, dt, aLog, b, c, d, dtBias, true, (0, double.PositiveInfinity), statesKernels, batch);

        // bf16 operands (as mamba_ssm's tl.dot): about one bf16 ulp of the largest output, where the reference sums in fp32.
        OpsAssert.Close(yReference, yKernels, 2e-2, 1e-2 * yReference.abs().max().item<BFloat16>().ToSingle(), "tensor-core SSD output");
        OpsAssert.Close(statesReference, statesKernels, 1e-2, 1e-2, "final states");
        OpsAssert.Same(states[2], statesKernels[2], "the unused block 2");
    }

    [EmulatorTheory]
    [InlineData("default", "float32")]
    [InlineData("opt-in", "float32")]
    [InlineData("default", "bfloat16")]
    [InlineData("opt-in", "bfloat16")]
    [InlineData("opt-in", "float16")]
    public void Decode_state_update_of_many_rows_matches_the_reference_with_several_p_rows_a_warp(string variants, string stateDtype)
    {
        // 128 rows x 8 heads fill the grid, so each block walks its head's 24 p rows three a warp (the row-warp update
        // loads the next row's state before it stores the current one; the vector one reads and writes 4 values a lane
        // at once, in every state dtype); two padding rows; two groups.
        const int rows = 128, heads = 8, headDim = 24, stateDim = 16;
        var ops = EmulatedKernels.Named(variants);
        using var g = new Generator(8);
        var x = torch.randn(new long[] { rows, heads, headDim }, generator: g);
        var dt = torch.randn(new long[] { rows, heads }, generator: g);
        var aLog = torch.randn(new long[] { heads }, generator: g);
        var b = torch.randn(new long[] { rows, 2, stateDim }, generator: g);
        var c = torch.randn(new long[] { rows, 2, stateDim }, generator: g);
        var d = torch.randn(new long[] { heads }, generator: g);
        var dtBias = torch.randn(new long[] { heads }, generator: g);
        var states = torch.randn(new long[] { rows + 1, heads, headDim, stateDim }, generator: g).to(Dtype(stateDtype));
        var blocks = Enumerable.Range(0, rows).Select(r => r is 5 or 77 ? -1 : (r * 37 + 11) % (rows + 1)).ToArray();
        using var batch = new DecodeBatch(blocks, torch.tensor(blocks.Select(v => (long)v).ToArray()));
        var (statesReference, statesKernels) = (states.clone(), states.clone());

        var yReference = MambaOps.Reference.Ssd.StateUpdate(statesReference, x, dt, aLog, b, c, d, dtBias, true, (0, double.PositiveInfinity), batch);
        var yKernels = ops.Ssd.StateUpdate(statesKernels, x, dt, aLog, b, c, d, dtBias, true, (0, double.PositiveInfinity), batch);

        var real = torch.tensor(Enumerable.Range(0, rows).Where(r => blocks[r] >= 0).Select(r => (long)r).ToArray());
        // 16-bit states: each stored value rounded once (an ulp of bf16 is 0.4%).
        double tolerance = stateDtype == "float32" ? 2e-5 : 3e-2;
        OpsAssert.Close(yReference.index_select(0, real), yKernels.index_select(0, real), tolerance, tolerance, $"{variants} decode update output");
        OpsAssert.Close(statesReference, statesKernels, tolerance, tolerance, $"{variants} decode update states");
    }

    [EmulatorTheory]
    [InlineData(128, "float32", "float32")]
    [InlineData(128, "bfloat16", "bfloat16")]
    [InlineData(256, "bfloat16", "float32")]
    [InlineData(64, "float16", "float16")]
    public void Mamba2_wide_decode_update_matches_the_reference_over_whole_heads_in_flight(int stateDim, string activations, string stateDtype)
    {
        // A block per (row, head): 32 state values a thread, state_dim / 32 threads a p row (4, 8 and 2 here), each
        // segment's B and C read from padded shared memory; 40 rows x 6 heads of 16 p rows, two groups, two padding
        // rows, D per p row. A state dim of 64 with 16 p rows is a block of 32 threads; 128 and 256 are 64 and 128.
        const int rows = 40, heads = 6, headDim = 16;
        var (dtype, sdtype) = (Dtype(activations), Dtype(stateDtype));
        using var g = new Generator(15);
        var x = torch.randn(new long[] { rows, heads, headDim }, generator: g).to(dtype);
        var dt = torch.randn(new long[] { rows, heads }, generator: g).to(dtype);
        var aLog = torch.randn(new long[] { heads }, generator: g).to(dtype);
        var b = torch.randn(new long[] { rows, 2, stateDim }, generator: g).to(dtype);
        var c = torch.randn(new long[] { rows, 2, stateDim }, generator: g).to(dtype);
        var d = torch.randn(new long[] { heads, headDim }, generator: g).to(dtype);
        var dtBias = torch.randn(new long[] { heads }, generator: g).to(dtype);
        var states = torch.randn(new long[] { rows + 1, heads, headDim, stateDim }, generator: g).to(sdtype);
        var blocks = Enumerable.Range(0, rows).Select(r => r is 2 or 31 ? -1 : (r * 17 + 3) % (rows + 1)).ToArray();
        using var batch = new DecodeBatch(blocks, torch.tensor(blocks.Select(v => (long)v).ToArray()));
        var (statesReference, statesKernels) = (states.clone(), states.clone());
        int launches = EmulatedKernels.Launches;

        var yReference = MambaOps.Reference.Ssd.StateUpdate(statesReference, x, dt, aLog, b, c, d, dtBias, true, (0, double.PositiveInfinity), batch);
        var yKernels = EmulatedKernels.Wide.Ssd.StateUpdate(statesKernels, x, dt, aLog, b, c, d, dtBias, true, (0, double.PositiveInfinity), batch);

        Assert.True(EmulatedKernels.Launches > launches, "the kernels declined the step");
        var real = torch.tensor(Enumerable.Range(0, rows).Where(r => blocks[r] >= 0).Select(r => (long)r).ToArray());
        double tolerance = dtype == ScalarType.Float32 && sdtype == ScalarType.Float32 ? 2e-5 : 3e-2;
        OpsAssert.Close(yReference.index_select(0, real), yKernels.index_select(0, real), tolerance, tolerance, "wide decode update output");
        OpsAssert.Close(statesReference, statesKernels, tolerance, tolerance, "wide decode update states");
        int unused = Enumerable.Range(0, rows + 1).First(k => !blocks.Contains(k));
        OpsAssert.Same(states[unused], statesKernels[unused], "a block no row names");
    }

    [EmulatorTheory]
    [InlineData("float32", "float32", false)]
    [InlineData("bfloat16", "bfloat16", false)]
    [InlineData("bfloat16", "float32", false)]
    [InlineData("float16", "bfloat16", false)]
    [InlineData("bfloat16", "bfloat16", true)]
    public void Mamba1_decode_update_of_state_dim_16_matches_the_reference_in_vector_and_scalar_accesses(string activations, string stateDtype, bool misalignedBc)
    {
        // A state dim of 16 takes 16-byte accesses where every row is aligned; B and C at an odd offset in their row take
        // the scalar ones. 128 rows over 40 channels (a partial block), two padding rows, states in any dtype.
        const int rows = 128, channels = 40, stateDim = 16;
        var (dtype, sdtype) = (Dtype(activations), Dtype(stateDtype));
        using var g = new Generator(9);
        var x = torch.randn(new long[] { rows, channels }, generator: g).to(dtype);
        var delta = torch.randn(new long[] { rows, channels }, generator: g).to(dtype);
        var z = torch.randn(new long[] { rows, channels }, generator: g).to(dtype);
        var aLog = torch.randn(new long[] { channels, stateDim }, generator: g).mul_(0.5).to(dtype);
        // Rows of 40 keep every row 16-byte aligned in any dtype; one element in, none is.
        var bc = torch.randn(new long[] { rows, 40 }, generator: g).to(dtype);
        int offset = misalignedBc ? 1 : 0;
        var (b, c) = (bc.narrow(1, offset, stateDim), bc.narrow(1, offset + stateDim, stateDim));
        var d = torch.randn(new long[] { channels }, generator: g).to(dtype);
        var deltaBias = torch.randn(new long[] { channels }, generator: g).to(dtype);
        var states = torch.randn(new long[] { rows + 1, channels, stateDim }, generator: g).to(sdtype);
        var blocks = Enumerable.Range(0, rows).Select(r => r is 9 or 100 ? -1 : (r * 53 + 7) % (rows + 1)).ToArray();
        using var batch = new DecodeBatch(blocks, torch.tensor(blocks.Select(v => (long)v).ToArray()));
        var (statesReference, statesKernels) = (states.clone(), states.clone());

        var yReference = MambaOps.Reference.SelectiveScan.Update(statesReference, x, delta, aLog, b, c, d, z, deltaBias, true, batch);
        var yKernels = EmulatedKernels.Ops.SelectiveScan.Update(statesKernels, x, delta, aLog, b, c, d, z, deltaBias, true, batch);

        double tolerance = dtype == ScalarType.Float32 && sdtype == ScalarType.Float32 ? 2e-5 : 3e-2;
        var real = torch.tensor(Enumerable.Range(0, rows).Where(r => blocks[r] >= 0).Select(r => (long)r).ToArray());
        OpsAssert.Close(yReference.index_select(0, real), yKernels.index_select(0, real), tolerance, tolerance, "decode update output");
        OpsAssert.Close(statesReference, statesKernels, tolerance, tolerance, "decode update states");
        int unused = Enumerable.Range(0, rows + 1).First(k => !blocks.Contains(k));
        OpsAssert.Same(states[unused], statesKernels[unused], "a block no row names");
    }

    [EmulatorTheory]
    [InlineData("float32", 48)]
    [InlineData("bfloat16", 48)]
    [InlineData("bfloat16", 5)]
    public void Mamba1_decode_update_with_dt_proj_inside_matches_the_projection_then_the_update(string activations, int rank)
    {
        // Every decode batch size takes it (128 rows here, past the fused projections' 8): dt_proj's rows 8 values an
        // access where the rank allows (48 is mamba-130m's), else one at a time; two padding rows.
        const int rows = 128, channels = 40, stateDim = 16;
        var dtype = Dtype(activations);
        using var g = new Generator(11);
        var x = torch.randn(new long[] { rows, channels }, generator: g).to(dtype);
        // x_proj's output as the mixer slices it: [dt_rank | B | C] in one row.
        var xdbl = torch.randn(new long[] { rows, rank + 2 * stateDim }, generator: g).to(dtype);
        var (dtLow, b, c) = (xdbl.narrow(1, 0, rank), xdbl.narrow(1, rank, stateDim), xdbl.narrow(1, rank + stateDim, stateDim));
        var dtWeight = torch.randn(new long[] { channels, rank }, generator: g).mul_(0.2).to(dtype);
        var z = torch.randn(new long[] { rows, channels }, generator: g).to(dtype);
        var aLog = torch.randn(new long[] { channels, stateDim }, generator: g).mul_(0.5).to(dtype);
        var d = torch.randn(new long[] { channels }, generator: g).to(dtype);
        var deltaBias = torch.randn(new long[] { channels }, generator: g).to(dtype);
        var states = torch.randn(new long[] { rows + 1, channels, stateDim }, generator: g).to(dtype);
        var blocks = Enumerable.Range(0, rows).Select(r => r is 3 or 77 ? -1 : (r * 29 + 5) % (rows + 1)).ToArray();
        using var batch = new DecodeBatch(blocks, torch.tensor(blocks.Select(v => (long)v).ToArray()));
        var (statesReference, statesKernels) = (states.clone(), states.clone());

        var delta = MambaOps.Reference.Linear.Linear(dtLow, dtWeight, null);
        var yReference = MambaOps.Reference.SelectiveScan.Update(statesReference, x, delta, aLog, b, c, d, z, deltaBias, true, batch);
        var yKernels = EmulatedKernels.Ops.SelectiveScan.UpdateProjected(statesKernels, x, dtLow, dtWeight, aLog, b, c, d, z, deltaBias, true, batch);

        Assert.NotNull(yKernels);
        double tolerance = dtype == ScalarType.Float32 ? 2e-5 : 3e-2;
        var real = torch.tensor(Enumerable.Range(0, rows).Where(r => blocks[r] >= 0).Select(r => (long)r).ToArray());
        OpsAssert.Close(yReference.index_select(0, real), yKernels!.index_select(0, real), tolerance, tolerance, "decode update output");
        OpsAssert.Close(statesReference, statesKernels, tolerance, tolerance, "decode update states");
    }

    [EmulatorTheory]
    [InlineData("float32", 5000)]
    [InlineData("bfloat16", 2100)]
    [InlineData("float16", 37)]
    public void Greedy_picks_are_each_rows_first_argmax_and_whether_it_can_be_sampled(string dtypeName, int vocab)
    {
        // Rows: plain; two equal maxima far apart (the first wins); masked with -Inf around a finite maximum; one NaN; one
        // +Inf; all -Inf. The last three cannot be sampled (isfinite(amax) is false); rows of a wider buffer (a stride).
        var dtype = Dtype(dtypeName);
        using var g = new Generator(12);
        var buffer = torch.randn(new long[] { 6, vocab + 5 }, generator: g).mul_(3);
        var logits = buffer.narrow(1, 0, vocab);
        logits[1, vocab / 3] = torch.tensor(40f);
        logits[1, vocab - 1] = torch.tensor(40f);
        logits[2].fill_(float.NegativeInfinity);
        logits[2, vocab / 2] = torch.tensor(-1f);
        logits[3, vocab / 4] = torch.tensor(float.NaN);
        logits[4, 0] = torch.tensor(float.PositiveInfinity);
        logits[5].fill_(float.NegativeInfinity);
        logits = logits.to(dtype);

        var picks = EmulatedKernels.Ops.Greedy!.Pick(logits) ?? throw new InvalidOperationException("the kernels declined the logits");

        var expectedTokens = logits.argmax(-1);
        var expectedHealth = logits.amax(-1).isfinite().to(ScalarType.Int64);
        for (int r = 0; r < 6; r++)
        {
            Assert.Equal(expectedHealth[r].item<long>(), picks[r, 1].item<long>());
            if (r < 3)
            {
                Assert.Equal(expectedTokens[r].item<long>(), picks[r, 0].item<long>());
            }
        }

        Assert.Equal(vocab / 3, picks[1, 0].item<long>());
        Assert.Equal(vocab / 2, picks[2, 0].item<long>());
    }

    [EmulatorFact]
    public void Pending_picks_carry_the_same_picks_to_the_host_and_their_tokens_as_next_ids()
    {
        // What async scheduling reads a step later: the same [rows, 2] as Pick, and the tokens as a contiguous [rows]
        // int64 (the next step's input ids), one row too (its column is already contiguous).
        foreach (int rows in new[] { 5, 1 })
        {
            using var g = new Generator(13);
            var logits = torch.randn(new long[] { rows, 300 }, generator: g).to(ScalarType.BFloat16);
            var picks = EmulatedKernels.Ops.Greedy!.Pick(logits)!;
            int events = EmulatedCudaDriver.LiveEvents;
            var pending = EmulatedKernels.Ops.Greedy.PickAsync(logits) ?? throw new InvalidOperationException("the kernels declined the logits");

            Assert.Equal(events + 1, EmulatedCudaDriver.LiveEvents);
            Assert.Equal(picks.flatten().data<long>().ToArray(), pending.Read());
            Assert.True(pending.Tokens.is_contiguous());
            Assert.Equal(picks.select(1, 0).data<long>().ToArray(), pending.Tokens.data<long>().ToArray());
            Assert.Equal(rows, pending.Count);
            pending.Dispose();
            pending.Dispose();
            Assert.Equal(events, EmulatedCudaDriver.LiveEvents);
        }
    }

    [EmulatorFact]
    public void Pending_picks_are_declined_not_thrown_where_the_driver_has_no_event_to_give()
    {
        // The engine then reads the step's picks the ordinary way; Pick itself still works.
        var logits = torch.randn(new long[] { 3, 100 }, generator: new Generator(14));
        Assert.Null(EmulatedKernels.WithoutEvents.Greedy!.PickAsync(logits));
        Assert.Equal(logits.argmax(-1).data<long>().ToArray(), EmulatedKernels.WithoutEvents.Greedy.Pick(logits)!.select(1, 0).data<long>().ToArray());
    }

    [EmulatorFact]
    public void Tensor_core_choice_on_a_device_without_bf16_mma_runs_the_exact_scans()
    {
        // sm_75 has no bf16 mma.sync: its kernels are the default ones, bit for bit; on sm_80 the same inputs take the
        // tensor cores and round differently.
        var qsl = new[] { 0, 300, 301 };
        using var g = new Generator(3);
        var bf16 = ScalarType.BFloat16;
        var x = torch.randn(new long[] { 301, 2, 16 }, generator: g).to(bf16);
        var dt = torch.randn(new long[] { 301, 2 }, generator: g).to(bf16);
        var aLog = torch.randn(new long[] { 2 }, generator: g).to(bf16);
        var b = torch.randn(new long[] { 301, 1, 32 }, generator: g).to(bf16);
        var c = torch.randn(new long[] { 301, 1, 32 }, generator: g).to(bf16);
        var states = torch.zeros(2, 2, 16, 32);
        using var batch = new PrefillBatch(qsl, torch.tensor(qsl.Select(q => (long)q).ToArray()), new[] { 0, 1 }, torch.tensor(new long[] { 0, 1 }),
            torch.tensor(new[] { false, false }), null);
        Tensor Scan(MambaOps ops) => ops.Ssd.ChunkScan(x, dt, aLog, b, c, null, null, true, (0, double.PositiveInfinity), states.clone(), batch);

        OpsAssert.Same(Scan(EmulatedKernels.Ops), Scan(EmulatedKernels.TensorCoresOnSm75), "sm_75 outputs against the default kernels'");
        Assert.False(Scan(EmulatedKernels.Ops).eq(Scan(EmulatedKernels.TensorCores)).all().item<bool>(), "sm_80 took the same path as the default kernels");
    }

    [EmulatorTheory]
    [InlineData(16)]
    [InlineData(6)]
    public void Mamba1_block_scan_matches_the_reference_over_chunks_a_resumed_sequence_and_a_padding_row(int stateDim)
    {
        // A 2,500-token prompt (three chunks of 128 threads x 8 tokens), a resumed 700-token one from a cached state, a
        // padding row and a 3-token prompt: the state handed across threads, chunks and from the cache.
        const int channels = 5;
        int[] lengths = { 2500, 700, 4, 3 };
        var qsl = new[] { 0, 2500, 3200, 3204, 3207 };
        var blocks = new[] { 1, 2, -1, 0 };
        using var g = new Generator(11);
        int tokens = qsl[^1];
        var u = torch.randn(new long[] { tokens, channels }, generator: g);
        var delta = torch.randn(new long[] { tokens, channels }, generator: g).mul_(0.5).sub_(2);
        var aLog = torch.randn(new long[] { channels, stateDim }, generator: g).mul_(0.5).sub_(1);
        var b = torch.randn(new long[] { tokens, stateDim }, generator: g);
        var c = torch.randn(new long[] { tokens, stateDim }, generator: g);
        var d = torch.randn(new long[] { channels }, generator: g);
        var z = torch.randn(new long[] { tokens, channels }, generator: g);
        var bias = torch.randn(new long[] { channels }, generator: g).mul_(0.1);
        var states = torch.randn(new long[] { 3, channels, stateDim }, generator: g);
        using var batch = new PrefillBatch(qsl, torch.tensor(qsl.Select(q => (long)q).ToArray()), blocks, torch.tensor(blocks.Select(q => (long)q).ToArray()),
            torch.tensor(new[] { false, true, false, false }), null);
        var (statesReference, statesKernels) = (states.clone(), states.clone());

        var yReference = MambaOps.Reference.SelectiveScan.Forward(u, delta, aLog, b, c, d, z, bias, true, statesReference, batch);
        var yKernels = EmulatedKernels.BlockScan.SelectiveScan.Forward(u, delta, aLog, b, c, d, z, bias, true, statesKernels, batch);

        var real = torch.tensor(Enumerable.Range(0, tokens).Where(t => t < 3200 || t >= 3204).Select(t => (long)t).ToArray());
        OpsAssert.Close(yReference.index_select(0, real), yKernels.index_select(0, real), 1e-4, 1e-5, "block scan output");
        OpsAssert.Close(statesReference, statesKernels, 1e-4, 1e-5, "final states");
    }

    [EmulatorTheory]
    [InlineData(40, 20)]
    [InlineData(9000, 4500)]  // rows past one batch of loads a thread (16 x 256 values): the kernels' outer loops
    public void Norm_kernels_match_the_reference_ops(int width, int groupSize)
    {
        var kernels = (INormOps)EmulatedKernels.Ops.Norm;
        using var g = new Generator(3);
        var residual = torch.randn(new long[] { 3, width }, generator: g);
        var delta = torch.randn(new long[] { 3, width }, generator: g);
        var weight = torch.randn(new long[] { width }, generator: g);
        var z = torch.randn(new long[] { 3, width }, generator: g);
        // The residual takes the delta in place: each side gets its own copy.
        var (residualA, residualB) = (residual.clone(), residual.clone());
        OpsAssert.Close(MambaOps.Reference.Norm.AddRmsNorm(residualA, delta, weight, 1e-5, false), kernels.AddRmsNorm(residualB, delta, weight, 1e-5, false), 1e-5, 1e-5, "add + RMSNorm");
        OpsAssert.Close(residualA, residualB, 1e-6, 1e-6, "residual + delta");
        OpsAssert.Close(MambaOps.Reference.Norm.AddRmsNorm(residual, null, weight, 1e-5, false), kernels.AddRmsNorm(residual, null, weight, 1e-5, false), 1e-5, 1e-5, "RMSNorm");
        OpsAssert.Close(MambaOps.Reference.Norm.GatedRmsNorm(residual, z, weight, groupSize, 1e-5), kernels.GatedRmsNorm(residual, z, weight, groupSize, 1e-5), 1e-5, 1e-5, "gated RMSNorm");
    }

    public static TheoryData<int, string, string, string> RowsAndDtypes => new()
    {
        { 1, "float32", "float32", "opt-in" }, { 3, "float32", "float32", "opt-in" }, { 8, "float32", "float32", "opt-in" },
        { 1, "bfloat16", "float32", "opt-in" }, { 5, "bfloat16", "float32", "opt-in" }, { 2, "bfloat16", "bfloat16", "opt-in" },
        { 3, "float32", "float32", "fused projections only" }, { 5, "bfloat16", "float32", "fused projections only" },
    };

    [EmulatorTheory]
    [MemberData(nameof(RowsAndDtypes))]
    public void Projection_kernels_match_the_ops_they_fuse(int rows, string dtypeName, string residualName, string variants)
    {
        var dtype = dtypeName == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32;
        var residualDtype = residualName == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32;
        // With every opt-in variant Mamba-1's update runs a thread per channel; with the projections alone, lanes per channel.
        var set = variants == "opt-in" ? EmulatedKernels.OptIn : EmulatedKernels.FusedProjectionsOnly;
        Assert.True(set.FusedProjections!.Takes(rows, dtype));
        FusedProjectionChecks.MatchTheOpsTheyFuse(set.FusedProjections!, set.Linear, rows, dtype, dtype, residualDtype);
    }

    [EmulatorTheory]
    [InlineData(1, "float32")]
    [InlineData(3, "bfloat16")]
    public void Projection_kernels_match_the_ops_they_fuse_over_inputs_past_one_batch_of_weight_loads(int rows, string dtypeName)
    {
        // in_proj's 1160 and out_proj's 1320 inputs: more than one batch of 4 x 256 a warp loads at once, the last one partial.
        var dtype = dtypeName == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32;
        var set = EmulatedKernels.OptIn;
        FusedProjectionChecks.MatchTheOpsTheyFuse(set.FusedProjections!, set.Linear, rows, dtype, dtype, ScalarType.Float32, hidden: 1160, inner: 1320, groupSize: 440);
    }

    [EmulatorTheory]
    [InlineData("dev-mamba2", "float32")]
    [InlineData("dev-mamba1", "float32")]
    [InlineData("dev-mamba2", "bfloat16")]
    public void A_model_decodes_the_same_with_the_norms_and_residual_adds_fused_into_its_projections(string fixture, string dtypeName)
    {
        FusedProjectionChecks.ModelDecodesTheSame(EmulatedKernels.OptIn, fixture, dtypeName);
    }

    [Fact]
    public void Kernel_choices_come_from_the_environment_and_an_unknown_value_names_its_variable()
    {
        Assert.Equal(KernelChoices.Default, KernelChoices.Parse(null, ""));
        Assert.Equal(KernelChoices.Default, KernelChoices.Parse("auto", "cublas", "auto"));
        Assert.Equal(new KernelChoices(PrefillScan.Tiled, GemvProjections: true), KernelChoices.Parse(" Tiled", "fused"));
        Assert.Equal(KernelChoices.OptIn, KernelChoices.Parse("tiled", "fused", "vector"));
        Assert.Equal(KernelChoices.RowWarps, KernelChoices.Parse("row-warps", null, "row-warps"));
        Assert.True(KernelChoices.Parse("chunked", null).ChunkedScan);
        Assert.False(KernelChoices.Default.ChunkedScan);
        // Tensor cores take Mamba-2's bf16 prefills; anything else falls to auto's choice.
        var tensorCores = KernelChoices.Parse("tensor-cores", null);
        Assert.True(tensorCores.TensorCoreMamba2Scan(ScalarType.BFloat16));
        Assert.False(tensorCores.TensorCoreMamba2Scan(ScalarType.Float32));
        Assert.False(KernelChoices.Default.TensorCoreMamba2Scan(ScalarType.BFloat16));
        Assert.True(tensorCores.TiledMamba2Scan(sequences: 32, heads: 24));
        Assert.False(tensorCores.TiledMamba2Scan(sequences: 1, heads: 24));
        Assert.True(KernelChoices.Parse("block-scan", null).BlockMamba1Scan);
        Assert.False(KernelChoices.Default.BlockMamba1Scan);
        var error = Assert.Throws<System.ArgumentException>(() => KernelChoices.Parse("parallel", null));
        Assert.Contains(KernelChoices.PrefillScanVariable + "=parallel", error.Message);
        error = Assert.Throws<System.ArgumentException>(() => KernelChoices.Parse(null, "yes"));
        Assert.Contains(KernelChoices.ProjectionsVariable + "=yes", error.Message);
        Assert.True(KernelChoices.Parse(null, null, "wide").WideMamba2Update);
        Assert.True(KernelChoices.Default.WideMamba2Update);
        Assert.False(KernelChoices.Parse(null, null, "row-warps").WideMamba2Update);
        Assert.False(KernelChoices.Parse(null, null, "vector").WideMamba2Update);
        error = Assert.Throws<System.ArgumentException>(() => KernelChoices.Parse(null, null, "scalar"));
        Assert.Contains(KernelChoices.DecodeSsmVariable + "=scalar", error.Message);
    }

    [Fact]
    public void Auto_takes_the_tiled_scans_only_where_the_sequences_fill_the_machine_and_forced_choices_hold()
    {
        var auto = KernelChoices.Default;
        // mamba2-130m: 24 heads. One long prompt stays on row warps; 32 prompts take the tiled scan.
        Assert.False(auto.TiledMamba2Scan(sequences: 1, heads: 24));
        Assert.True(auto.TiledMamba2Scan(sequences: 32, heads: 24));
        Assert.True(auto.TiledMamba2Scan(sequences: 11, heads: 24));
        Assert.False(auto.TiledMamba2Scan(sequences: 10, heads: 24));
        // mamba-130m: 1536 channels, 12 blocks of 128 a sequence.
        Assert.False(auto.TiledMamba1Scan(sequences: 1, channels: 1536));
        Assert.True(auto.TiledMamba1Scan(sequences: 32, channels: 1536));
        Assert.True(KernelChoices.OptIn.TiledMamba2Scan(1, 1));
        Assert.False(KernelChoices.RowWarps.TiledMamba1Scan(1000, 100_000));
        Assert.True(auto.ChannelMamba1Update);
        Assert.False(auto.VectorMamba2Update);
        Assert.False(KernelChoices.RowWarps.ChannelMamba1Update);
        Assert.True(KernelChoices.OptIn.VectorMamba2Update);
    }

    public static TheoryData<string> FusedKinds => new()
    {
        MixerUnderTest.Mamba1, MixerUnderTest.Mamba2, MixerUnderTest.Mamba2TwoGroups, MixerUnderTest.Mamba2WideState, MixerUnderTest.ShortConvKind,
    };

    [EmulatorTheory]
    [MemberData(nameof(FusedKinds))]
    public void A_block_updates_its_residual_the_same_with_its_projections_fused(string kind)
    {
        // One block as IMambaMixer.ForwardInto: the kernels' fused projections against the same ops composed, over
        // prefills, a mixed step and decodes with a padding row, from dirty blocks.
        var viaKernels = MixerUnderTest.Create(kind, seed: 41);
        var viaReference = MixerUnderTest.Create(kind, seed: 41);
        using var cacheA = viaKernels.Allocate(4);
        using var cacheB = viaReference.Allocate(4);
        viaKernels.DirtyStates(viaReference, seed: 9);

        var blockNorm = new MambaGen.Layers.RmsNorm("norm", viaKernels.HiddenSize, 1e-5);
        MixerUnderTest.SeedWeights(blockNorm, 5);
        var steps = new[]
        {
            new[] { new ScheduledRequest(0, 3, 1), new ScheduledRequest(0, 2, 3) },
            new[] { new ScheduledRequest(3, 1, 1), new ScheduledRequest(2, 3, 3), new ScheduledRequest(0, 1, 2) },
            new[] { new ScheduledRequest(4, 1, 1), ScheduledRequest.Padding(), new ScheduledRequest(5, 1, 3), new ScheduledRequest(1, 1, 2) },
        };
        int seed = 60;
        foreach (var requests in steps)
        {
            var common = new CommonAttentionMetadata(requests);
            using var a = MixerUnderTest.Builder(kind, EmulatedKernels.OptIn).Build(common);
            using var b = MixerUnderTest.Builder(kind, MambaOps.Reference).Build(common);
            var residual = viaKernels.Hidden(seed++, common.NumActualTokens);
            var (residualA, residualB) = (residual.clone(), residual.clone());
            ((IMambaMixer)viaKernels.Layer).ForwardInto(residualA, blockNorm, a, EmulatedKernels.OptIn.FusedProjections!);
            ((IMambaMixer)viaReference.Layer).ForwardInto(residualB, blockNorm, b, ComposedProjections.Reference);
            var real = torch.tensor(Enumerable.Range(0, requests.Length).Where(i => !requests[i].IsPadding)
                .SelectMany(i => Enumerable.Range(common.QueryStartLoc[i], requests[i].NumScheduledTokens)).Select(t => (long)t).ToArray());
            string what = $"{kind}, step of {string.Join(" + ", requests.Select(r => r.NumScheduledTokens))} tokens";
            OpsAssert.Close(residualB.index_select(0, real), residualA.index_select(0, real), 2e-5, 2e-5, what + ": residual");
            for (int i = 0; i < viaKernels.Layer.KvCache.Count; i++)
            {
                OpsAssert.Close(viaReference.Layer.KvCache[i], viaKernels.Layer.KvCache[i], 2e-5, 2e-5, $"{what}: state {i}");
            }
        }
    }

    [EmulatorTheory]
    [InlineData("dev-mamba2", "opt-in", 3)]
    [InlineData("dev-mamba1", "opt-in", 4)]
    [InlineData("dev-mamba2", "default", 4)]
    [InlineData("dev-mamba1", "default", 3)]
    public void A_decode_step_launches_the_kernels_a_layer_it_should(string fixture, string variants, int kernelsPerLayer)
    {
        // Fused: Mamba-2 norm + in_proj + conv, SSM update, gated norm + out_proj + residual; Mamba-1 norm + in_proj +
        // conv, x_proj, update with dt_proj, out_proj + residual. Default: add + norm, conv, SSM update and (Mamba-2)
        // gated norm, the projections being libtorch's. Plus the final norm. A fallback to composed ops would launch more.
        using var scope = torch.NewDisposeScope();
        using var model = MambaLanguageModel.Load(HuggingFaceCheckpoint.Open(RepoPaths.Combine("tests", "fixtures", fixture)), CPU);
        var backbone = (MambaBackbone)model.named_children().Single(c => c.name == "backbone").module;
        var ops = variants switch
        {
            "opt-in" => EmulatedKernels.OptIn,
            "row-warps" => EmulatedKernels.RowWarps,
            "chunked" => EmulatedKernels.Chunked,
            _ => EmulatedKernels.Ops,
        };
        int chunk = model.CheckpointConfig is Mamba2CheckpointConfig m2 ? m2.ChunkSize : 8;
        MambaMetadataBuilder builder = fixture == "dev-mamba2" ? new Mamba2MetadataBuilder(CPU, chunk, ops) : new MambaMetadataBuilder(CPU, ops);
        using var cache = MambaStateCache.Allocate(model.Mixers, 2, CPU);
        using var metadata = builder.Build(new CommonAttentionMetadata(new[] { new ScheduledRequest(4, 1, 0), new ScheduledRequest(6, 1, 1) }));
        int before = EmulatedKernels.Launches;
        backbone.Forward(torch.tensor(new long[] { 5, 9 }), metadata);
        Assert.Equal(kernelsPerLayer * model.Mixers.Count + 1, EmulatedKernels.Launches - before);
    }
}
