using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MambaGen.Cuda;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Cpu;

/// <summary>Projections of decode-sized rows: the own GEMV over fp32, bf16 or f16 weights.</summary>
internal sealed unsafe partial class CpuDecodeOps
{
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
        bool fits = GemvRowsFit(x) && GemvFits(weight, bias, x.size(1), x.size(0));
        if (!fits)
        {
            return Reference.Linear(x, weight, bias);
        }

        var y = torch.empty(x.size(0), weight.size(0), dtype: ScalarType.Float32);
        GemvInto(Ptr(x), x.stride(0), x.size(0), weight, bias, Ptr(y));
        return y;
    }

    /// <summary>Rows the GEMV reads from a tensor: fp32 on the CPU, [rows, inputs] with unit inner stride.</summary>
    private static bool GemvRowsFit(Tensor x) =>
        x.dtype == ScalarType.Float32 && x.device_type == DeviceType.CPU && x.dim() == 2 && x.stride(1) == 1;

    /// <summary>Whether <see cref="GemvInto"/> takes <paramref name="rows"/> fp32 rows of <paramref name="inputs"/> against this weight and bias.</summary>
    internal static bool GemvFits(Tensor weight, Tensor? bias, long inputs, long rows) =>
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
        if (wdtype == ScalarType.Float16)
        {
            For(tasks, outputs * inputs, _gemvParallelWeight, task =>
                GemvF16(px, xs, rows, (Half*)pw, inputs, pb, py, outputs, task * GemvRowsPerTask, Math.Min(outputs, (task + 1) * GemvRowsPerTask)));
            return;
        }

        using var rounded = new PooledScratch(rows * inputs);
        float* xr = rounded.Pointer;
        for (long r = 0; r < rows; r++)
        {
            RoundToBf16(new ReadOnlySpan<float>(px + r * xs, (int)inputs), new Span<float>(xr + r * inputs, (int)inputs));
        }

        For(tasks, outputs * inputs, _gemvParallelWeight, task =>
            GemvBf16(xr, rows, (ushort*)pw, inputs, pb, py, outputs, task * GemvRowsPerTask, Math.Min(outputs, (task + 1) * GemvRowsPerTask)));
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
        using var scratch = new PooledScratch(n);
        float* wr = scratch.Pointer;
        for (long o = o0; o < o1; o++)
        {
            System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(w + o * inputs, n), new Span<float>(wr, n));
            for (long r = 0; r < rows; r++)
            {
                y[r * outputs + o] = Dot(wr, x + r * xs, n) + (bias is null ? 0f : bias[o]);
            }
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
}
