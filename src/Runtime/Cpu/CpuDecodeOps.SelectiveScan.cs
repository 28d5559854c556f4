using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MambaGen.Cuda;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Cpu;

/// <summary>Mamba-1's selective scan: a decode step's update and a prefill's scan, eight channels a vector.</summary>
internal sealed unsafe partial class CpuDecodeOps
{
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
}
