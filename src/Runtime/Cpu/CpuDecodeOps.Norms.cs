using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Cpu;

/// <summary>The RMS norms: a block's add + norm and the gated norm, over every step's rows.</summary>
internal sealed unsafe partial class CpuDecodeOps
{
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
}
