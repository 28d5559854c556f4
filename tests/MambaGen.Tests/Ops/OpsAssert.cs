using System;
using TorchSharp;
using Xunit.Sdk;
using static TorchSharp.torch;

namespace MambaGen.Tests.Ops;

/// <summary>Closeness checks and random data for the op tests (all on CPU, seeded).</summary>
internal static class OpsAssert
{
    /// <summary>|actual - expected| ≤ atol + rtol·|expected| everywhere, compared in float64.</summary>
    public static void Close(Tensor expected, Tensor actual, double rtol, double atol, string what)
    {
        if (!expected.shape.AsSpan().SequenceEqual(actual.shape))
        {
            throw new XunitException($"{what}: shape [{string.Join(", ", actual.shape)}], expected [{string.Join(", ", expected.shape)}].");
        }

        using var scope = torch.NewDisposeScope();
        var e = expected.to(ScalarType.Float64).cpu();
        var a = actual.to(ScalarType.Float64).cpu();
        var excess = (a - e).abs() - (e.abs() * rtol + atol);
        double worst = excess.max().item<double>();
        if (!(worst <= 0))
        {
            long at = excess.argmax().item<long>();
            double ev = e.flatten()[at].item<double>(), av = a.flatten()[at].item<double>();
            throw new XunitException($"{what}: element {at} is {av}, expected {ev} (rtol {rtol}, atol {atol}).");
        }
    }

    /// <summary>Bitwise equality (for cache blocks that must stay untouched).</summary>
    public static void Same(Tensor expected, Tensor actual, string what)
    {
        if (!expected.shape.AsSpan().SequenceEqual(actual.shape) || !expected.eq(actual).all().item<bool>())
        {
            throw new XunitException($"{what} changed but must be untouched.");
        }
    }

    public static Tensor Randn(Generator g, params long[] shape) => torch.randn(shape, dtype: ScalarType.Float32, generator: g);

    public static Tensor Uniform(Generator g, double lo, double hi, params long[] shape) =>
        torch.rand(shape, dtype: ScalarType.Float32, generator: g) * (hi - lo) + lo;

    /// <summary>Cumulative offsets [B+1] of the given lengths.</summary>
    public static int[] StartLoc(params int[] lengths)
    {
        var q = new int[lengths.Length + 1];
        for (int i = 0; i < lengths.Length; i++)
        {
            q[i + 1] = q[i] + lengths[i];
        }

        return q;
    }
}
