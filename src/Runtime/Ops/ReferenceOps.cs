using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// The op families in TorchSharp tensor ops (<see cref="CausalConv1d"/>, <see cref="Ssd"/>, <see cref="SelectiveScan"/>,
/// <see cref="GatedRmsNorm"/>, <see cref="RmsNormMath"/>): every device, and the oracle the fused kernels are tested against.
/// </summary>
internal sealed class ReferenceOps : IConvOps, ISsdOps, ISelectiveScanOps, INormOps, ILinearOps
{
    public static readonly ReferenceOps Instance = new();

    public Tensor Forward(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, PrefillBatch batch) =>
        CausalConv1d.Forward(x, weight, bias, silu, convStates, batch.QueryStartLoc, batch.Slots, batch.HasInitialState);

    public Tensor Update(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, DecodeBatch batch) =>
        CausalConv1d.Update(x, weight, bias, silu, convStates, batch.Slots);

    public Tensor ChunkScan(Tensor x, Tensor dt, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus,
        (double Min, double Max) dtLimit, Tensor ssmStates, PrefillBatch batch)
    {
        var layout = batch.ChunkLayout ?? throw new System.ArgumentException("The SSD prefill needs the batch's chunk layout (a Mamba2 backend's metadata).", nameof(batch));
        using var a = NegExp(aLog);
        return Ssd.ChunkScan(x, dt, a, b, c, d, dtBias, dtSoftplus, dtLimit, layout, ssmStates, batch.Slots, batch.HasInitialState);
    }

    public Tensor StateUpdate(Tensor ssmStates, Tensor x, Tensor dt, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus,
        (double Min, double Max) dtLimit, DecodeBatch batch)
    {
        using var a = NegExp(aLog);
        return Ssd.StateUpdate(ssmStates, x, dt, a, b, c, d, dtBias, dtSoftplus, dtLimit, batch.Slots);
    }

    public Tensor Forward(Tensor u, Tensor delta, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias, bool deltaSoftplus,
        Tensor ssmStates, PrefillBatch batch)
    {
        using var a = NegExp(aLog);
        return SelectiveScan.Forward(u, delta, a, b, c, d, z, deltaBias, deltaSoftplus, ssmStates, batch.QueryStartLoc, batch.Slots, batch.HasInitialState);
    }

    public Tensor Update(Tensor ssmStates, Tensor x, Tensor delta, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias,
        bool deltaSoftplus, DecodeBatch batch)
    {
        using var a = NegExp(aLog);
        return SelectiveScan.Update(ssmStates, x, delta, a, b, c, d, z, deltaBias, deltaSoftplus, batch.Slots);
    }

    public Tensor AddRmsNorm(Tensor residual, Tensor? delta, Tensor weight, double eps, bool castInput)
    {
        // A scope, not using: .to() of a tensor already in the dtype may return that very tensor.
        using var scope = torch.NewDisposeScope();
        if (delta is not null)
        {
            residual.add_(delta.to(residual.dtype));
        }

        var normed = castInput ? RmsNormMath.Forward(residual.to(weight.dtype), weight, eps) : RmsNormMath.Forward(residual, weight, eps).to(weight.dtype);
        return normed.MoveToOuterDisposeScope();
    }

    public Tensor GatedRmsNorm(Tensor x, Tensor z, Tensor weight, int groupSize, double eps) => Ops.GatedRmsNorm.Forward(x, z, weight, groupSize, eps);

    public Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        if (x.dtype == weight.dtype)
        {
            return nn.functional.linear(x, weight, bias);
        }

        // Mixed precision (bf16/f16 projection weights, fp32 activations), as llama.cpp computes it: bf16 weights
        // against the activations rounded to bf16 (libtorch's bf16 GEMM, 4x its fp32 one on 128 rows here); other
        // weights widened to the activations' dtype, one weight at a time. The output and the bias add stay in x's dtype.
        using var scope = torch.NewDisposeScope();
        var y = weight.dtype == ScalarType.BFloat16
            ? nn.functional.linear(x.to(ScalarType.BFloat16), weight).to(x.dtype)
            : nn.functional.linear(x, weight.to(x.dtype));
        if (bias is not null)
        {
            y.add_(bias.to(x.dtype));
        }

        return y.MoveToOuterDisposeScope();
    }

    /// <summary>A = -exp(A_log) in fp32, as the reference ops take it.</summary>
    private static Tensor NegExp(Tensor aLog)
    {
        using var scope = torch.NewDisposeScope();
        return aLog.to(ScalarType.Float32).exp().neg_().MoveToOuterDisposeScope();
    }
}
