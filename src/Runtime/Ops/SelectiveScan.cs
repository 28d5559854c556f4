using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// Mamba-1's selective scan over packed variable-length sequences (vLLM's <c>selective_scan_fn</c> and the per-channel
/// <c>selective_state_update</c>, research §5.4, mamba-refs §1.3-1.4), in plain tensor ops on the inputs' device.
/// Per channel d, state index n and token t, all in fp32:
/// δ = softplus(delta + deltaBias) (threshold 20, when enabled); h[d,n] = exp(δ·A[d,n])·h[d,n] + δ·B[t,n]·u[t,d];
/// y[t,d] = Σ_n C[t,n]·h[d,n] + D[d]·u[t,d]; y ·= silu(z[t,d]).
/// </summary>
/// <remarks>
/// <c>A = -exp(A_log)</c> is computed by the caller (once, in fp32). SSM states are <c>[blocks, D, N]</c> in the cache's
/// dtype; the scan itself runs in fp32. Sizes come as host arrays, blocks as <see cref="StateSlots"/>.
/// </remarks>
public static class SelectiveScan
{
    /// <summary>Elements of one [tokens, D, N] scan tensor processed at a time; longer prefills go segment by segment.</summary>
    internal const long ScanBudget = 1L << 25;

    /// <summary>
    /// Prefill: scans every sequence of a packed batch (a log2(longest sequence)-round parallel scan, no loop over
    /// tokens) and stores each sequence's final state. The packed tokens are cut into segments of about 2^25 / (D·N)
    /// tokens scanned one after the other (the state carried across), which bounds the fp32 [tokens, D, N] temporaries.
    /// </summary>
    /// <param name="u">Inputs [tokens, D] (post-conv x).</param>
    /// <param name="delta">Time steps before bias and softplus [tokens, D].</param>
    /// <param name="a">A = -exp(A_log): [D, N], fp32.</param>
    /// <param name="b">Input projections [tokens, N].</param>
    /// <param name="c">Output projections [tokens, N].</param>
    /// <param name="d">Skip weights [D] or null.</param>
    /// <param name="z">Gate [tokens, D] or null (y ·= silu(z)).</param>
    /// <param name="deltaBias">[D] or null, added to delta before softplus.</param>
    /// <param name="deltaSoftplus">Apply softplus to delta + deltaBias.</param>
    /// <param name="ssmStates">Cache [blocks, D, N], read where <paramref name="hasInitialState"/> holds, final states written in place.</param>
    /// <param name="queryStartLoc">Prefill-local cumulative token offsets [B+1] (host).</param>
    /// <param name="slots">Each sequence's block ([B] rows); padding rows are neither read nor written.</param>
    /// <param name="hasInitialState">bool [B] on the device: start from the stored state or from zeros.</param>
    /// <returns>y [tokens, D] in u's dtype.</returns>
    public static Tensor Forward(Tensor u, Tensor delta, Tensor a, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias, bool deltaSoftplus,
        Tensor ssmStates, int[] queryStartLoc, StateSlots slots, Tensor hasInitialState) =>
        Forward(u, delta, a, b, c, d, z, deltaBias, deltaSoftplus, ssmStates, queryStartLoc, slots, hasInitialState, ScanBudget);

    /// <summary>As the public overload, with the segment budget exposed so tests can force several segments.</summary>
    internal static Tensor Forward(Tensor u, Tensor delta, Tensor a, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias, bool deltaSoftplus,
        Tensor ssmStates, int[] queryStartLoc, StateSlots slots, Tensor hasInitialState, long scanBudget)
    {
        long numTokens = u.size(0);
        Check(u, delta, a, b, c, d, z, deltaBias, ssmStates, numTokens);
        var lengths = OpArgs.Lengths(queryStartLoc, numTokens);
        int numSeqs = lengths.Length;
        OpArgs.Dims(hasInitialState, nameof(hasInitialState), numSeqs);
        slots.Check(numSeqs, ssmStates, nameof(ssmStates));
        long channels = a.size(0), stateDim = a.size(1);
        int segment = (int)Math.Clamp(scanBudget / (channels * stateDim), 1, int.MaxValue);

        using var scope = torch.NewDisposeScope();
        var device = u.device;
        var af = a.to(ScalarType.Float32);
        var dt = Delta(delta, deltaBias, deltaSoftplus);
        var gathered = slots.Gather(ssmStates);
        var h0 = slots.Masked(gathered, hasInitialState).to(ScalarType.Float32);
        var final = torch.empty_like(h0);
        var parts = new List<Tensor>();
        Tensor? carry = null;
        for (int t0 = 0, seq = 0; t0 < numTokens; t0 += segment)
        {
            int t1 = (int)Math.Min(numTokens, (long)t0 + segment);
            while (queryStartLoc[seq + 1] <= t0)
            {
                seq++;
            }

            // Where the recurrence restarts in this segment, and from what: row 0 of `sources` is the state carried
            // from the previous segment, row 1 + s sequence s's initial state.
            var restarts = new List<long>();
            var sources = new List<long>();
            var endRows = new List<long>();
            var endSeqs = new List<long>();
            int longestRun = 0;
            for (int s = seq; s < numSeqs && queryStartLoc[s] < t1; s++)
            {
                int from = Math.Max(queryStartLoc[s], t0), to = Math.Min(queryStartLoc[s + 1], t1);
                restarts.Add(from - t0);
                sources.Add(queryStartLoc[s] < t0 ? 0 : 1 + s);
                longestRun = Math.Max(longestRun, to - from);
                if (queryStartLoc[s + 1] <= t1)
                {
                    endRows.Add(queryStartLoc[s + 1] - 1 - t0);
                    endSeqs.Add(s);
                }
            }

            using var segmentScope = torch.NewDisposeScope();
            var dtPart = dt.narrow(0, t0, t1 - t0);
            var uPart = u.narrow(0, t0, t1 - t0);
            var decay = (dtPart.unsqueeze(2) * af).exp_();
            var input = (dtPart * uPart).unsqueeze(2) * b.narrow(0, t0, t1 - t0).unsqueeze(1);

            // At each restart the recurrence begins from its initial state: b += a·h_init, then a = 0.
            var at = OpArgs.Upload(restarts.ToArray(), device);
            var inits = torch.cat(new[] { carry ?? h0.narrow(0, 0, 1), h0 }, 0).index_select(0, OpArgs.Upload(sources.ToArray(), device));
            input.index_copy_(0, at, input.index_select(0, at).addcmul_(decay.index_select(0, at), inits, 1));
            decay.index_fill_(0, at, 0);

            var h = LinearScan.Inclusive(decay, input, longestRun);
            parts.Add(Output(h, uPart, c.narrow(0, t0, t1 - t0), d, z?.narrow(0, t0, t1 - t0)).to(u.dtype).MoveToOuterDisposeScope());
            if (endRows.Count > 0)
            {
                final.index_copy_(0, OpArgs.Upload(endSeqs.ToArray(), device), h.index_select(0, OpArgs.Upload(endRows.ToArray(), device)));
            }

            carry?.Dispose();
            carry = t1 < numTokens ? h.narrow(0, t1 - t0 - 1, 1).clone().MoveToOuterDisposeScope() : null;
        }

        slots.Scatter(ssmStates, final, gathered);
        var y = parts.Count == 1 ? parts[0] : torch.cat(parts, 0);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>Decode: one token per sequence, the state advanced in the cache in place. No host sync.</summary>
    /// <param name="ssmStates">Cache [blocks, D, N].</param>
    /// <param name="x">Inputs [batch, D].</param>
    /// <param name="delta">Time steps before bias and softplus [batch, D].</param>
    /// <param name="a">A = -exp(A_log): [D, N], fp32.</param>
    /// <param name="b">[batch, N].</param>
    /// <param name="c">[batch, N].</param>
    /// <param name="d">[D] or null.</param>
    /// <param name="z">Gate [batch, D] or null.</param>
    /// <param name="deltaBias">[D] or null.</param>
    /// <param name="deltaSoftplus">Apply softplus to delta + deltaBias.</param>
    /// <param name="slots">Each row's block ([batch] rows); padding rows are neither read nor written.</param>
    /// <returns>y [batch, D] in x's dtype.</returns>
    public static Tensor Update(Tensor ssmStates, Tensor x, Tensor delta, Tensor a, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias, bool deltaSoftplus, StateSlots slots)
    {
        Check(x, delta, a, b, c, d, z, deltaBias, ssmStates, x.size(0));
        slots.Check(x.size(0), ssmStates, nameof(ssmStates));

        using var scope = torch.NewDisposeScope();
        var dt = Delta(delta, deltaBias, deltaSoftplus);
        var gathered = slots.Gather(ssmStates);
        var h = slots.Fp32Working(gathered).mul_((dt.unsqueeze(2) * a).exp_());
        h.addcmul_((dt * x).unsqueeze(2), b.unsqueeze(1), 1);
        var y = Output(h, x, c, d, z);
        slots.Scatter(ssmStates, h, gathered);
        return y.to(x.dtype).MoveToOuterDisposeScope();
    }

    private static Tensor Delta(Tensor delta, Tensor? deltaBias, bool softplus)
    {
        var dt = delta.to(ScalarType.Float32);
        if (deltaBias is not null)
        {
            dt = dt + deltaBias.to(ScalarType.Float32);
        }

        return softplus ? OpArgs.Softplus(dt) : dt;
    }

    /// <summary>y = h·C + D·u, gated by silu(z), in fp32: h [rows, D, N] fp32, u [rows, D] (promoted).</summary>
    private static Tensor Output(Tensor h, Tensor u, Tensor c, Tensor? d, Tensor? z)
    {
        var y = h.bmm(c.to(ScalarType.Float32).unsqueeze(2)).squeeze(2);
        if (d is not null)
        {
            y.addcmul_(u, d.to(ScalarType.Float32), 1);
        }

        if (z is not null)
        {
            y.mul_(nn.functional.silu(z.to(ScalarType.Float32)));
        }

        return y;
    }

    internal static void Check(Tensor u, Tensor delta, Tensor a, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias, Tensor ssmStates, long rows)
    {
        OpArgs.Floating(u, "u");
        if (a.dim() != 2)
        {
            throw new ArgumentException($"A must be [D, N]; got {OpArgs.Shape(a)}.", nameof(a));
        }

        long channels = a.size(0), n = a.size(1);
        OpArgs.Dims(u, "u", rows, channels);
        OpArgs.Dims(delta, nameof(delta), rows, channels);
        OpArgs.Dims(b, "B", rows, n);
        OpArgs.Dims(c, "C", rows, n);
        OpArgs.Dims(ssmStates, nameof(ssmStates), -1, channels, n);
        if (d is not null)
        {
            OpArgs.Dims(d, "D", channels);
        }

        if (z is not null)
        {
            OpArgs.Dims(z, nameof(z), rows, channels);
        }

        if (deltaBias is not null)
        {
            OpArgs.Dims(deltaBias, nameof(deltaBias), channels);
        }

        foreach (var (t, name) in new[] { (delta, "delta"), (a, "A"), (b, "B"), (c, "C"), (ssmStates, "ssmStates") })
        {
            OpArgs.SameDevice(u, t, name);
        }

        OpArgs.SameDevice(u, d, "D");
        OpArgs.SameDevice(u, z, "z");
        OpArgs.SameDevice(u, deltaBias, "deltaBias");
    }
}
