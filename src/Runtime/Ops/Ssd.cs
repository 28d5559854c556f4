using System;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// Mamba-2's state-space duality (SSD) scan over packed variable-length sequences (vLLM's
/// <c>mamba_chunk_scan_combined_varlen</c> and <c>selective_state_update</c>, research §5.2-5.3, mamba-refs §2.3-2.6),
/// in plain tensor ops on the inputs' device. Per head h (group g = h / (H/G)), token t, all in fp32:
/// dt = clamp(softplus(dt + dtBias), dtLimit); S = exp(dt·A[h])·S + dt·x[t,h,:]⊗B[t,g,:]; y[t,h,:] = S·C[t,g,:] + D[h]·x[t,h,:].
/// </summary>
/// <remarks>
/// <c>A = -exp(A_log)</c> ([H], fp32) is computed by the caller. SSM states are <c>[blocks, H, P, N]</c> in the cache's
/// dtype; the math runs in fp32 and outputs have x's dtype. The gate z is not applied here (Mamba-2 gates in
/// <see cref="GatedRmsNorm"/>). Chunk boundaries come from <see cref="Mamba2ChunkLayout"/> (host), so no device sync is
/// needed to size anything.
/// </remarks>
public static class Ssd
{
    /// <summary>Elements of one intra-chunk [chunks, H, Q, Q] slice computed at a time, to bound memory.</summary>
    internal const long IntraChunkBudget = 1L << 26;

    /// <summary>
    /// Prefill with explicit initial states: intra-chunk outputs as batched matmuls over a padded [chunks, Q, ...] layout
    /// (Q = the longest chunk; padding has dt = 0 and contributes nothing), chunk states passed between chunks by a
    /// log2(chunks)-round parallel scan that restarts at each sequence's first chunk.
    /// </summary>
    /// <param name="x">[tokens, H, P].</param>
    /// <param name="dt">Time steps before bias and softplus [tokens, H].</param>
    /// <param name="a">A = -exp(A_log): [H], fp32.</param>
    /// <param name="b">[tokens, G, N], H divisible by G.</param>
    /// <param name="c">[tokens, G, N].</param>
    /// <param name="d">Skip weights [H] or [H, P], or null.</param>
    /// <param name="dtBias">[H] or null, added before softplus.</param>
    /// <param name="dtSoftplus">Apply softplus (threshold 20) to dt + dtBias.</param>
    /// <param name="dtLimit">Clamp of the processed dt; Mamba-2's default is (0, +∞).</param>
    /// <param name="layout">Chunks of this prefill batch (tokens are prefill-local, sequences packed in order).</param>
    /// <param name="initialStates">[B, H, P, N] (any float dtype) or null for zeros.</param>
    /// <returns>y [tokens, H, P] in x's dtype, and each sequence's final state [B, H, P, N] in fp32.</returns>
    public static (Tensor Y, Tensor FinalStates) ChunkScan(Tensor x, Tensor dt, Tensor a, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus,
        (double Min, double Max) dtLimit, Mamba2ChunkLayout layout, Tensor? initialStates) =>
        ChunkScan(x, dt, a, b, c, d, dtBias, dtSoftplus, dtLimit, layout, initialStates, IntraChunkBudget);

    /// <summary>As the public overload, with the intra-chunk slice budget exposed so tests can force slicing.</summary>
    internal static (Tensor Y, Tensor FinalStates) ChunkScan(Tensor x, Tensor dt, Tensor a, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus,
        (double Min, double Max) dtLimit, Mamba2ChunkLayout layout, Tensor? initialStates, long intraChunkBudget)
    {
        var (heads, headDim, stateDim) = Check(x, dt, a, b, c, d, dtBias, x.size(0));
        int numSeqs = CheckLayout(layout, x.size(0));
        if (initialStates is not null)
        {
            OpArgs.Dims(initialStates, nameof(initialStates), numSeqs, heads, headDim, stateDim);
            OpArgs.SameDevice(x, initialStates, nameof(initialStates));
        }

        using var scope = torch.NewDisposeScope();
        var init = initialStates?.to(ScalarType.Float32) ?? torch.zeros(numSeqs, heads, headDim, stateDim, dtype: ScalarType.Float32, device: x.device);
        var (y, final) = Scan(x, dt, a, b, c, d, dtBias, dtSoftplus, dtLimit, layout, init, intraChunkBudget);
        return (y.MoveToOuterDisposeScope(), final.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Prefill against the SSM cache: initial states are read where <paramref name="hasInitialState"/> holds (zeros
    /// otherwise, whatever the block holds) and each sequence's final state is written back in the cache's dtype.
    /// </summary>
    /// <param name="x">[tokens, H, P].</param>
    /// <param name="dt">Time steps before bias and softplus [tokens, H].</param>
    /// <param name="a">A = -exp(A_log): [H], fp32.</param>
    /// <param name="b">[tokens, G, N], H divisible by G.</param>
    /// <param name="c">[tokens, G, N].</param>
    /// <param name="d">Skip weights [H] or [H, P], or null.</param>
    /// <param name="dtBias">[H] or null, added before softplus.</param>
    /// <param name="dtSoftplus">Apply softplus (threshold 20) to dt + dtBias.</param>
    /// <param name="dtLimit">Clamp of the processed dt; Mamba-2's default is (0, +∞).</param>
    /// <param name="layout">Chunks of this prefill batch (tokens are prefill-local, sequences packed in order).</param>
    /// <param name="ssmStates">Cache [blocks, H, P, N], updated in place for every real row of <paramref name="slots"/>.</param>
    /// <param name="slots">Each sequence's block ([B] rows); padding rows are neither read nor written.</param>
    /// <param name="hasInitialState">bool [B] on the device.</param>
    /// <returns>y [tokens, H, P] in x's dtype.</returns>
    public static Tensor ChunkScan(Tensor x, Tensor dt, Tensor a, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus,
        (double Min, double Max) dtLimit, Mamba2ChunkLayout layout, Tensor ssmStates, StateSlots slots, Tensor hasInitialState)
    {
        var (heads, headDim, stateDim) = Check(x, dt, a, b, c, d, dtBias, x.size(0));
        int numSeqs = CheckLayout(layout, x.size(0));
        OpArgs.Dims(ssmStates, nameof(ssmStates), -1, heads, headDim, stateDim);
        OpArgs.Dims(hasInitialState, nameof(hasInitialState), numSeqs);
        slots.Check(numSeqs, ssmStates, nameof(ssmStates));

        using var scope = torch.NewDisposeScope();
        var gathered = slots.Gather(ssmStates);
        var init = slots.Masked(gathered, hasInitialState).to(ScalarType.Float32);
        var (y, final) = Scan(x, dt, a, b, c, d, dtBias, dtSoftplus, dtLimit, layout, init, IntraChunkBudget);
        slots.Scatter(ssmStates, final, gathered);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Decode: one token per sequence, the state advanced in the cache in place (vLLM's <c>selective_state_update</c>
    /// with per-head dt and A). No host sync; about a dozen kernels (inputs of another dtype are promoted to fp32 inside them), plus two
    /// when <paramref name="slots"/> may hold padding.
    /// </summary>
    /// <param name="ssmStates">Cache [blocks, H, P, N].</param>
    /// <param name="x">[batch, H, P].</param>
    /// <param name="dt">[batch, H], before bias and softplus.</param>
    /// <param name="a">A = -exp(A_log): [H], fp32.</param>
    /// <param name="b">[batch, G, N].</param>
    /// <param name="c">[batch, G, N].</param>
    /// <param name="d">[H] or [H, P], or null.</param>
    /// <param name="dtBias">[H] or null.</param>
    /// <param name="dtSoftplus">Apply softplus to dt + dtBias.</param>
    /// <param name="dtLimit">Clamp of the processed dt (vLLM's decode kernel has none; the default (0, +∞) is a no-op either way).</param>
    /// <param name="slots">Each row's block ([batch] rows); padding rows are neither read nor written.</param>
    /// <returns>y [batch, H, P] in x's dtype.</returns>
    public static Tensor StateUpdate(Tensor ssmStates, Tensor x, Tensor dt, Tensor a, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus,
        (double Min, double Max) dtLimit, StateSlots slots)
    {
        long batch = x.size(0);
        var (heads, headDim, stateDim) = Check(x, dt, a, b, c, d, dtBias, batch);
        long groups = b.size(1), groupWidth = heads / groups * headDim;
        OpArgs.Dims(ssmStates, nameof(ssmStates), -1, heads, headDim, stateDim);
        slots.Check(batch, ssmStates, nameof(ssmStates));

        using var scope = torch.NewDisposeScope();
        var step = ProcessDt(dt, dtBias, dtSoftplus, dtLimit);
        var gathered = slots.Gather(ssmStates);
        var state = slots.Fp32Working(gathered);
        state.mul_((step * a).exp_().view(batch, heads, 1, 1));
        // Groups stay un-repeated: each group's B/C row serves its heads through a grouped view of the state.
        var grouped = state.view(batch, groups, groupWidth, stateDim);
        grouped.addcmul_((x * step.unsqueeze(2)).view(batch, groups, groupWidth, 1), b.unsqueeze(2), 1);
        var y = grouped.matmul(c.to(ScalarType.Float32).unsqueeze(3)).view(batch, heads, headDim);
        if (d is not null)
        {
            y.addcmul_(x, SkipWeights(d, heads), 1);
        }

        slots.Scatter(ssmStates, state, gathered);
        return y.to(x.dtype).MoveToOuterDisposeScope();
    }

    private static (Tensor Y, Tensor Final) Scan(Tensor x, Tensor dt, Tensor a, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus,
        (double Min, double Max) dtLimit, Mamba2ChunkLayout layout, Tensor init, long intraChunkBudget)
    {
        long numTokens = x.size(0), heads = x.size(1), headDim = x.size(2);
        long groups = b.size(1), stateDim = b.size(2), perGroup = heads / groups;
        var cu = layout.CuChunkSeqlen;
        var seqIdx = layout.SeqIdx;
        int numChunks = layout.NumChunks;
        int width = Enumerable.Range(0, numChunks).Max(k => cu[k + 1] - cu[k]);
        var device = x.device;

        // Host-built gathers: padded chunk slots (padding reads token 0 with dt masked to 0), and back.
        var gather = new long[numChunks * width];
        var real = new float[numChunks * width];
        var unpad = new long[numTokens];
        var chunkBefore = new long[numChunks];
        var firstChunks = new System.Collections.Generic.List<long>();
        var firstSeqs = new System.Collections.Generic.List<long>();
        int longestRun = 0, run = 0;
        for (int k = 0; k < numChunks; k++)
        {
            for (int t = cu[k]; t < cu[k + 1]; t++)
            {
                gather[k * width + t - cu[k]] = t;
                real[k * width + t - cu[k]] = 1;
                unpad[t] = (long)k * width + t - cu[k];
            }

            bool first = k == 0 || seqIdx[k] != seqIdx[k - 1];
            run = first ? 1 : run + 1;
            longestRun = Math.Max(longestRun, run);
            // The state entering chunk k: the previous chunk's end state, or (index past the chunks) the sequence's initial state.
            chunkBefore[k] = first ? numChunks + seqIdx[k] : k - 1;
            if (first)
            {
                firstChunks.Add(k);
                firstSeqs.Add(seqIdx[k]);
            }
        }

        var gatherT = OpArgs.Upload(gather, device);
        var step = ProcessDt(dt, dtBias, dtSoftplus, dtLimit).index_select(0, gatherT).view(numChunks, width, heads)
            .mul_(OpArgs.Upload(real, device).view(numChunks, width, 1));
        var xs = x.index_select(0, gatherT).to(ScalarType.Float32).view(numChunks, width, heads, headDim);
        var bs = b.index_select(0, gatherT).to(ScalarType.Float32).view(numChunks, width, groups, stateDim);
        var cs = c.index_select(0, gatherT).to(ScalarType.Float32).view(numChunks, width, groups, stateDim);

        // Chunk-local cumulative log-decay; padding (dt = 0) keeps it flat, so the last slot is the chunk's total.
        var logDecay = (step * a.to(ScalarType.Float32)).cumsum(1);
        var logDecayT = logDecay.permute(0, 2, 1).contiguous();
        var total = logDecayT.narrow(2, width - 1, 1);

        // Each chunk's own contribution to its end state: Σ_s exp(total - cum_s)·dt_s·x_s⊗B_s, grouped so B is not repeated per head.
        var weight = (total.permute(0, 2, 1) - logDecay).exp_().mul_(step);
        var weighted = (xs * weight.unsqueeze(3)).view(numChunks, width, groups, perGroup * headDim).permute(0, 2, 3, 1);
        var own = weighted.matmul(bs.permute(0, 2, 1, 3)).view(numChunks, heads, headDim, stateDim);

        // State passing: end_k = exp(total_k)·end_{k-1} + own_k, restarted from the initial state at each first chunk.
        var chunkDecay = total.exp().view(numChunks, heads, 1, 1).clone();
        var firstT = OpArgs.Upload(firstChunks.ToArray(), device);
        var initFirst = init.index_select(0, OpArgs.Upload(firstSeqs.ToArray(), device));
        own.index_copy_(0, firstT, own.index_select(0, firstT).addcmul_(chunkDecay.index_select(0, firstT), initFirst, 1));
        chunkDecay.index_fill_(0, firstT, 0);
        var ends = LinearScan.Inclusive(chunkDecay, own, longestRun);
        var final = ends.index_select(0, OpArgs.Upload(layout.LastChunkIndices.Select(i => (long)i).ToArray(), device));
        var before = torch.cat(new[] { ends, init }, 0).index_select(0, OpArgs.Upload(chunkBefore, device));

        // Output from the state entering each chunk: exp(cum_l)·C_l·S_before, as [chunks, H, P, Q].
        var fromState = before.view(numChunks, groups, perGroup * headDim, stateDim).matmul(cs.permute(0, 2, 3, 1))
            .view(numChunks, heads, headDim, width).mul_(logDecayT.exp().unsqueeze(2));

        // Intra-chunk output, [chunks, H, Q, P], in slices of chunks to bound the [.., H, Q, Q] temporaries.
        long sliceChunks = Math.Max(1, intraChunkBudget / (heads * width * (long)width));
        var causal = torch.ones(width, width, dtype: ScalarType.Bool, device: device).triu(1);
        var parts = new System.Collections.Generic.List<Tensor>();
        for (long k0 = 0; k0 < numChunks; k0 += sliceChunks)
        {
            long n = Math.Min(sliceChunks, numChunks - k0);
            using var sliceScope = torch.NewDisposeScope();
            var cum = logDecayT.narrow(0, k0, n);
            var decay = (cum.unsqueeze(3) - cum.unsqueeze(2)).masked_fill_(causal, double.NegativeInfinity).exp_();
            var cb = cs.narrow(0, k0, n).permute(0, 2, 1, 3).matmul(bs.narrow(0, k0, n).permute(0, 2, 3, 1));
            var mix = decay.view(n, groups, perGroup, width, width).mul_(cb.unsqueeze(2))
                .mul_(step.narrow(0, k0, n).permute(0, 2, 1).reshape(n, groups, perGroup, 1, width)).view(n, heads, width, width);
            parts.Add(mix.matmul(xs.narrow(0, k0, n).permute(0, 2, 1, 3)).MoveToOuterDisposeScope());
        }

        var intra = parts.Count == 1 ? parts[0] : torch.cat(parts, 0);
        var y = intra.add_(fromState.transpose(2, 3)).permute(0, 2, 1, 3).reshape(numChunks * (long)width, heads, headDim)
            .index_select(0, OpArgs.Upload(unpad, device));
        if (d is not null)
        {
            y.addcmul_(x.to(ScalarType.Float32), SkipWeights(d, heads), 1);
        }

        return (y.to(x.dtype), final);
    }

    /// <summary>dt + dtBias, softplus, clamp to the limit, in fp32 (the clamp is skipped when it cannot act).</summary>
    private static Tensor ProcessDt(Tensor dt, Tensor? dtBias, bool softplus, (double Min, double Max) limit)
    {
        var v = dtBias is null ? dt.to(ScalarType.Float32) : dt.add(dtBias.to(ScalarType.Float32));
        if (softplus)
        {
            v = OpArgs.Softplus(v);
        }

        bool noOp = softplus && limit.Min <= 0 && double.IsPositiveInfinity(limit.Max);
        return noOp ? v : v.clamp(limit.Min, limit.Max);
    }

    /// <summary>D as [H, 1] or [H, P] to broadcast over [rows, H, P], fp32.</summary>
    private static Tensor SkipWeights(Tensor d, long heads) => (d.dim() == 1 ? d.view(heads, 1) : d).to(ScalarType.Float32);

    private static int CheckLayout(Mamba2ChunkLayout layout, long numTokens)
    {
        var cu = layout.CuChunkSeqlen;
        if (layout.NumChunks == 0 || cu.Length != layout.NumChunks + 1 || cu[0] != 0 || cu[^1] != numTokens)
        {
            throw new ArgumentException($"Chunk layout covers tokens [{string.Join(", ", cu)}] but the prefill has {numTokens} tokens.", nameof(layout));
        }

        int numSeqs = layout.LastChunkIndices.Length;
        for (int k = 0; k < layout.NumChunks; k++)
        {
            if (cu[k + 1] <= cu[k] || (k > 0 && layout.SeqIdx[k] != layout.SeqIdx[k - 1] && layout.SeqIdx[k] != layout.SeqIdx[k - 1] + 1) || layout.SeqIdx[k] >= numSeqs)
            {
                throw new ArgumentException($"Chunk layout is malformed at chunk {k}: chunks must be non-empty and list sequences in order.", nameof(layout));
            }
        }

        return numSeqs;
    }

    internal static (long Heads, long HeadDim, long StateDim) Check(Tensor x, Tensor dt, Tensor a, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, long rows)
    {
        OpArgs.Floating(x, nameof(x));
        if (x.dim() != 3 || b.dim() != 3)
        {
            throw new ArgumentException($"SSD needs x [rows, H, P] and B [rows, G, N]; got x {OpArgs.Shape(x)}, B {OpArgs.Shape(b)}.", x.dim() != 3 ? nameof(x) : "B");
        }

        long heads = x.size(1), headDim = x.size(2), groups = b.size(1), stateDim = b.size(2);
        OpArgs.Dims(x, nameof(x), rows, heads, headDim);
        OpArgs.Dims(dt, nameof(dt), rows, heads);
        OpArgs.Dims(a, "A", heads);
        OpArgs.Dims(b, "B", rows, groups, stateDim);
        OpArgs.Dims(c, "C", rows, groups, stateDim);
        if (groups == 0 || heads % groups != 0)
        {
            throw new ArgumentException($"SSD heads ({heads}) must be a multiple of B/C groups ({groups}).", "B");
        }

        if (d is not null && !(d.dim() == 1 && d.size(0) == heads) && !(d.dim() == 2 && d.size(0) == heads && d.size(1) == headDim))
        {
            throw new ArgumentException($"D must be [H] or [H, P] = [{heads}] or [{heads}, {headDim}]; got {OpArgs.Shape(d)}.", "D");
        }

        if (dtBias is not null)
        {
            OpArgs.Dims(dtBias, nameof(dtBias), heads);
        }

        foreach (var (t, name) in new[] { (dt, "dt"), (a, "A"), (b, "B"), (c, "C") })
        {
            OpArgs.SameDevice(x, t, name);
        }

        OpArgs.SameDevice(x, d, "D");
        OpArgs.SameDevice(x, dtBias, "dtBias");
        return (heads, headDim, stateDim);
    }
}
