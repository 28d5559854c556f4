using System.Linq;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Ops;

public class CausalConv1dTests
{
    private const int Dim = 6, Width = 4, Blocks = 8;

    /// <summary>Token by token, as §5.1: out = act(b + Σ w·window + w_last·x_t), window ← window[1:] ++ x_t.</summary>
    private static Tensor Reference(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, int[] queryStartLoc, int[] stateIndices, bool[] hasInitialState)
    {
        var xd = x.to(ScalarType.Float64);
        var w = weight.to(ScalarType.Float64);
        var output = torch.zeros(x.shape[0], Dim, dtype: ScalarType.Float64);
        for (int s = 0; s < stateIndices.Length; s++)
        {
            int block = stateIndices[s];
            var window = block >= 0 && hasInitialState[s] ? convStates[block].to(ScalarType.Float64).clone() : torch.zeros(Width - 1, Dim, dtype: ScalarType.Float64);
            for (int t = queryStartLoc[s]; t < queryStartLoc[s + 1]; t++)
            {
                var acc = bias is null ? torch.zeros(Dim, dtype: ScalarType.Float64) : bias.to(ScalarType.Float64).clone();
                for (int j = 0; j < Width - 1; j++)
                {
                    acc += w[.., j] * window[j];
                }

                acc += w[.., Width - 1] * xd[t];
                output[t] = silu ? acc * torch.sigmoid(acc) : acc;
                window = torch.cat(new[] { window[1..], xd[t].unsqueeze(0) }, 0);
            }

            if (block >= 0)
            {
                convStates[block] = window.to(convStates.dtype);
            }
        }

        return output;
    }

    private static (Tensor X, Tensor Weight, Tensor Bias, Tensor States) Inputs(int numTokens, ulong seed, ScalarType dtype = ScalarType.Float32)
    {
        var g = new Generator(seed);
        return (OpsAssert.Randn(g, numTokens, Dim).to(dtype), OpsAssert.Randn(g, Dim, Width).to(dtype),
            OpsAssert.Randn(g, Dim).to(dtype), OpsAssert.Randn(g, Blocks, Width - 1, Dim).mul(10).to(dtype));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Prefill_matches_token_by_token_reference_with_mixed_initial_states_and_padding(bool slotsOnDevice)
    {
        using var scope = torch.NewDisposeScope();
        // Lengths below, at and above W-1; a pad row; dirty blocks behind the sequences without an initial state.
        int[] lengths = { 5, 1, 2, 7, 3 }, blocks = { 3, 0, 5, -1, 6 };
        bool[] hasInit = { true, true, false, true, false };
        var qsl = OpsAssert.StartLoc(lengths);
        var (x, w, b, states) = Inputs(qsl[^1], 1);
        var expectedStates = states.clone();
        var expected = Reference(x, w, b, true, expectedStates, qsl, blocks, hasInit);

        using var slots = slotsOnDevice ? StateSlots.FromDevice(torch.tensor(blocks)) : StateSlots.FromHost(blocks, x.device);
        var y = CausalConv1d.Forward(x, w, b, true, states, qsl, slots, torch.tensor(hasInit));

        OpsAssert.Close(expected, y, 1e-4, 1e-5, "conv output");
        OpsAssert.Close(expectedStates, states, 0, 0, "conv states");
    }

    [Fact]
    public void Sequence_shorter_than_the_window_keeps_the_newest_older_state_entries()
    {
        using var scope = torch.NewDisposeScope();
        var (x, w, _, states) = Inputs(1, 2);
        var old = states[4].clone();
        using var slots = StateSlots.FromHost(new[] { 4 }, x.device);
        CausalConv1d.Forward(x, w, null, false, states, new[] { 0, 1 }, slots, torch.tensor(new[] { true }));

        OpsAssert.Same(torch.cat(new[] { old[1..], x }, 0), states[4], "shifted window");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Decode_update_equals_one_reference_step_and_leaves_pad_rows_untouched(bool slotsOnDevice)
    {
        using var scope = torch.NewDisposeScope();
        int[] blocks = { 2, -1, 5, 0 };
        var (x, w, b, states) = Inputs(blocks.Length, 3);
        var expectedStates = states.clone();
        var expected = Reference(x, w, b, true, expectedStates, OpsAssert.StartLoc(1, 1, 1, 1), blocks, new[] { true, true, true, true });

        using var slots = slotsOnDevice ? StateSlots.FromDevice(torch.tensor(blocks)) : StateSlots.FromHost(blocks, x.device);
        var y = CausalConv1d.Update(x, w, b, true, states, slots);

        var real = torch.tensor(new long[] { 0, 2, 3 });
        OpsAssert.Close(expected.index_select(0, real), y.index_select(0, real), 1e-4, 1e-5, "conv update output");
        OpsAssert.Close(expectedStates, states, 0, 0, "conv states");
    }

    [Fact]
    public void Decode_batch_of_only_padding_writes_nothing()
    {
        using var scope = torch.NewDisposeScope();
        var (x, w, b, states) = Inputs(3, 4);
        var before = states.clone();
        using var slots = StateSlots.FromDevice(torch.tensor(new[] { -1, -1, -1 }));
        CausalConv1d.Update(x, w, b, true, states, slots);
        OpsAssert.Same(before, states, "conv cache");
    }

    [Fact]
    public void Prefill_then_decode_updates_equals_one_full_prefill()
    {
        using var scope = torch.NewDisposeScope();
        int[] prefix = { 2, 5 }, blocks = { 1, 6 };
        const int Steps = 3;
        var full = OpsAssert.StartLoc(prefix.Select(n => n + Steps).ToArray());
        var (x, w, b, states) = Inputs(full[^1], 5);
        var hasInit = torch.tensor(new[] { false, false });
        using var slots = StateSlots.FromHost(blocks, x.device);

        var oneShotStates = states.clone();
        var oneShot = CausalConv1d.Forward(x, w, b, true, oneShotStates, full, slots, hasInit);

        var prefillRows = Enumerable.Range(0, 2).SelectMany(s => Enumerable.Range(full[s], prefix[s])).Select(i => (long)i).ToArray();
        var y = CausalConv1d.Forward(x.index_select(0, torch.tensor(prefillRows)), w, b, true, states, OpsAssert.StartLoc(prefix), slots, hasInit);
        OpsAssert.Close(oneShot.index_select(0, torch.tensor(prefillRows)), y, 1e-5, 1e-6, "prefill part");
        for (int step = 0; step < Steps; step++)
        {
            var rows = torch.tensor(new long[] { full[0] + prefix[0] + step, full[1] + prefix[1] + step });
            OpsAssert.Close(oneShot.index_select(0, rows), CausalConv1d.Update(x.index_select(0, rows), w, b, true, states, slots), 1e-5, 1e-6, $"decode step {step}");
        }

        OpsAssert.Same(oneShotStates, states, "conv cache");
    }

    [Fact]
    public void Bf16_inputs_and_state_match_the_reference_within_bf16_rounding()
    {
        using var scope = torch.NewDisposeScope();
        int[] lengths = { 3, 6 }, blocks = { 7, 2 };
        bool[] hasInit = { true, false };
        var qsl = OpsAssert.StartLoc(lengths);
        var (x, w, b, states) = Inputs(qsl[^1], 6, ScalarType.BFloat16);
        var expectedStates = states.clone();
        var expected = Reference(x, w, b, true, expectedStates, qsl, blocks, hasInit);

        using var slots = StateSlots.FromHost(blocks, x.device);
        var y = CausalConv1d.Forward(x, w, b, true, states, qsl, slots, torch.tensor(hasInit));

        Assert.Equal(ScalarType.BFloat16, y.dtype);
        OpsAssert.Close(expected, y, 1e-2, 2e-2, "bf16 conv output");
        OpsAssert.Same(expectedStates, states, "bf16 conv states");
    }

    [Fact]
    public void Conv_state_with_the_wrong_width_is_refused_by_name()
    {
        using var scope = torch.NewDisposeScope();
        var (x, w, b, _) = Inputs(2, 7);
        using var slots = StateSlots.FromHost(new[] { 0 }, x.device);
        var e = Assert.Throws<System.ArgumentException>(() => CausalConv1d.Forward(x, w, b, true, torch.zeros(2, Width, Dim), new[] { 0, 2 }, slots, torch.tensor(new[] { false })));
        Assert.Contains("convStates", e.Message);
    }
}
