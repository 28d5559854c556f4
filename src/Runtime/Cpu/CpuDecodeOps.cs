using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Threading.Tasks;
using MambaGen.Cuda;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Cpu;

/// <summary>
/// The CPU's op set as C# loops over the tensors' memory, fp32 activations: the decode ops (conv update, SSM updates,
/// norms, the GEMV of decode-sized rows, the fused projections) and the prefill scans of Mamba-1 and Mamba-2, the conv
/// window and the SSM states read and written in place by slot. One op family a file (CpuDecodeOps.Conv, .Ssd,
/// .SelectiveScan, .Norms, .Gemv, .FusedProjections); this one holds the shared vector helpers and the thread spread.
/// Other dtypes and layouts the loops do not take go to the reference ops. Rows x heads (or channels) are spread over
/// a bounded number of threads when a step has enough work to pay for them.
/// </summary>
/// <remarks>
/// The loops are compiled fully optimised on their first call (<see cref="MethodImplOptions.AggressiveOptimization"/>):
/// under tiered compilation a loop called a few times per request (a prefill's norms: once per layer) ran as unoptimised
/// tier-0 code, ten times slower per row than libtorch, which is what made the norm loops look slow on prefill rows.
/// </remarks>
internal sealed unsafe partial class CpuDecodeOps : IConvOps, ISsdOps, ISelectiveScanOps, INormOps, ILinearOps, IFusedProjectionOps
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

    // ---- helpers ------------------------------------------------------------------------------------------------

    private const int Lanes = 8;

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
