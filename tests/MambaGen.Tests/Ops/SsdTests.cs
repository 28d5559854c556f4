using System.Linq;
using MambaGen.Backends;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Ops;

public class SsdTests
{
    private const int Heads = 4, HeadDim = 3, Groups = 2, StateDim = 5, Blocks = 8, ChunkSize = 4;
    private static readonly (double, double) NoLimit = (0, double.PositiveInfinity);

    private sealed record Inputs(Tensor X, Tensor Dt, Tensor A, Tensor B, Tensor C, Tensor D, Tensor DtBias, Tensor States)
    {
        public Inputs Rows(long[] rows)
        {
            var r = torch.tensor(rows);
            return this with { X = X.index_select(0, r), Dt = Dt.index_select(0, r), B = B.index_select(0, r), C = C.index_select(0, r) };
        }
    }

    private static Inputs Make(int numTokens, ulong seed, ScalarType dtype = ScalarType.Float32, bool skipPerChannel = false)
    {
        var g = new Generator(seed);
        return new Inputs(
            OpsAssert.Randn(g, numTokens, Heads, HeadDim).to(dtype),
            OpsAssert.Randn(g, numTokens, Heads).to(dtype),
            OpsAssert.Uniform(g, 0, 2.5, Heads).exp().neg(),
            OpsAssert.Randn(g, numTokens, Groups, StateDim).to(dtype),
            OpsAssert.Randn(g, numTokens, Groups, StateDim).to(dtype),
            skipPerChannel ? OpsAssert.Randn(g, Heads, HeadDim) : OpsAssert.Randn(g, Heads),
            OpsAssert.Uniform(g, -3, -1, Heads),
            OpsAssert.Randn(g, Blocks, Heads, HeadDim, StateDim).mul(10));
    }

    /// <summary>Token by token, as §5.2: S = exp(dt·A)·S + dt·x⊗B; y = S·C + D·x, groups repeated over heads.</summary>
    private static (Tensor Y, Tensor Final) Reference(Inputs p, int[] queryStartLoc, Tensor initialStates, (double Min, double Max) limit)
    {
        var f = ScalarType.Float64;
        var y = torch.zeros(p.X.shape[0], Heads, HeadDim, dtype: f);
        var finals = torch.zeros(queryStartLoc.Length - 1, Heads, HeadDim, StateDim, dtype: f);
        var d = (p.D.dim() == 1 ? p.D.view(Heads, 1) : p.D).to(f);
        for (int s = 0; s + 1 < queryStartLoc.Length; s++)
        {
            var state = initialStates[s].to(f).clone();
            for (int t = queryStartLoc[s]; t < queryStartLoc[s + 1]; t++)
            {
                var dt = p.Dt[t].to(f) + p.DtBias.to(f);
                dt = torch.where(dt > 20, dt, dt.exp().log1p()).clamp(limit.Min, limit.Max);
                var b = p.B[t].to(f).repeat_interleave(Heads / Groups, 0);
                var c = p.C[t].to(f).repeat_interleave(Heads / Groups, 0);
                var x = p.X[t].to(f);
                state = (dt * p.A.to(f)).exp().view(Heads, 1, 1) * state + (dt.view(Heads, 1) * x).unsqueeze(2) * b.unsqueeze(1);
                y[t] = (state * c.unsqueeze(1)).sum(2) + d * x;
            }

            finals[s] = state;
        }

        return (y, finals);
    }

    /// <summary>The reference against a cache: masked initial states in, final states of real rows out.</summary>
    private static Tensor Reference(Inputs p, int[] queryStartLoc, Tensor states, int[] blocks, bool[] hasInit)
    {
        var init = torch.stack(blocks.Select((k, s) => k >= 0 && hasInit[s] ? states[k] : torch.zeros(Heads, HeadDim, StateDim)).ToArray());
        var (y, finals) = Reference(p, queryStartLoc, init, NoLimit);
        for (int s = 0; s < blocks.Length; s++)
        {
            if (blocks[s] >= 0)
            {
                states[blocks[s]] = finals[s].to(states.dtype);
            }
        }

        return y;
    }

    private static Tensor Prefill(Inputs p, int[] numComputed, int[] lengths, Tensor states, StateSlots slots, bool[] hasInit) =>
        Ssd.ChunkScan(p.X, p.Dt, p.A, p.B, p.C, p.D, p.DtBias, true, NoLimit, Mamba2ChunkLayout.Compute(numComputed, lengths, ChunkSize),
            states, slots, torch.tensor(hasInit));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Chunk_scan_matches_sequential_reference_with_resumed_and_fresh_sequences_and_padding(bool slotsOnDevice)
    {
        using var scope = torch.NewDisposeScope();
        // Five chunks in one sequence, resumed sequences whose first chunk is short, a one-token sequence, a pad row,
        // and a dirty block behind the fresh sequence.
        int[] computed = { 0, 5, 3, 8, 2 }, lengths = { 17, 6, 1, 3, 2 }, blocks = { 3, 0, 6, 5, -1 };
        bool[] hasInit = computed.Select(n => n > 0).ToArray();
        var qsl = OpsAssert.StartLoc(lengths);
        var p = Make(qsl[^1], 21);
        var expectedStates = p.States.clone();
        var expected = Reference(p, qsl, expectedStates, blocks, hasInit);

        using var slots = slotsOnDevice ? StateSlots.FromDevice(torch.tensor(blocks)) : StateSlots.FromHost(blocks, p.X.device);
        var y = Prefill(p, computed, lengths, p.States, slots, hasInit);

        OpsAssert.Close(expected, y, 1e-4, 1e-5, "SSD output");
        OpsAssert.Close(expectedStates, p.States, 1e-4, 1e-5, "SSM states");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Chunk_scan_with_explicit_initial_states_per_channel_skip_and_dt_limit_matches_reference(bool withInitialStates)
    {
        using var scope = torch.NewDisposeScope();
        int[] computed = { 6, 0 }, lengths = { 9, 4 };
        var qsl = OpsAssert.StartLoc(lengths);
        var p = Make(qsl[^1], 22, skipPerChannel: true);
        var init = withInitialStates ? OpsAssert.Randn(new Generator(23), 2, Heads, HeadDim, StateDim) : torch.zeros(2, Heads, HeadDim, StateDim);
        var limit = (0.05, 0.12);
        var (expected, expectedFinal) = Reference(p, qsl, init, limit);

        var (y, final) = Ssd.ChunkScan(p.X, p.Dt, p.A, p.B, p.C, p.D, p.DtBias, true, limit,
            Mamba2ChunkLayout.Compute(computed, lengths, ChunkSize), withInitialStates ? init : null);

        OpsAssert.Close(expected, y, 1e-4, 1e-5, "SSD output");
        Assert.Equal(ScalarType.Float32, final.dtype);
        OpsAssert.Close(expectedFinal, final, 1e-4, 1e-5, "final states");
    }

    [Fact]
    public void Intra_chunk_slicing_does_not_change_the_result()
    {
        using var scope = torch.NewDisposeScope();
        int[] computed = { 1, 0 }, lengths = { 14, 7 };
        var p = Make(lengths.Sum(), 24);
        var layout = Mamba2ChunkLayout.Compute(computed, lengths, ChunkSize);
        var (whole, wholeFinal) = Ssd.ChunkScan(p.X, p.Dt, p.A, p.B, p.C, p.D, p.DtBias, true, NoLimit, layout, null, Ssd.IntraChunkBudget);
        var (sliced, slicedFinal) = Ssd.ChunkScan(p.X, p.Dt, p.A, p.B, p.C, p.D, p.DtBias, true, NoLimit, layout, null, 1);
        OpsAssert.Close(whole, sliced, 1e-6, 1e-7, "sliced output");
        OpsAssert.Close(wholeFinal, slicedFinal, 0, 0, "sliced final states");
    }

    [Fact]
    public void Chunked_prefill_resumed_mid_chunk_equals_one_shot_prefill()
    {
        using var scope = torch.NewDisposeScope();
        var p = Make(11, 25);
        using var slots = StateSlots.FromHost(new[] { 2 }, p.X.device);
        var oneShotStates = p.States.clone();
        var oneShot = Prefill(p, new[] { 0 }, new[] { 11 }, oneShotStates, slots, new[] { false });

        var first = Prefill(p.Rows(Enumerable.Range(0, 5).Select(i => (long)i).ToArray()), new[] { 0 }, new[] { 5 }, p.States, slots, new[] { false });
        var second = Prefill(p.Rows(Enumerable.Range(5, 6).Select(i => (long)i).ToArray()), new[] { 5 }, new[] { 6 }, p.States, slots, new[] { true });

        OpsAssert.Close(oneShot, torch.cat(new[] { first, second }, 0), 1e-4, 1e-5, "chunked output");
        OpsAssert.Close(oneShotStates, p.States, 1e-4, 1e-5, "SSM states");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void State_update_equals_one_reference_step_and_leaves_pad_rows_untouched(bool slotsOnDevice)
    {
        using var scope = torch.NewDisposeScope();
        int[] blocks = { 4, -1, 7, 1 };
        var p = Make(blocks.Length, 26);
        var expectedStates = p.States.clone();
        var expected = Reference(p, OpsAssert.StartLoc(1, 1, 1, 1), expectedStates, blocks, new[] { true, true, true, true });

        using var slots = slotsOnDevice ? StateSlots.FromDevice(torch.tensor(blocks)) : StateSlots.FromHost(blocks, p.X.device);
        var y = Ssd.StateUpdate(p.States, p.X, p.Dt, p.A, p.B, p.C, p.D, p.DtBias, true, NoLimit, slots);

        var real = torch.tensor(new long[] { 0, 2, 3 });
        OpsAssert.Close(expected.index_select(0, real), y.index_select(0, real), 1e-4, 1e-5, "update output");
        OpsAssert.Close(expectedStates, p.States, 1e-5, 1e-6, "SSM states");
    }

    [Fact]
    public void State_update_of_only_padding_rows_writes_nothing()
    {
        using var scope = torch.NewDisposeScope();
        var p = Make(2, 27);
        var before = p.States.clone();
        using var slots = StateSlots.FromDevice(torch.tensor(new[] { -1, -1 }));
        Ssd.StateUpdate(p.States, p.X, p.Dt, p.A, p.B, p.C, p.D, p.DtBias, true, NoLimit, slots);
        OpsAssert.Same(before, p.States, "SSM cache");
    }

    [Fact]
    public void Prefill_then_state_updates_equals_one_full_prefill()
    {
        using var scope = torch.NewDisposeScope();
        int[] prefix = { 6, 3 }, blocks = { 0, 5 };
        bool[] hasInit = { false, true };
        const int Steps = 3;
        var lengths = prefix.Select(n => n + Steps).ToArray();
        var full = OpsAssert.StartLoc(lengths);
        var p = Make(full[^1], 28);
        using var slots = StateSlots.FromHost(blocks, p.X.device);
        var oneShotStates = p.States.clone();
        var oneShot = Prefill(p, new[] { 0, 9 }, lengths, oneShotStates, slots, hasInit);

        var prefillRows = Enumerable.Range(0, 2).SelectMany(s => Enumerable.Range(full[s], prefix[s])).Select(i => (long)i).ToArray();
        var y = Prefill(p.Rows(prefillRows), new[] { 0, 9 }, prefix, p.States, slots, hasInit);
        OpsAssert.Close(oneShot.index_select(0, torch.tensor(prefillRows)), y, 1e-4, 1e-5, "prefill part");
        for (int step = 0; step < Steps; step++)
        {
            var rows = new long[] { full[0] + prefix[0] + step, full[1] + prefix[1] + step };
            var q = p.Rows(rows);
            var yStep = Ssd.StateUpdate(p.States, q.X, q.Dt, q.A, q.B, q.C, q.D, q.DtBias, true, NoLimit, slots);
            OpsAssert.Close(oneShot.index_select(0, torch.tensor(rows)), yStep, 1e-4, 1e-5, $"decode step {step}");
        }

        OpsAssert.Close(oneShotStates, p.States, 1e-4, 1e-5, "SSM states");
    }

    [Fact]
    public void Bf16_inputs_with_fp32_state_match_the_reference_within_bf16_rounding()
    {
        using var scope = torch.NewDisposeScope();
        int[] computed = { 0, 7 }, lengths = { 10, 5 }, blocks = { 1, 6 };
        bool[] hasInit = { false, true };
        var qsl = OpsAssert.StartLoc(lengths);
        var p = Make(qsl[^1], 29, ScalarType.BFloat16);
        var expectedStates = p.States.clone();
        var expected = Reference(p, qsl, expectedStates, blocks, hasInit);

        using var slots = StateSlots.FromHost(blocks, p.X.device);
        var y = Prefill(p, computed, lengths, p.States, slots, hasInit);

        Assert.Equal(ScalarType.BFloat16, y.dtype);
        OpsAssert.Close(expected, y, 1e-2, 3e-2, "bf16 SSD output");
        OpsAssert.Close(expectedStates, p.States, 1e-4, 1e-4, "fp32 SSM states");
    }

    [Fact]
    public void Bf16_state_update_with_fp32_state_matches_one_reference_step()
    {
        using var scope = torch.NewDisposeScope();
        int[] blocks = { 3, 0, 6 };
        var p = Make(blocks.Length, 31, ScalarType.BFloat16);
        var expectedStates = p.States.clone();
        var expected = Reference(p, OpsAssert.StartLoc(1, 1, 1), expectedStates, blocks, new[] { true, true, true });

        using var slots = StateSlots.FromHost(blocks, p.X.device);
        var y = Ssd.StateUpdate(p.States, p.X, p.Dt, p.A, p.B, p.C, p.D, p.DtBias, true, NoLimit, slots);

        Assert.Equal(ScalarType.BFloat16, y.dtype);
        OpsAssert.Close(expected, y, 1e-2, 3e-2, "bf16 update output");
        OpsAssert.Close(expectedStates, p.States, 1e-5, 1e-5, "fp32 SSM states");
    }

    [Fact]
    public void Layout_that_does_not_cover_the_tokens_is_refused_by_name()
    {
        using var scope = torch.NewDisposeScope();
        var p = Make(6, 30);
        var e = Assert.Throws<System.ArgumentException>(() => Ssd.ChunkScan(p.X, p.Dt, p.A, p.B, p.C, p.D, p.DtBias, true, NoLimit,
            Mamba2ChunkLayout.Compute(new[] { 0 }, new[] { 5 }, ChunkSize), null));
        Assert.Contains("layout", e.Message);
    }
}
