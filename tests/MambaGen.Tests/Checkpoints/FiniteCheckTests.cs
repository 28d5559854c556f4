using MambaGen.Checkpoints;
using static TorchSharp.torch;

namespace MambaGen.Tests.Checkpoints;

/// <summary>The load-time finiteness check against libtorch's isfinite, for every float dtype and every position.</summary>
public class FiniteCheckTests
{
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void A_single_NaN_or_Inf_anywhere_is_found_and_finite_extremes_are_not(ScalarType dtype)
    {
        // 203 elements: vector rounds of every width, then a scalar tail.
        const int count = 203;
        using var finite = linspace(-1, 1, count, dtype: ScalarType.Float32).to(dtype);
        Assert.True(FiniteCheck.AllFinite(finite));

        // The largest finite value and the smallest subnormals are finite; their exponents are not all ones.
        using var extremes = tensor(new[] { 65504f, -65504f, 6e-8f, -6e-8f, 0f, -0f }).to(dtype);
        Assert.True(FiniteCheck.AllFinite(extremes));

        foreach (int at in new[] { 0, 1, 17, 63, 64, 127, 128, 200, 202 })
        {
            foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
            {
                using var poisoned = finite.clone();
                poisoned[at] = tensor(bad).to(dtype);
                Assert.False(FiniteCheck.AllFinite(poisoned), $"{bad} at {at} in {dtype}");
            }
        }
    }

    [Fact]
    public void A_strided_view_is_checked_through_libtorch()
    {
        using var m = zeros(8, 8);
        m[3, 5] = tensor(float.NaN);
        using var t = m.t();
        Assert.False(FiniteCheck.AllFinite(t));
        Assert.True(FiniteCheck.AllFinite(m.narrow(1, 0, 4).t()));
    }

    [Fact]
    public void Empty_and_integer_tensors_are_finite()
    {
        Assert.True(FiniteCheck.AllFinite(empty(0)));
        Assert.True(FiniteCheck.AllFinite(arange(10)));
    }
}
