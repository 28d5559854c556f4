using System.Linq;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Ops;

public class SelectiveScanTests
{
    private const int Channels = 5, StateDim = 3, Blocks = 8;

    private sealed record Inputs(Tensor U, Tensor Delta, Tensor A, Tensor B, Tensor C, Tensor D, Tensor Z, Tensor DeltaBias, Tensor States);

    private static Inputs Make(int numTokens, ulong seed, ScalarType dtype = ScalarType.Float32)
    {
        var g = new Generator(seed);
        var deltaBias = OpsAssert.Uniform(g, -4, -1, Channels);
        deltaBias[Channels - 1] = torch.tensor(21f); // one channel past softplus's threshold of 20
        return new Inputs(
            OpsAssert.Randn(g, numTokens, Channels).to(dtype),
            OpsAssert.Randn(g, numTokens, Channels).mul(0.5).to(dtype),
            OpsAssert.Uniform(g, 0, 2.5, Channels, StateDim).exp().neg(),
            OpsAssert.Randn(g, numTokens, StateDim).to(dtype),
            OpsAssert.Randn(g, numTokens, StateDim).to(dtype),
            OpsAssert.Randn(g, Channels),
            OpsAssert.Randn(g, numTokens, Channels).to(dtype),
            deltaBias,
            OpsAssert.Randn(g, Blocks, Channels, StateDim).mul(10));
    }

    /// <summary>Token by token, as §5.4: h = exp(δA)·h + δ·B·u; y = C·h + D·u; y ·= silu(z).</summary>
    private static Tensor Reference(Inputs p, bool gateAndSkip, bool softplus, Tensor states, int[] queryStartLoc, int[] stateIndices, bool[] hasInitialState)
    {
        var f = ScalarType.Float64;
        var output = torch.zeros(p.U.shape[0], Channels, dtype: f);
        for (int s = 0; s < stateIndices.Length; s++)
        {
            int block = stateIndices[s];
            var h = block >= 0 && hasInitialState[s] ? states[block].to(f).clone() : torch.zeros(Channels, StateDim, dtype: f);
            for (int t = queryStartLoc[s]; t < queryStartLoc[s + 1]; t++)
            {
                var delta = p.Delta[t].to(f) + p.DeltaBias.to(f);
                if (softplus)
                {
                    delta = torch.where(delta > 20, delta, delta.exp().log1p());
                }

                h = (delta.unsqueeze(1) * p.A.to(f)).exp() * h + (delta * p.U[t].to(f)).unsqueeze(1) * p.B[t].to(f).unsqueeze(0);
                var y = (h * p.C[t].to(f).unsqueeze(0)).sum(1);
                if (gateAndSkip)
                {
                    var z = p.Z[t].to(f);
                    y = (y + p.D.to(f) * p.U[t].to(f)) * z * torch.sigmoid(z);
                }

                output[t] = y;
            }

            if (block >= 0)
            {
                states[block] = h.to(states.dtype);
            }
        }

        return output;
    }

    private static Tensor Prefill(Inputs p, Tensor states, int[] queryStartLoc, StateSlots slots, bool[] hasInit, bool gateAndSkip = true, bool softplus = true) =>
        SelectiveScan.Forward(p.U, p.Delta, p.A, p.B, p.C, gateAndSkip ? p.D : null, gateAndSkip ? p.Z : null, p.DeltaBias, softplus,
            states, queryStartLoc, slots, torch.tensor(hasInit));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Prefill_matches_sequential_reference_with_mixed_initial_states_and_padding(bool slotsOnDevice)
    {
        using var scope = torch.NewDisposeScope();
        // Dirty blocks behind the sequence without an initial state; a pad row; a length needing four scan rounds.
        int[] lengths = { 6, 1, 9, 3 }, blocks = { 2, 7, -1, 4 };
        bool[] hasInit = { true, false, true, true };
        var qsl = OpsAssert.StartLoc(lengths);
        var p = Make(qsl[^1], 11);
        var expectedStates = p.States.clone();
        var expected = Reference(p, true, true, expectedStates, qsl, blocks, hasInit);

        using var slots = slotsOnDevice ? StateSlots.FromDevice(torch.tensor(blocks)) : StateSlots.FromHost(blocks, p.U.device);
        var y = Prefill(p, p.States, qsl, slots, hasInit);

        OpsAssert.Close(expected, y, 1e-4, 1e-5, "scan output");
        OpsAssert.Close(expectedStates, p.States, 1e-4, 1e-5, "SSM states");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(5)]
    public void Prefill_scanned_in_segments_that_cut_through_sequences_matches_sequential_reference(int segmentTokens)
    {
        using var scope = torch.NewDisposeScope();
        int[] lengths = { 6, 1, 9, 3 }, blocks = { 2, 7, -1, 4 };
        bool[] hasInit = { true, false, true, true };
        var qsl = OpsAssert.StartLoc(lengths);
        var p = Make(qsl[^1], 17);
        var expectedStates = p.States.clone();
        var expected = Reference(p, true, true, expectedStates, qsl, blocks, hasInit);

        using var slots = StateSlots.FromHost(blocks, p.U.device);
        var y = SelectiveScan.Forward(p.U, p.Delta, p.A, p.B, p.C, p.D, p.Z, p.DeltaBias, true, p.States, qsl, slots, torch.tensor(hasInit),
            scanBudget: (long)segmentTokens * Channels * StateDim);

        OpsAssert.Close(expected, y, 1e-4, 1e-5, "segmented scan output");
        OpsAssert.Close(expectedStates, p.States, 1e-4, 1e-5, "SSM states");
    }

    [Fact]
    public void Prefill_without_gate_skip_or_softplus_matches_sequential_reference()
    {
        using var scope = torch.NewDisposeScope();
        int[] lengths = { 4, 7 }, blocks = { 0, 1 };
        bool[] hasInit = { false, true };
        var qsl = OpsAssert.StartLoc(lengths);
        var p = Make(qsl[^1], 12);
        p = p with { DeltaBias = p.DeltaBias.abs() }; // keep δ mostly positive without softplus
        var expectedStates = p.States.clone();
        var expected = Reference(p, false, false, expectedStates, qsl, blocks, hasInit);

        using var slots = StateSlots.FromHost(blocks, p.U.device);
        var y = Prefill(p, p.States, qsl, slots, hasInit, gateAndSkip: false, softplus: false);

        OpsAssert.Close(expected, y, 1e-4, 1e-5, "scan output");
        OpsAssert.Close(expectedStates, p.States, 1e-4, 1e-5, "SSM states");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Decode_update_equals_one_reference_step_and_leaves_pad_rows_untouched(bool slotsOnDevice)
    {
        using var scope = torch.NewDisposeScope();
        int[] blocks = { 6, -1, 1 };
        var p = Make(blocks.Length, 13);
        var expectedStates = p.States.clone();
        var expected = Reference(p, true, true, expectedStates, OpsAssert.StartLoc(1, 1, 1), blocks, new[] { true, true, true });

        using var slots = slotsOnDevice ? StateSlots.FromDevice(torch.tensor(blocks)) : StateSlots.FromHost(blocks, p.U.device);
        var y = SelectiveScan.Update(p.States, p.U, p.Delta, p.A, p.B, p.C, p.D, p.Z, p.DeltaBias, true, slots);

        var real = torch.tensor(new long[] { 0, 2 });
        OpsAssert.Close(expected.index_select(0, real), y.index_select(0, real), 1e-4, 1e-5, "update output");
        OpsAssert.Close(expectedStates, p.States, 1e-5, 1e-6, "SSM states");
    }

    [Fact]
    public void Prefill_then_decode_updates_equals_one_full_prefill()
    {
        using var scope = torch.NewDisposeScope();
        int[] prefix = { 3, 6 }, blocks = { 5, 3 };
        bool[] hasInit = { true, false };
        const int Steps = 3;
        var full = OpsAssert.StartLoc(prefix.Select(n => n + Steps).ToArray());
        var p = Make(full[^1], 14);
        using var slots = StateSlots.FromHost(blocks, p.U.device);
        var oneShotStates = p.States.clone();
        var oneShot = Prefill(p, oneShotStates, full, slots, hasInit);

        Inputs Rows(long[] rows)
        {
            var r = torch.tensor(rows);
            return p with { U = p.U.index_select(0, r), Delta = p.Delta.index_select(0, r), B = p.B.index_select(0, r), C = p.C.index_select(0, r), Z = p.Z.index_select(0, r) };
        }

        var prefillRows = Enumerable.Range(0, 2).SelectMany(s => Enumerable.Range(full[s], prefix[s])).Select(i => (long)i).ToArray();
        var y = Prefill(Rows(prefillRows), p.States, OpsAssert.StartLoc(prefix), slots, hasInit);
        OpsAssert.Close(oneShot.index_select(0, torch.tensor(prefillRows)), y, 1e-4, 1e-5, "prefill part");
        for (int step = 0; step < Steps; step++)
        {
            var rows = new long[] { full[0] + prefix[0] + step, full[1] + prefix[1] + step };
            var q = Rows(rows);
            var yStep = SelectiveScan.Update(p.States, q.U, q.Delta, q.A, q.B, q.C, q.D, q.Z, q.DeltaBias, true, slots);
            OpsAssert.Close(oneShot.index_select(0, torch.tensor(rows)), yStep, 1e-4, 1e-5, $"decode step {step}");
        }

        OpsAssert.Close(oneShotStates, p.States, 1e-4, 1e-5, "SSM states");
    }

    [Fact]
    public void Bf16_inputs_with_fp32_state_match_the_reference_within_bf16_rounding()
    {
        using var scope = torch.NewDisposeScope();
        int[] lengths = { 5, 8 }, blocks = { 0, 6 };
        bool[] hasInit = { true, false };
        var qsl = OpsAssert.StartLoc(lengths);
        var p = Make(qsl[^1], 15, ScalarType.BFloat16);
        var expectedStates = p.States.clone();
        var expected = Reference(p, true, true, expectedStates, qsl, blocks, hasInit);

        using var slots = StateSlots.FromHost(blocks, p.U.device);
        var y = Prefill(p, p.States, qsl, slots, hasInit);

        Assert.Equal(ScalarType.BFloat16, y.dtype);
        Assert.Equal(ScalarType.Float32, p.States.dtype);
        OpsAssert.Close(expected, y, 1e-2, 2e-2, "bf16 scan output");
        // The state is accumulated in fp32 from the same bf16 inputs, so it stays fp32-accurate.
        OpsAssert.Close(expectedStates, p.States, 1e-4, 1e-4, "fp32 SSM states");
    }

    [Fact]
    public void Bf16_decode_update_with_fp32_state_matches_one_reference_step()
    {
        using var scope = torch.NewDisposeScope();
        int[] blocks = { 4, 1 };
        var p = Make(blocks.Length, 16, ScalarType.BFloat16);
        var expectedStates = p.States.clone();
        var expected = Reference(p, true, true, expectedStates, OpsAssert.StartLoc(1, 1), blocks, new[] { true, true });

        using var slots = StateSlots.FromHost(blocks, p.U.device);
        var y = SelectiveScan.Update(p.States, p.U, p.Delta, p.A, p.B, p.C, p.D, p.Z, p.DeltaBias, true, slots);

        Assert.Equal(ScalarType.BFloat16, y.dtype);
        OpsAssert.Close(expected, y, 1e-2, 2e-2, "bf16 update output");
        OpsAssert.Close(expectedStates, p.States, 1e-5, 1e-5, "fp32 SSM states");
    }
}
