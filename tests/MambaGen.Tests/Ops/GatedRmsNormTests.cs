using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Ops;

public class GatedRmsNormTests
{
    private const int Tokens = 3, Width = 8;

    /// <summary>Channel by channel, per group: u = x·silu(z); y = w·u / sqrt(mean_group(u²) + eps); with
    /// <paramref name="normBeforeGate"/>, u = x and y is then multiplied by silu(z).</summary>
    private static Tensor Reference(Tensor x, Tensor z, Tensor w, int groupSize, double eps, bool normBeforeGate = false)
    {
        var f = ScalarType.Float64;
        var gate = z.to(f) * torch.sigmoid(z.to(f));
        var u = normBeforeGate ? x.to(f) : x.to(f) * gate;
        var y = torch.zeros(Tokens, Width, dtype: f);
        for (int t = 0; t < Tokens; t++)
        {
            for (int g0 = 0; g0 < Width; g0 += groupSize)
            {
                var group = u[t, g0..(g0 + groupSize)];
                var scale = 1 / System.Math.Sqrt((group * group).mean().item<double>() + eps);
                y[t, g0..(g0 + groupSize)] = group * scale * w[g0..(g0 + groupSize)].to(f);
            }
        }

        return normBeforeGate ? y * gate : y;
    }

    private static (Tensor X, Tensor Z, Tensor W) Inputs(ulong seed)
    {
        var g = new Generator(seed);
        // Groups of very different scale, so a whole-width norm would give a visibly different answer.
        var x = OpsAssert.Randn(g, Tokens, Width) * torch.tensor(new float[] { 1, 1, 1, 1, 30, 30, 30, 30 });
        return (x, OpsAssert.Randn(g, Tokens, Width), OpsAssert.Randn(g, Width));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(Width)]
    public void Normalises_each_group_of_channels_separately(int groupSize)
    {
        using var scope = torch.NewDisposeScope();
        var (x, z, w) = Inputs(41);
        OpsAssert.Close(Reference(x, z, w, groupSize, 1e-5), GatedRmsNorm.Forward(x, z, w, groupSize, 1e-5), 1e-5, 1e-6, "gated norm");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(Width)]
    public void Norm_before_gate_normalises_x_per_group_then_multiplies_by_the_gate(int groupSize)
    {
        using var scope = torch.NewDisposeScope();
        var (x, z, w) = Inputs(43);
        var normFirst = GatedRmsNorm.ForwardNormBeforeGate(x, z, w, groupSize, 1e-5);
        OpsAssert.Close(Reference(x, z, w, groupSize, 1e-5, normBeforeGate: true), normFirst, 1e-5, 1e-6, "norm before gate");
        Assert.True((normFirst - GatedRmsNorm.Forward(x, z, w, groupSize, 1e-5)).abs().max().item<float>() > 0.1f);
    }

    [Fact]
    public void Grouped_norm_differs_from_whole_width_norm_when_groups_differ_in_scale()
    {
        using var scope = torch.NewDisposeScope();
        var (x, z, w) = Inputs(42);
        var grouped = GatedRmsNorm.Forward(x, z, w, Width / 2, 1e-5);
        var whole = GatedRmsNorm.Forward(x, z, w, Width, 1e-5);
        Assert.True((grouped - whole).abs().max().item<float>() > 0.1f);
    }

    [Fact]
    public void Bf16_input_is_normalised_in_fp32_and_returned_as_bf16()
    {
        using var scope = torch.NewDisposeScope();
        var (x, z, w) = Inputs(43);
        var (xb, zb, wb) = (x.to(ScalarType.BFloat16), z.to(ScalarType.BFloat16), w.to(ScalarType.BFloat16));
        var y = GatedRmsNorm.Forward(xb, zb, wb, 4, 1e-5);
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        OpsAssert.Close(Reference(xb, zb, wb, 4, 1e-5), y, 1e-2, 1e-2, "bf16 gated norm");
    }

    [Fact]
    public void Group_size_that_does_not_divide_the_width_is_refused()
    {
        using var scope = torch.NewDisposeScope();
        var (x, z, w) = Inputs(44);
        Assert.Throws<System.ArgumentOutOfRangeException>(() => GatedRmsNorm.Forward(x, z, w, 3, 1e-5));
    }
}
