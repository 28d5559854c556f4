using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading.Tasks;
using MambaGen.Cuda;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Cpu;

/// <summary>
/// The single-token (decode) ops and Mamba-1's prefill scan as C# loops over the CPU tensors' memory, fp32: the conv
/// window and the SSM states are read and written in place by slot, so a decode step makes one call per op instead of
/// dozens of small TorchSharp calls. Other prefills, other dtypes and layouts the loops do not take go to the
/// reference ops. Rows x heads
/// (or channels) are spread over a bounded number of threads when a step has enough work to pay for them.
/// </summary>
/// <remarks>
/// The loops are compiled fully optimised on their first call (<see cref="MethodImplOptions.AggressiveOptimization"/>):
/// under tiered compilation a loop called a few times per request (a prefill's norms: once per layer) ran as unoptimised
/// tier-0 code, ten times slower per row than libtorch, which is what made the norm loops look slow on prefill rows.
/// </remarks>
internal sealed unsafe class CpuDecodeOps : IConvOps, ISsdOps, ISelectiveScanOps, INormOps, ILinearOps, IFusedProjectionOps
{
    private static readonly ReferenceOps Reference = ReferenceOps.Instance;

    // Below this many state elements a step (a prefill's scan), a second thread costs more than it saves.
    private const long DefaultParallelWork = 1 << 16;

    // A decode step's state updates go parallel from this many state elements: one request of a 768-wide mamba2
    // (196k a layer) decoded 2-10% faster at 2 threads in paired runs once libtorch's OpenMP threads stopped spinning
    // (CpuThreading); before that, with a 4M threshold, a second thread had made it 0.9x as fast.
    private const long DecodeParallelWork = 1 << 17;

    private readonly int _threads;
    private readonly long _parallelWork;
    private readonly long _decodeParallelWork;
    private readonly long _gemvParallelWeight;

    /// <param name="threads">The most threads a step uses (the CPU's cores, or TorchSharp's thread count).</param>
    /// <param name="parallelWork">State elements a prefill scan needs before it is spread over threads; 0 spreads every
    /// step (tests), decode updates and projections included.</param>
    public CpuDecodeOps(int threads, long parallelWork = DefaultParallelWork)
    {
        (_threads, _parallelWork) = (Math.Max(1, threads), parallelWork);
        _decodeParallelWork = parallelWork == 0 ? 0 : DecodeParallelWork;
        _gemvParallelWeight = parallelWork == 0 ? 0 : GemvParallelWeight;
    }

    public static string Name => "fused CPU decode loops";

    // ---- conv: prefill by the reference, decode here --------------------------------------------------------------

    public Tensor Forward(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, PrefillBatch batch) =>
        Reference.Forward(x, weight, bias, silu, convStates, batch);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Update(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, DecodeBatch batch)
    {
        long dim = CausalConv1d.CheckWeights(x, weight, bias, convStates, out int width);
        OpArgs.Dims(x, nameof(x), batch.Count, dim);
        if (!Fp32(x, weight, bias, convStates) || x.stride(1) != 1 || !weight.is_contiguous() || !OpArgs.RowsContiguous(convStates, 2))
        {
            return Reference.Update(x, weight, bias, silu, convStates, batch);
        }

        OpArgs.CheckBlocks(batch.MaxStateIndex, convStates, nameof(convStates));
        var output = torch.empty(batch.Count, dim, dtype: ScalarType.Float32);
        ConvUpdateRows(Ptr(x), x.stride(0), Ptr(output), dim, dim, Ptr(weight), width, bias is null ? null : Ptr(bias), silu, convStates, batch.HostStateIndices);
        return output;
    }

    private static bool ConvFits(Tensor weight, Tensor? bias, Tensor convStates) =>
        Fp32(weight, bias, convStates) && weight.is_contiguous() && OpArgs.RowsContiguous(convStates, 2);

    /// <summary>The conv update of <paramref name="dim"/> channels a row, x rows at <paramref name="px"/> to output rows
    /// at <paramref name="po"/> (which may be the same memory: each value is read before it is written).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ConvUpdateRows(float* px, long xs, float* po, long os, long dim, float* pw, int width, float* pb, bool silu,
        Tensor convStates, ReadOnlySpan<int> slots)
    {
        float* ps = Ptr(convStates);
        long bs = convStates.stride(0);
        for (int r = 0; r < slots.Length; r++)
        {
            int slot = slots[r];
            float* xr = px + r * xs, or = po + r * os, st = slot < 0 ? null : ps + slot * bs;
            for (long c = 0; c < dim; c++)
            {
                float* w = pw + c * width;
                float xv = xr[c], acc = (pb is null ? 0f : pb[c]) + w[width - 1] * xv;
                if (st is not null)
                {
                    for (int j = 0; j < width - 1; j++)
                    {
                        acc += w[j] * st[j * dim + c];
                    }

                    for (int j = 0; j < width - 2; j++)
                    {
                        st[j * dim + c] = st[(j + 1) * dim + c];
                    }

                    st[(width - 2) * dim + c] = xv;
                }

                or[c] = st is null ? 0f : silu ? Silu(acc) : acc;
            }
        }
    }

    // ---- Mamba-2 SSM --------------------------------------------------------------------------------------------

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
            // A padding sequence runs from zeros in a scratch state that is never stored.
            var scratch = slot < 0 ? System.Buffers.ArrayPool<float>.Shared.Rent((int)(headDim * stateDim)) : null;
            try
            {
                fixed (float* pscratch = scratch)
                {
                    float* head = slot < 0 ? pscratch : a.States + slot * a.BlockStride + h * headDim * stateDim;
                    if (slot < 0 || !initial[s])
                    {
                        new Span<float>(head, (int)(headDim * stateDim)).Clear();
                    }

                    for (long t = starts[s]; t < starts[s + 1]; t++)
                    {
                        SsdHeadToken(a, t, h, head);
                    }
                }
            }
            finally
            {
                if (scratch is not null) System.Buffers.ArrayPool<float>.Shared.Return(scratch);
            }
        });
        return y;
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

    // ---- Mamba-1 SSM --------------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Forward(Tensor u, Tensor delta, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias, bool deltaSoftplus,
        Tensor ssmStates, PrefillBatch batch)
    {
        SelectiveScan.Check(u, delta, aLog, b, c, d, z, deltaBias, ssmStates, batch.NumTokens);
        long channels = aLog.size(0), stateDim = aLog.size(1);
        bool fits = Fp32(u, delta, aLog, b, c, d, z, deltaBias, ssmStates) && OpArgs.RowsContiguous(ssmStates, 2) && u.stride(1) == 1
            && delta.stride(1) == 1 && b.stride(1) == 1 && c.stride(1) == 1 && (z is null || z.stride(1) == 1) && aLog.is_contiguous()
            && (d is null || d.is_contiguous()) && (deltaBias is null || deltaBias.is_contiguous()) && stateDim <= MaxScanStateDim
            && batch.HasInitialState.dtype == ScalarType.Bool && batch.StateIndices.dtype == ScalarType.Int64;
        if (!fits)
        {
            return Reference.Forward(u, delta, aLog, b, c, d, z, deltaBias, deltaSoftplus, ssmStates, batch);
        }

        OpArgs.CheckBlocks(batch.MaxStateIndex, ssmStates, nameof(ssmStates));

        var y = torch.empty(u.size(0), channels, dtype: ScalarType.Float32);
        // A = -exp(A_log), transposed to [N, D] so eight channels of one state index are one vector load.
        var aT = new float[stateDim * channels];
        float* pa = Ptr(aLog);
        for (long ch = 0; ch < channels; ch++)
        {
            for (long n = 0; n < stateDim; n++)
            {
                aT[n * channels + ch] = -MathF.Exp(pa[ch * stateDim + n]);
            }
        }

        var scan = new ScanPointers
        {
            U = Ptr(u), Delta = Ptr(delta), B = Ptr(b), C = Ptr(c), D = d is null ? null : Ptr(d), Z = z is null ? null : Ptr(z),
            Bias = deltaBias is null ? null : Ptr(deltaBias), States = Ptr(ssmStates), Y = Ptr(y),
            Slots = (long*)TorchCuda.DataPtrOfAnyDevice(batch.StateIndices), HasInitial = (byte*)TorchCuda.DataPtrOfAnyDevice(batch.HasInitialState),
            UStride = u.stride(0), DeltaStride = delta.stride(0), BStride = b.stride(0), CStride = c.stride(0), ZStride = z?.stride(0) ?? 0,
            BlockStride = ssmStates.stride(0), Channels = channels, StateDim = (int)stateDim, Softplus = deltaSoftplus,
        };
        var qsl = batch.QueryStartLoc;
        long blocks = (channels + Lanes - 1) / Lanes;
        fixed (float* at = aT)
        {
            var p = scan;
            p.ATransposed = at;
            For(batch.Count * blocks, (long)batch.NumTokens * channels * stateDim, item =>
            {
                int seq = (int)(item / blocks);
                ScanChannels(p, seq, qsl[seq], qsl[seq + 1], item % blocks * Lanes);
            });
        }

        return y;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Update(Tensor ssmStates, Tensor x, Tensor delta, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias,
        bool deltaSoftplus, DecodeBatch batch)
    {
        SelectiveScan.Check(x, delta, aLog, b, c, d, z, deltaBias, ssmStates, batch.Count);
        long channels = aLog.size(0), stateDim = aLog.size(1);
        bool fits = Fp32(x, delta, aLog, b, c, d, z, deltaBias, ssmStates) && OpArgs.RowsContiguous(ssmStates, 2) && x.stride(1) == 1
            && delta.stride(1) == 1 && b.stride(1) == 1 && c.stride(1) == 1 && (z is null || z.stride(1) == 1) && aLog.is_contiguous()
            && (d is null || d.is_contiguous()) && (deltaBias is null || deltaBias.is_contiguous());
        if (!fits)
        {
            return Reference.Update(ssmStates, x, delta, aLog, b, c, d, z, deltaBias, deltaSoftplus, batch);
        }

        OpArgs.CheckBlocks(batch.MaxStateIndex, ssmStates, nameof(ssmStates));
        var y = torch.empty(batch.Count, channels, dtype: ScalarType.Float32);
        SelectiveUpdate(new SelectiveUpdateArgs
        {
            X = Ptr(x), Delta = Ptr(delta), ALog = Ptr(aLog), B = Ptr(b), C = Ptr(c), D = d is null ? null : Ptr(d), Z = z is null ? null : Ptr(z),
            DeltaBias = deltaBias is null ? null : Ptr(deltaBias), States = Ptr(ssmStates), Y = Ptr(y),
            XStride = x.stride(0), DeltaStride = delta.stride(0), BStride = b.stride(0), CStride = c.stride(0), ZStride = z?.stride(0) ?? 0,
            BlockStride = ssmStates.stride(0), Channels = channels, StateDim = stateDim, Softplus = deltaSoftplus,
        }, batch.HostStateIndexArray);
        return y;
    }

    /// <summary>Pointers and strides of a Mamba-1 decode update: x, delta, z [rows, channels] and B, C [rows, state] with
    /// unit inner strides, A_log [channels, state] and states [blocks, channels, state] packed, y packed.</summary>
    internal struct SelectiveUpdateArgs
    {
        public float* X, Delta, ALog, B, C, D, Z, DeltaBias, States, Y;
        public long XStride, DeltaStride, BStride, CStride, ZStride, BlockStride, Channels, StateDim;
        public bool Softplus;
    }

    // Channels in chunks, so a thread takes a run of them (a channel alone is too little work to hand out).
    private const long SelectiveUpdateChunk = 64;

    /// <summary>Each row's state updated in place in its slot's block (a padding slot, -1, gets y = 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void SelectiveUpdate(SelectiveUpdateArgs a, int[] slots)
    {
        int rows = slots.Length;
        long chunks = (a.Channels + SelectiveUpdateChunk - 1) / SelectiveUpdateChunk;
        For(rows * chunks, rows * a.Channels * a.StateDim, _decodeParallelWork, item => SelectiveUpdateChannels(a, slots, item / chunks, item % chunks * SelectiveUpdateChunk));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SelectiveUpdateChannels(in SelectiveUpdateArgs a, int[] slots, long r, long c0)
    {
        long c1 = Math.Min(a.Channels, c0 + SelectiveUpdateChunk), stateDim = a.StateDim;
        int slot = slots[r];
        for (long ch = c0; ch < c1; ch++)
        {
            if (slot < 0)
            {
                a.Y[r * a.Channels + ch] = 0f;
                continue;
            }

            float v = a.Delta[r * a.DeltaStride + ch] + (a.DeltaBias is null ? 0f : a.DeltaBias[ch]);
            float dt = a.Softplus ? Softplus(v) : v, uv = a.X[r * a.XStride + ch], du = dt * uv;
            float* st = a.States + slot * a.BlockStride + ch * stateDim;
            float* al = a.ALog + ch * stateDim;
            float* bv = a.B + r * a.BStride, cv = a.C + r * a.CStride;
            // Eight states a vector: the two exps a state were scalar MathF calls, about a fifth of a 768x8 decode step.
            var sums = Vector256<float>.Zero;
            Vector256<float> vdt = Vector256.Create(dt), vdu = Vector256.Create(du);
            long n = 0;
            for (; n + Lanes <= stateDim; n += Lanes)
            {
                var h = Vector256.Load(st + n) * Exp(vdt * -Exp(Vector256.Load(al + n))) + vdu * Vector256.Load(bv + n);
                h.Store(st + n);
                sums += h * Vector256.Load(cv + n);
            }

            float acc = Vector256.Sum(sums);
            for (; n < stateDim; n++)
            {
                float h = st[n] * MathF.Exp(dt * -MathF.Exp(al[n])) + du * bv[n];
                st[n] = h;
                acc += h * cv[n];
            }

            if (a.D is not null)
            {
                acc += uv * a.D[ch];
            }

            if (a.Z is not null)
            {
                acc *= Silu(a.Z[r * a.ZStride + ch]);
            }

            a.Y[r * a.Channels + ch] = acc;
        }
    }

    // ---- norms --------------------------------------------------------------------------------------------------

    // The norm loops take every step's rows: with their own vector kernels compiled at once they measured 2-10x
    // libtorch's speed at 1-64 rows and 1.2-2x at 128-512 (1 thread). The 64-row limit they had came from unoptimised
    // tier-0 code (TensorPrimitives' exp), not from the loops.

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor AddRmsNorm(Tensor residual, Tensor? delta, Tensor weight, double eps, bool castInput)
    {
        long width = weight.dim() == 1 ? weight.size(0) : -1;
        bool fits = width > 0 && Fp32(residual, delta, weight) && residual.dim() == 2 && residual.size(1) == width && residual.is_contiguous()
            && weight.is_contiguous() && (delta is null || (delta.is_contiguous() && delta.dim() == 2 && delta.size(0) == residual.size(0) && delta.size(1) == width));
        if (!fits)
        {
            return Reference.AddRmsNorm(residual, delta, weight, eps, castInput);
        }

        long rows = residual.size(0);
        var output = torch.empty(rows, width, dtype: ScalarType.Float32);
        float* pr = Ptr(residual), pdl = delta is null ? null : Ptr(delta), pw = Ptr(weight), po = Ptr(output);
        int n = (int)width;
        for (long r = 0; r < rows; r++)
        {
            float* row = pr + r * width;
            float sumSquares = AddSumSquares(row, pdl is null ? null : pdl + r * width, n);
            ScaleByWeight(row, RmsScale(sumSquares, n, eps), pw, po + r * width, n);
        }

        return output;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor GatedRmsNorm(Tensor x, Tensor z, Tensor weight, int groupSize, double eps)
    {
        if (!GatedNormFits(x, z, weight, groupSize))
        {
            return Reference.GatedRmsNorm(x, z, weight, groupSize, eps);
        }

        long rows = x.size(0), width = x.size(1);
        var output = torch.empty(rows, width, dtype: ScalarType.Float32);
        GatedNormRows(Ptr(x), x.stride(0), Ptr(z), z.stride(0), rows, width, Ptr(weight), groupSize, eps, Ptr(output));
        return output;
    }

    private static bool GatedNormFits(Tensor x, Tensor z, Tensor weight, int groupSize) =>
        Fp32(x, z, weight) && x.dim() == 2 && z.dim() == 2 && weight.dim() == 1 && x.size(1) == weight.size(0) && z.size(0) == x.size(0)
        && z.size(1) == x.size(1) && groupSize > 0 && x.size(1) % groupSize == 0 && x.stride(1) == 1 && z.stride(1) == 1 && weight.is_contiguous();

    /// <summary>output [rows, width] packed = per group RMSNorm(x · silu(z)) · weight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GatedNormRows(float* px, long xs, float* pz, long zs, long rows, long width, float* pw, int groupSize, double eps, float* po)
    {
        for (long r = 0; r < rows; r++)
        {
            float* o = po + r * width;
            Gate(px + r * xs, pz + r * zs, o, (int)width);
            for (long g0 = 0; g0 < width; g0 += groupSize)
            {
                float* group = o + g0;
                ScaleByWeight(group, RmsScale(AddSumSquares(group, null, groupSize), groupSize, eps), pw + g0, group, groupSize);
            }
        }
    }

    // Row kernels of the norms, own vector loops rather than TensorPrimitives: its generic paths (Sigmoid's vector exp
    // above all) stayed unoptimised tier-0 code for the first hundreds of calls and made a one-row gated norm 50 us.

    /// <summary>output [rows, width] packed = RMSNorm of each packed row of <paramref name="rows"/> · weight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RmsNormRows(float* input, long rows, long width, float* weight, double eps, float* output)
    {
        int n = (int)width;
        for (long r = 0; r < rows; r++)
        {
            ScaleByWeight(input + r * width, RmsScale(AddSumSquares(input + r * width, null, n), n, eps), weight, output + r * width, n);
        }
    }

    /// <summary>row += delta (when given) in place; returns Σ row².</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float AddSumSquares(float* row, float* delta, int n)
    {
        var acc = Vector256<float>.Zero;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var v = Vector256.Load(row + i);
            if (delta is not null)
            {
                v += Vector256.Load(delta + i);
                v.Store(row + i);
            }

            acc = Vector256.FusedMultiplyAdd(v, v, acc);
        }

        float sum = Vector256.Sum(acc);
        for (; i < n; i++)
        {
            if (delta is not null)
            {
                row[i] += delta[i];
            }

            sum += row[i] * row[i];
        }

        return sum;
    }

    /// <summary>output = row · scale · weight (output may be row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScaleByWeight(float* row, float scale, float* weight, float* output, int n)
    {
        var vs = Vector256.Create(scale);
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            (Vector256.Load(row + i) * vs * Vector256.Load(weight + i)).Store(output + i);
        }

        for (; i < n; i++)
        {
            output[i] = row[i] * scale * weight[i];
        }
    }

    /// <summary>target += values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddInto(float* target, float* values, int n)
    {
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            (Vector256.Load(target + i) + Vector256.Load(values + i)).Store(target + i);
        }

        for (; i < n; i++)
        {
            target[i] += values[i];
        }
    }

    /// <summary>output = x · silu(z) = x · z / (1 + exp(-z)).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gate(float* x, float* z, float* output, int n)
    {
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var zv = Vector256.Load(z + i);
            (Vector256.Load(x + i) * zv / (Vector256<float>.One + Exp(-zv))).Store(output + i);
        }

        for (; i < n; i++)
        {
            output[i] = x[i] * Silu(z[i]);
        }
    }

    // ---- projections ----------------------------------------------------------------------------------------------

    // Decode-sized rows against the weight as our own GEMV, each weight row read once against every x row. Measured
    // against libtorch's (MKL's) GEMV at 1 thread on this machine: 1104x256 15.5 -> 9 us, 3072x256 44 -> 29 us,
    // 50280x768 (a 768-wide LM head) 8.4 -> 4-5 ms. Prefill-sized rows stay in libtorch's GEMM.
    internal const int MaxGemvRows = 8;

    // Output rows a thread takes at a time; projections of 256K+ weights are spread over the threads (the default
    // model's in_proj too: its 2-thread decode 4,400 -> 4,700 tokens/s against a 1M threshold). A second thread
    // speeds a 768x8 decode up only while libtorch's idle OpenMP threads sleep soon (CpuThreading): with libgomp's
    // default spin it held the second core and two threads ran 0.90-0.95x one thread's speed; with the short spin,
    // 141-175 against 109-116 tokens/s (mamba2 768x8 f32, this 2-core machine).
    private const long GemvRowsPerTask = 256;
    private const long GemvParallelWeight = 1 << 18;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        bool fits = x.dtype == ScalarType.Float32 && x.device_type == DeviceType.CPU && x.dim() == 2 && x.stride(1) == 1
            && GemvFits(weight, bias, x.size(1), x.size(0));
        if (!fits)
        {
            return Reference.Linear(x, weight, bias);
        }

        var y = torch.empty(x.size(0), weight.size(0), dtype: ScalarType.Float32);
        GemvInto(Ptr(x), x.stride(0), x.size(0), weight, bias, Ptr(y));
        return y;
    }

    /// <summary>Whether <see cref="GemvInto"/> takes <paramref name="rows"/> fp32 rows of <paramref name="inputs"/> against this weight and bias.</summary>
    private static bool GemvFits(Tensor weight, Tensor? bias, long inputs, long rows) =>
        weight.dtype is ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16 && (bias is null || bias.dtype == ScalarType.Float32)
        && OnCpu(weight, bias) && weight.dim() == 2 && weight.size(1) == inputs && weight.is_contiguous()
        && (bias is null || (bias.is_contiguous() && bias.dim() == 1 && bias.size(0) == weight.size(0)))
        && rows is > 0 and <= MaxGemvRows && inputs <= int.MaxValue / MaxGemvRows;

    /// <summary>y [rows, outputs] packed = x·Wᵀ + b, the x rows <paramref name="xs"/> floats apart (<see cref="GemvFits"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void GemvInto(float* px, long xs, long rows, Tensor weight, Tensor? bias, float* py)
    {
        var wdtype = weight.dtype;
        long outputs = weight.size(0), inputs = weight.size(1);
        float* pb = bias is null ? null : Ptr(bias);
        void* pw = (void*)TorchCuda.DataPtrOfAnyDevice(weight);
        long tasks = (outputs + GemvRowsPerTask - 1) / GemvRowsPerTask;
        if (wdtype == ScalarType.Float32)
        {
            For(tasks, outputs * inputs, _gemvParallelWeight, task =>
                Gemv(px, xs, rows, (float*)pw, inputs, pb, py, outputs, task * GemvRowsPerTask, Math.Min(outputs, (task + 1) * GemvRowsPerTask)));
            return;
        }

        // Mixed precision as the reference (and llama.cpp) computes it: bf16 weights against the activations rounded
        // to bf16, products summed in fp32; f16 weights widened to fp32.
        var rounded = wdtype == ScalarType.BFloat16 ? System.Buffers.ArrayPool<float>.Shared.Rent((int)(rows * inputs)) : null;
        try
        {
            if (rounded is not null)
            {
                for (long r = 0; r < rows; r++)
                {
                    RoundToBf16(new ReadOnlySpan<float>(px + r * xs, (int)inputs), rounded.AsSpan((int)(r * inputs), (int)inputs));
                }
            }

            fixed (float* pr = rounded)
            {
                float* xr = pr;
                For(tasks, outputs * inputs, _gemvParallelWeight, task =>
                {
                    long o0 = task * GemvRowsPerTask, o1 = Math.Min(outputs, o0 + GemvRowsPerTask);
                    if (xr is not null)
                    {
                        GemvBf16(xr, rows, (ushort*)pw, inputs, pb, py, outputs, o0, o1);
                    }
                    else
                    {
                        GemvF16(px, xs, rows, (Half*)pw, inputs, pb, py, outputs, o0, o1);
                    }
                });
            }
        }
        finally
        {
            if (rounded is not null) System.Buffers.ArrayPool<float>.Shared.Return(rounded);
        }
    }

    /// <summary>y[r, o] = x[r]·w[o] + b[o] for output rows [o0, o1): each weight row read once, front to back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemv(float* x, long xs, long rows, float* w, long inputs, float* bias, float* y, long outputs, long o0, long o1)
    {
        int n = (int)inputs;
        for (long o = o0; o < o1; o++)
        {
            float* wr = w + o * inputs;
            for (long r = 0; r < rows; r++)
            {
                y[r * outputs + o] = Dot(wr, x + r * xs, n) + (bias is null ? 0f : bias[o]);
            }
        }
    }

    /// <summary>As <see cref="Gemv"/> with bf16 weights; <paramref name="x"/> is [rows, inputs] packed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GemvBf16(float* x, long rows, ushort* w, long inputs, float* bias, float* y, long outputs, long o0, long o1)
    {
        int n = (int)inputs;
        for (long o = o0; o < o1; o++)
        {
            ushort* wr = w + o * inputs;
            for (long r = 0; r < rows; r++)
            {
                y[r * outputs + o] = DotBf16(wr, x + r * inputs, n) + (bias is null ? 0f : bias[o]);
            }
        }
    }

    /// <summary>As <see cref="Gemv"/> with f16 weights, each row widened into a scratch first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GemvF16(float* x, long xs, long rows, Half* w, long inputs, float* bias, float* y, long outputs, long o0, long o1)
    {
        int n = (int)inputs;
        var scratch = System.Buffers.ArrayPool<float>.Shared.Rent(n);
        try
        {
            fixed (float* wr = scratch)
            {
                for (long o = o0; o < o1; o++)
                {
                    System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(w + o * inputs, n), new Span<float>(wr, n));
                    for (long r = 0; r < rows; r++)
                    {
                        y[r * outputs + o] = Dot(wr, x + r * xs, n) + (bias is null ? 0f : bias[o]);
                    }
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(scratch);
        }
    }

    private static float Bf16(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>Each value rounded to the nearest bf16 (ties to even), as libtorch's <c>to(bfloat16)</c>; NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RoundToBf16(ReadOnlySpan<float> source, Span<float> target)
    {
        for (int i = 0; i < source.Length; i++)
        {
            uint bits = BitConverter.SingleToUInt32Bits(source[i]);
            target[i] = float.IsNaN(source[i]) ? source[i] : BitConverter.UInt32BitsToSingle((bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF_0000u);
        }
    }

    // One weight row at a time, a cache line (32 floats) an iteration into four accumulators: streaming a 768x8 model's
    // 276 MB of weights this read 36-40 GB/s on one thread here, against 30-32 GB/s for four rows interleaved (four
    // short streams the prefetcher follows less well); the same for weights that sit in cache.

    /// <summary>w · x over <paramref name="n"/> floats.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(float* w, float* x, int n)
    {
        var a = Vector256<float>.Zero;
        Vector256<float> b = a, c = a, d = a;
        int k = 0;
        for (; k + 32 <= n; k += 32)
        {
            a = Vector256.FusedMultiplyAdd(Vector256.Load(w + k), Vector256.Load(x + k), a);
            b = Vector256.FusedMultiplyAdd(Vector256.Load(w + k + 8), Vector256.Load(x + k + 8), b);
            c = Vector256.FusedMultiplyAdd(Vector256.Load(w + k + 16), Vector256.Load(x + k + 16), c);
            d = Vector256.FusedMultiplyAdd(Vector256.Load(w + k + 24), Vector256.Load(x + k + 24), d);
        }

        for (; k + 8 <= n; k += 8)
        {
            a = Vector256.FusedMultiplyAdd(Vector256.Load(w + k), Vector256.Load(x + k), a);
        }

        float sum = Vector256.Sum((a + b) + (c + d));
        for (; k < n; k++)
        {
            sum += w[k] * x[k];
        }

        return sum;
    }

    /// <summary>w · x over <paramref name="n"/> values, w in bf16 (each value's bits are the high half of its fp32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float DotBf16(ushort* w, float* x, int n)
    {
        var a = Vector256<float>.Zero;
        Vector256<float> b = a, c = a, d = a;
        int k = 0;
        for (; k + 32 <= n; k += 32)
        {
            var lo = Vector256.Load(w + k);
            var hi = Vector256.Load(w + k + 16);
            a = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(Vector256.WidenLower(lo), 16).AsSingle(), Vector256.Load(x + k), a);
            b = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(Vector256.WidenUpper(lo), 16).AsSingle(), Vector256.Load(x + k + 8), b);
            c = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(Vector256.WidenLower(hi), 16).AsSingle(), Vector256.Load(x + k + 16), c);
            d = Vector256.FusedMultiplyAdd(Vector256.ShiftLeft(Vector256.WidenUpper(hi), 16).AsSingle(), Vector256.Load(x + k + 24), d);
        }

        float sum = Vector256.Sum((a + b) + (c + d));
        for (; k < n; k++)
        {
            sum += Bf16(w[k]) * x[k];
        }

        return sum;
    }

    // ---- fused projections (a decode-sized step's block in three calls) -----------------------------------------

    // The block's norm before in_proj, the conv update after it and the residual add after out_proj run inside the
    // projections, over pooled scratch rows: a decode step makes a few TorchSharp calls a layer instead of about twenty
    // (narrow, view, empty: each 1-3 us, which was half of the 2.5M default model's decode step). Inputs the loops do
    // not take go through the same ops composed (ComposedProjections), which computes the same function.

    private ComposedProjections? _composed;

    private ComposedProjections Composed => _composed ??= new ComposedProjections(this, this, this, this);

    public bool Takes(long rows, ScalarType dtype) => rows is > 0 and <= MaxGemvRows;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor NormLinear(Tensor residual, Tensor normWeight, double eps, Tensor weight, Tensor? bias)
    {
        if (!NormRowsFit(residual, normWeight) || !GemvFits(weight, bias, residual.size(1), residual.size(0)))
        {
            return Composed.NormLinear(residual, normWeight, eps, weight, bias);
        }

        var y = torch.empty(residual.size(0), weight.size(0), dtype: ScalarType.Float32);
        NormLinearInto(residual, normWeight, eps, weight, bias, Ptr(y));
        return y;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor NormLinearConv(Tensor residual, Tensor normWeight, double eps, Tensor weight, Tensor? bias,
        int convStart, Tensor convWeight, Tensor? convBias, bool silu, Tensor convStates, DecodeBatch batch)
    {
        long rows = residual.size(0);
        bool fits = NormRowsFit(residual, normWeight) && GemvFits(weight, bias, residual.size(1), rows) && rows == batch.Count
            && convWeight.dim() == 2 && convWeight.size(1) >= 2 && convStart >= 0 && convStart + convWeight.size(0) <= weight.size(0) && ConvFits(convWeight, convBias, convStates)
            && (convBias is null || (convBias.dim() == 1 && convBias.size(0) == convWeight.size(0)))
            && convStates.dim() == 3 && convStates.size(2) == convWeight.size(0) && convStates.size(1) == convWeight.size(1) - 1;
        if (!fits)
        {
            return Composed.NormLinearConv(residual, normWeight, eps, weight, bias, convStart, convWeight, convBias, silu, convStates, batch);
        }

        OpArgs.CheckBlocks(batch.MaxStateIndex, convStates, nameof(convStates));
        long outputs = weight.size(0);
        var y = torch.empty(rows, outputs, dtype: ScalarType.Float32);
        float* py = Ptr(y), columns = py + convStart;
        NormLinearInto(residual, normWeight, eps, weight, bias, py);
        ConvUpdateRows(columns, outputs, columns, outputs, convWeight.size(0), Ptr(convWeight), (int)convWeight.size(1),
            convBias is null ? null : Ptr(convBias), silu, convStates, batch.HostStateIndices);
        return y;
    }

    public Tensor SelectiveUpdateProjected(Tensor ssmStates, Tensor x, Tensor deltaLow, Tensor deltaWeight, Tensor aLog, Tensor b, Tensor c, Tensor? d,
        Tensor? z, Tensor? deltaBias, bool deltaSoftplus, DecodeBatch batch) =>
        // dt_proj is a GEMV of a few columns and the update one call: composing them costs one tensor, nothing to fuse.
        Composed.SelectiveUpdateProjected(ssmStates, x, deltaLow, deltaWeight, aLog, b, c, d, z, deltaBias, deltaSoftplus, batch);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void LinearAddInto(Tensor residual, Tensor x, Tensor weight, Tensor? bias)
    {
        long rows = x.dim() == 2 ? x.size(0) : -1;
        bool fits = x.dtype == ScalarType.Float32 && x.device_type == DeviceType.CPU && x.dim() == 2 && x.stride(1) == 1
            && GemvFits(weight, bias, x.size(1), rows) && ResidualFits(residual, rows, weight.size(0));
        if (!fits)
        {
            Composed.LinearAddInto(residual, x, weight, bias);
            return;
        }

        AddGemvInto(residual, Ptr(x), x.stride(0), rows, weight, bias);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void GatedNormLinearAddInto(Tensor residual, Tensor y, Tensor z, Tensor normWeight, int groupSize, double eps, Tensor weight, Tensor? bias)
    {
        long rows = y.dim() == 2 ? y.size(0) : -1;
        bool fits = GatedNormFits(y, z, normWeight, groupSize) && GemvFits(weight, bias, y.size(1), rows) && ResidualFits(residual, rows, weight.size(0));
        if (!fits)
        {
            Composed.GatedNormLinearAddInto(residual, y, z, normWeight, groupSize, eps, weight, bias);
            return;
        }

        long width = y.size(1);
        var gated = System.Buffers.ArrayPool<float>.Shared.Rent((int)(rows * width));
        try
        {
            fixed (float* pg = gated)
            {
                GatedNormRows(Ptr(y), y.stride(0), Ptr(z), z.stride(0), rows, width, Ptr(normWeight), groupSize, eps, pg);
                AddGemvInto(residual, pg, width, rows, weight, bias);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(gated);
        }
    }

    /// <summary>A block's residual rows the fused loops read and write: fp32, packed [rows, width], on the CPU.</summary>
    private static bool NormRowsFit(Tensor residual, Tensor normWeight) =>
        Fp32(residual, normWeight) && residual.dim() == 2 && residual.is_contiguous() && normWeight.dim() == 1
        && normWeight.is_contiguous() && normWeight.size(0) == residual.size(1);

    private static bool ResidualFits(Tensor residual, long rows, long width) =>
        Fp32(residual) && residual.dim() == 2 && residual.size(0) == rows && residual.size(1) == width && residual.is_contiguous();

    /// <summary>y = RMSNorm(residual)·Wᵀ + b through a pooled scratch of the normed rows (<see cref="NormRowsFit"/>, <see cref="GemvFits"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void NormLinearInto(Tensor residual, Tensor normWeight, double eps, Tensor weight, Tensor? bias, float* py)
    {
        long rows = residual.size(0), width = residual.size(1);
        var normed = System.Buffers.ArrayPool<float>.Shared.Rent((int)(rows * width));
        try
        {
            fixed (float* pn = normed)
            {
                RmsNormRows(Ptr(residual), rows, width, Ptr(normWeight), eps, pn);
                GemvInto(pn, width, rows, weight, bias, py);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(normed);
        }
    }

    /// <summary>residual += x·Wᵀ + b in place (<see cref="ResidualFits"/>), through a pooled scratch of the products.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddGemvInto(Tensor residual, float* px, long xs, long rows, Tensor weight, Tensor? bias)
    {
        long outputs = weight.size(0);
        var products = System.Buffers.ArrayPool<float>.Shared.Rent((int)(rows * outputs));
        try
        {
            fixed (float* pp = products)
            {
                GemvInto(px, xs, rows, weight, bias, pp);
                AddInto(Ptr(residual), pp, (int)(rows * outputs));
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(products);
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private const int Lanes = 8;

    // The scan keeps each channel's states in vector registers; a larger state dim takes the reference ops.
    private const int MaxScanStateDim = 64;

    private struct ScanPointers
    {
        public float* U, Delta, B, C, D, Z, Bias, States, Y, ATransposed;
        public long* Slots;
        public byte* HasInitial;
        public long UStride, DeltaStride, BStride, CStride, ZStride, BlockStride, Channels;
        public int StateDim;
        public bool Softplus;
    }

    /// <summary>
    /// Mamba-1's selective scan of one sequence for up to eight channels from <paramref name="c0"/>, token by token, the
    /// eight channels' states of each state index in one vector: h = exp(dt·A)·h + dt·u·B, y = (h·C + D·u)·silu(z).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ScanChannels(ScanPointers p, int seq, int t0, int t1, long c0)
    {
        int width = (int)Math.Min(Lanes, p.Channels - c0), n = p.StateDim;
        long slot = p.Slots[seq];
        bool initial = slot >= 0 && p.HasInitial[seq] != 0;
        var h = stackalloc Vector256<float>[n];
        var lane = stackalloc float[Lanes];
        for (int i = 0; i < n; i++)
        {
            for (int k = 0; k < Lanes; k++)
            {
                lane[k] = initial && k < width ? p.States[slot * p.BlockStride + (c0 + k) * n + i] : 0f;
            }

            h[i] = Vector256.Load(lane);
        }

        var a = stackalloc Vector256<float>[n];
        for (int i = 0; i < n; i++)
        {
            a[i] = Load(p.ATransposed + i * p.Channels + c0, width, lane);
        }

        var dSkip = p.D is null ? Vector256<float>.Zero : Load(p.D + c0, width, lane);
        var bias = p.Bias is null ? Vector256<float>.Zero : Load(p.Bias + c0, width, lane);
        for (long t = t0; t < t1; t++)
        {
            var dt = Load(p.Delta + t * p.DeltaStride + c0, width, lane) + bias;
            if (p.Softplus)
            {
                // PyTorch's softplus with threshold 20.
                dt = Vector256.ConditionalSelect(Vector256.GreaterThan(dt, Vector256.Create(20f)), dt,
                    Log(Vector256<float>.One + Exp(dt)));
            }

            var uv = Load(p.U + t * p.UStride + c0, width, lane);
            var du = dt * uv;
            var acc = Vector256<float>.Zero;
            float* bt = p.B + t * p.BStride, ct = p.C + t * p.CStride;
            for (int i = 0; i < n; i++)
            {
                h[i] = h[i] * Exp(dt * a[i]) + du * Vector256.Create(bt[i]);
                acc += h[i] * Vector256.Create(ct[i]);
            }

            var yv = acc + dSkip * uv;
            if (p.Z is not null)
            {
                var zv = Load(p.Z + t * p.ZStride + c0, width, lane);
                yv *= zv / (Vector256<float>.One + Exp(-zv));
            }

            Store(yv, p.Y + t * p.Channels + c0, width, lane);
        }

        if (slot >= 0)
        {
            for (int i = 0; i < n; i++)
            {
                h[i].Store(lane);
                for (int k = 0; k < width; k++)
                {
                    p.States[slot * p.BlockStride + (c0 + k) * n + i] = lane[k];
                }
            }
        }
    }

    /// <summary>Eight floats from <paramref name="source"/>, or the first <paramref name="width"/> and zeros.</summary>
    private static Vector256<float> Load(float* source, int width, float* scratch)
    {
        if (width == Lanes)
        {
            return Vector256.Load(source);
        }

        for (int k = 0; k < Lanes; k++)
        {
            scratch[k] = k < width ? source[k] : 0f;
        }

        return Vector256.Load(scratch);
    }

    private static void Store(Vector256<float> value, float* target, int width, float* scratch)
    {
        if (width == Lanes)
        {
            value.Store(target);
            return;
        }

        value.Store(scratch);
        for (int k = 0; k < width; k++)
        {
            target[k] = scratch[k];
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

    /// <summary>
    /// exp of eight floats (Cephes' expf: 2^n times a degree-5 polynomial, about 1 ulp), inputs clamped to
    /// [-87.3, 88.4] so the result stays a normal float (exp(-87.3) = 1.2e-38; 88.4 is past float's largest). Ours
    /// rather than <see cref="Vector256.Exp(Vector256{float})"/>, whose generic body is not inlined and stays
    /// unoptimised tier-0 code for hundreds of calls.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(-87.3f)), Vector256.Create(88.3762626647949f));
        var n = Vector256.Round(x * Vector256.Create(1.44269504088896341f));
        var r = x - n * Vector256.Create(0.693359375f) - n * Vector256.Create(-2.12194440e-4f);
        var y = Vector256.Create(1.9875691500E-4f);
        y = y * r + Vector256.Create(1.3981999507E-3f);
        y = y * r + Vector256.Create(8.3334519073E-3f);
        y = y * r + Vector256.Create(4.1665795894E-2f);
        y = y * r + Vector256.Create(1.6666665459E-1f);
        y = y * r + Vector256.Create(5.0000001201E-1f);
        y = y * r * r + r + Vector256<float>.One;
        var pow2 = Vector256.ShiftLeft(Vector256.ConvertToInt32(n) + Vector256.Create(127), 23).AsSingle();
        return y * pow2;
    }

    /// <summary>The natural log of eight positive normal floats (Cephes' logf), for the same reason as <see cref="Exp"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Log(Vector256<float> x)
    {
        // x = m · 2^e with m in [0.5, 1); below √½ the mantissa is doubled so that m - 1 stays small.
        var bits = x.AsInt32();
        var e = Vector256.ConvertToSingle(Vector256.ShiftRightArithmetic(bits, 23) - Vector256.Create(126));
        var m = ((bits & Vector256.Create(unchecked((int)0x807FFFFF))) | Vector256.Create(0x3F000000)).AsSingle();
        var small = Vector256.LessThan(m, Vector256.Create(0.707106781186547524f));
        e -= Vector256.ConditionalSelect(small, Vector256<float>.One, Vector256<float>.Zero);
        m = Vector256.ConditionalSelect(small, m + m, m) - Vector256<float>.One;
        var z = m * m;
        var y = Vector256.Create(7.0376836292E-2f);
        y = y * m + Vector256.Create(-1.1514610310E-1f);
        y = y * m + Vector256.Create(1.1676998740E-1f);
        y = y * m + Vector256.Create(-1.2420140846E-1f);
        y = y * m + Vector256.Create(1.4249322787E-1f);
        y = y * m + Vector256.Create(-1.6668057665E-1f);
        y = y * m + Vector256.Create(2.0000714765E-1f);
        y = y * m + Vector256.Create(-2.4999993993E-1f);
        y = y * m + Vector256.Create(3.3333331174E-1f);
        y = y * m * z + e * Vector256.Create(-2.12194440e-4f) - z * Vector256.Create(0.5f);
        return m + y + e * Vector256.Create(0.693359375f);
    }

    /// <summary>1 / sqrt(mean(x²) + eps) from Σ x² over <paramref name="n"/> values.</summary>
    private static float RmsScale(float sumSquares, int n, double eps) => (float)(1.0 / Math.Sqrt((double)sumSquares / n + eps));

    private static float Silu(float v) => v / (1f + MathF.Exp(-v));

    /// <summary>PyTorch's softplus with threshold 20.</summary>
    private static float Softplus(float v) => v > 20f ? v : MathF.Log(1f + MathF.Exp(v));

    private void For(long items, long work, Action<long> body) => For(items, work, _parallelWork, body);

    private void For(long items, long work, long parallelWork, Action<long> body)
    {
        if (_threads == 1 || work < parallelWork || items == 1)
        {
            for (long i = 0; i < items; i++)
            {
                body(i);
            }

            return;
        }

        Parallel.For(0L, items, new ParallelOptions { MaxDegreeOfParallelism = _threads }, body);
    }

    internal static float* Ptr(Tensor t) => (float*)TorchCuda.DataPtrOfAnyDevice(t);

    private static bool OnCpu(params Tensor?[] tensors)
    {
        foreach (var t in tensors)
        {
            if (t is not null && t.device_type != DeviceType.CPU)
            {
                return false;
            }
        }

        return true;
    }

    internal static bool Fp32(params Tensor?[] tensors)
    {
        foreach (var t in tensors)
        {
            if (t is not null && (t.dtype != ScalarType.Float32 || t.device_type != DeviceType.CPU))
            {
                return false;
            }
        }

        return true;
    }
}
