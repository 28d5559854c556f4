using System;
using System.Runtime.CompilerServices;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Cpu;

/// <summary>The fused projections (IFusedProjectionOps): a decode-sized step's block in three calls.</summary>
internal sealed unsafe partial class CpuDecodeOps
{
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
        bool fits = GemvRowsFit(x) && GemvFits(weight, bias, x.size(1), rows) && ResidualFits(residual, rows, weight.size(0));
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
        using var gated = new PooledScratch(rows * width);
        GatedNormRows(Ptr(y), y.stride(0), Ptr(z), z.stride(0), rows, width, Ptr(normWeight), groupSize, eps, gated.Pointer);
        AddGemvInto(residual, gated.Pointer, width, rows, weight, bias);
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
        using var normed = new PooledScratch(rows * width);
        RmsNormRows(Ptr(residual), rows, width, Ptr(normWeight), eps, normed.Pointer);
        GemvInto(normed.Pointer, width, rows, weight, bias, py);
    }

    /// <summary>residual += x·Wᵀ + b in place (<see cref="ResidualFits"/>), through a pooled scratch of the products.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AddGemvInto(Tensor residual, float* px, long xs, long rows, Tensor weight, Tensor? bias)
    {
        long outputs = weight.size(0);
        using var products = new PooledScratch(rows * outputs);
        GemvInto(px, xs, rows, weight, bias, products.Pointer);
        AddInto(Ptr(residual), products.Pointer, (int)(rows * outputs));
    }
}
