using System;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Checkpoints;

/// <summary>
/// Whether a loaded weight holds only finite values, as one pass over its memory: a float is NaN or ±Inf exactly when
/// its exponent bits are all ones, so the check reads each element once and allocates nothing (libtorch's
/// <c>isfinite().all()</c> made a mask of every weight and took 0.9-2.2 s of a 768x8 model's load).
/// </summary>
internal static class FiniteCheck
{
    public static unsafe bool AllFinite(Tensor t)
    {
        if (t.device_type != DeviceType.CPU || !t.is_contiguous())
        {
            using var finite = t.isfinite();
            using var all = finite.all();
            return all.item<bool>();
        }

        long count = t.numel();
        if (count == 0)
        {
            return true;
        }

        byte* p = (byte*)Cuda.TorchCuda.DataPtrOfAnyDevice(t);
        return t.dtype switch
        {
            ScalarType.Float32 => NoneAllOnes((uint*)p, count, 0x7F80_0000u),
            ScalarType.Float64 => NoneAllOnes((ulong*)p, count, 0x7FF0_0000_0000_0000ul),
            ScalarType.BFloat16 => NoneAllOnes((ushort*)p, count, (ushort)0x7F80),
            ScalarType.Float16 => NoneAllOnes((ushort*)p, count, (ushort)0x7C00),
            _ => true,
        };
    }

    /// <summary>Whether no element has all of <paramref name="exponent"/>'s bits set.</summary>
    // Optimised at once: it runs a few dozen times per load, too few calls for tiered compilation to reach tier 1.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static unsafe bool NoneAllOnes<T>(T* p, long count, T exponent)
        where T : unmanaged, System.Numerics.IBinaryInteger<T>
    {
        var mask = Vector256.Create(exponent);
        long i = 0;
        // Several vectors a round with one branch, so the loop runs at memory speed.
        for (long end = count - 4 * Vector256<T>.Count; i <= end; i += 4 * Vector256<T>.Count)
        {
            var hit = Vector256.Equals(Vector256.Load(p + i) & mask, mask) | Vector256.Equals(Vector256.Load(p + i + Vector256<T>.Count) & mask, mask)
                | Vector256.Equals(Vector256.Load(p + i + 2 * Vector256<T>.Count) & mask, mask) | Vector256.Equals(Vector256.Load(p + i + 3 * Vector256<T>.Count) & mask, mask);
            if (hit != Vector256<T>.Zero)
            {
                return false;
            }
        }

        for (; i < count; i++)
        {
            if ((p[i] & exponent) == exponent)
            {
                return false;
            }
        }

        return true;
    }
}
