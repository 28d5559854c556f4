using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Cpu;

/// <summary>Mamba-2's SSD: a decode step's state update and a prefill's recurrence, in place by slot.</summary>
internal sealed unsafe partial class CpuDecodeOps
{
    // A prefill's SSD as the recurrence, token by token, each (sequence, head) state kept in its block. It beat the
    // chunked TorchSharp scan (whose [chunk, chunk] intermediates were also much of a prefill's peak memory) at both
    // head shapes measured, 64x64 (default model, 128 tokens: 11.3k -> 14.9k tokens/s) and 64x128 (mamba2 768x8:
    // 970 -> 1,140, peak RSS -22 MiB); larger heads, not measured, keep the chunked form.
    private const long MaxRecurrentState = 64 * 128;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor ChunkScan(Tensor x, Tensor dt, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus,
        (double Min, double Max) dtLimit, Tensor ssmStates, PrefillBatch batch)
    {
        var (heads, headDim, stateDim) = Ssd.Check(x, dt, aLog, b, c, d, dtBias, batch.NumTokens);
        OpArgs.Dims(ssmStates, nameof(ssmStates), -1, heads, headDim, stateDim);
        if (headDim * stateDim > MaxRecurrentState || !SsdRowsFit(ssmStates, x, dt, aLog, b, c, d, dtBias, headDim, stateDim))
        {
            return Reference.ChunkScan(x, dt, aLog, b, c, d, dtBias, dtSoftplus, dtLimit, ssmStates, batch);
        }

        OpArgs.CheckBlocks(batch.MaxStateIndex, ssmStates, nameof(ssmStates));
        var y = torch.empty(batch.NumTokens, heads, headDim, dtype: ScalarType.Float32);
        var a = Args(ssmStates, x, dt, aLog, b, c, d, dtBias, dtSoftplus, dtLimit, y, heads, headDim, stateDim);
        var starts = batch.QueryStartLoc;
        var slots = batch.HostStateIndexArray;
        using var initialTensor = batch.HasInitialState.cpu();
        var initial = initialTensor.data<bool>().ToArray();
        For(slots.Length * heads, batch.NumTokens * heads * headDim * stateDim, item =>
        {
            long s = item / heads, h = item % heads;
            int slot = slots[s];
            if (slot < 0)
            {
                // A padding sequence runs from zeros in a scratch state that is never stored.
                using var scratch = new PooledScratch(headDim * stateDim);
                SsdScanHead(a, starts[s], starts[s + 1], h, scratch.Pointer, fromZeros: true);
                return;
            }

            SsdScanHead(a, starts[s], starts[s + 1], h, a.States + slot * a.BlockStride + h * headDim * stateDim, fromZeros: !initial[s]);
        });
        return y;
    }

    /// <summary>Tokens [<paramref name="t0"/>, <paramref name="t1"/>) of one sequence through head <paramref name="h"/>,
    /// its state at <paramref name="head"/> (cleared first when the sequence starts from zeros) advanced in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SsdScanHead(in SsdUpdateArgs a, long t0, long t1, long h, float* head, bool fromZeros)
    {
        if (fromZeros)
        {
            new Span<float>(head, (int)(a.HeadDim * a.StateDim)).Clear();
        }

        for (long t = t0; t < t1; t++)
        {
            SsdHeadToken(a, t, h, head);
        }
    }

    /// <summary>The layouts the SSD loops take: fp32 on the CPU, unit inner strides, each state block packed.</summary>
    private static bool SsdRowsFit(Tensor ssmStates, Tensor x, Tensor dt, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, long headDim, long stateDim) =>
        Fp32(x, dt, aLog, b, c, d, dtBias, ssmStates) && OpArgs.RowsContiguous(ssmStates, 3) && x.stride(2) == 1 && x.stride(1) == headDim
        && dt.stride(1) == 1 && b.stride(2) == 1 && b.stride(1) == stateDim && c.stride(2) == 1 && c.stride(1) == stateDim
        && (d is null || d.is_contiguous()) && aLog.is_contiguous() && (dtBias is null || dtBias.is_contiguous());

    private static SsdUpdateArgs Args(Tensor ssmStates, Tensor x, Tensor dt, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus,
        (double Min, double Max) dtLimit, Tensor y, long heads, long headDim, long stateDim) => new()
        {
            X = Ptr(x), Dt = Ptr(dt), ALog = Ptr(aLog), B = Ptr(b), C = Ptr(c), D = d is null ? null : Ptr(d), DtBias = dtBias is null ? null : Ptr(dtBias),
            States = Ptr(ssmStates), Y = Ptr(y), XStride = x.stride(0), DtStride = dt.stride(0), BStride = b.stride(0), CStride = c.stride(0),
            BlockStride = ssmStates.stride(0), Heads = heads, HeadDim = headDim, StateDim = stateDim, Groups = b.size(1),
            DPerHeadDim = d is not null && d.dim() == 2, Softplus = dtSoftplus, Min = (float)dtLimit.Min, Max = (float)dtLimit.Max,
        };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor StateUpdate(Tensor ssmStates, Tensor x, Tensor dt, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus,
        (double Min, double Max) dtLimit, DecodeBatch batch)
    {
        var (heads, headDim, stateDim) = Ssd.Check(x, dt, aLog, b, c, d, dtBias, batch.Count);
        OpArgs.Dims(ssmStates, nameof(ssmStates), -1, heads, headDim, stateDim);
        if (!SsdRowsFit(ssmStates, x, dt, aLog, b, c, d, dtBias, headDim, stateDim))
        {
            return Reference.StateUpdate(ssmStates, x, dt, aLog, b, c, d, dtBias, dtSoftplus, dtLimit, batch);
        }

        OpArgs.CheckBlocks(batch.MaxStateIndex, ssmStates, nameof(ssmStates));
        var y = torch.empty(batch.Count, heads, headDim, dtype: ScalarType.Float32);
        SsdUpdate(Args(ssmStates, x, dt, aLog, b, c, d, dtBias, dtSoftplus, dtLimit, y, heads, headDim, stateDim), batch.HostStateIndexArray);
        return y;
    }

    /// <summary>Pointers and strides of a Mamba-2 decode update: x [rows, heads, head dim] and B, C [rows, groups, state]
    /// with unit inner strides, dt [rows, heads], states [blocks, heads, head dim, state] packed per block, y packed.</summary>
    internal struct SsdUpdateArgs
    {
        public float* X, Dt, ALog, B, C, D, DtBias, States, Y;
        public long XStride, DtStride, BStride, CStride, BlockStride, Heads, HeadDim, StateDim, Groups;
        public bool DPerHeadDim, Softplus;
        public float Min, Max;
    }

    /// <summary>Each row's state updated in place in its slot's block (a padding slot, -1, gets y = 0), rows x heads
    /// spread over the threads when the step is large enough.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void SsdUpdate(SsdUpdateArgs a, int[] slots)
    {
        int rows = slots.Length;
        For(rows * a.Heads, rows * a.Heads * a.HeadDim * a.StateDim, _decodeParallelWork, item => SsdUpdateHead(a, slots, item));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SsdUpdateHead(in SsdUpdateArgs a, int[] slots, long item)
    {
        long r = item / a.Heads, h = item % a.Heads;
        int slot = slots[r];
        if (slot < 0)
        {
            new Span<float>(a.Y + (r * a.Heads + h) * a.HeadDim, (int)a.HeadDim).Clear();
            return;
        }

        SsdHeadToken(a, r, h, a.States + slot * a.BlockStride + h * a.HeadDim * a.StateDim);
    }

    /// <summary>Row <paramref name="r"/>'s token through head <paramref name="h"/>: its state at <paramref name="head"/>
    /// [head dim, state] advanced in place, its y row written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SsdHeadToken(in SsdUpdateArgs a, long r, long h, float* head)
    {
        long headDim = a.HeadDim, stateDim = a.StateDim;
        float* yr = a.Y + (r * a.Heads + h) * headDim;
        float v = a.Dt[r * a.DtStride + h] + (a.DtBias is null ? 0f : a.DtBias[h]);
        float step = Math.Clamp(a.Softplus ? Softplus(v) : v, a.Min, a.Max);
        float decay = MathF.Exp(step * -MathF.Exp(a.ALog[h]));
        long g = h / (a.Heads / a.Groups);
        float* bv = a.B + r * a.BStride + g * stateDim, cv = a.C + r * a.CStride + g * stateDim;
        float* xr = a.X + r * a.XStride + h * headDim;
        for (long p = 0; p < headDim; p++)
        {
            float xv = xr[p];
            float acc = Update(head + p * stateDim, bv, cv, (int)stateDim, decay, step * xv);
            if (a.D is not null)
            {
                acc += xv * a.D[a.DPerHeadDim ? h * headDim + p : h];
            }

            yr[p] = acc;
        }
    }

    /// <summary>One p row of a Mamba-2 head: s = s·decay + dx·B in place; returns Σ s·C. Vectorised over the state dim.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Update(float* s, float* b, float* c, int n, float decay, float dx)
    {
        var acc = Vector<float>.Zero;
        var vd = new Vector<float>(decay);
        var vx = new Vector<float>(dx);
        int i = 0;
        for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
        {
            var sv = Vector.Load(s + i) * vd + Vector.Load(b + i) * vx;
            sv.Store(s + i);
            acc += sv * Vector.Load(c + i);
        }

        float sum = Vector.Sum(acc);
        for (; i < n; i++)
        {
            s[i] = s[i] * decay + b[i] * dx;
            sum += s[i] * c[i];
        }

        return sum;
    }
}
