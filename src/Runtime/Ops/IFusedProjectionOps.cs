using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// Projections with their neighbours fused, for op sets that run a small step with fewer launches: the block's RMSNorm
/// before the in-projection (and a decode step's conv update after it), Mamba-1's dt_proj inside the state update,
/// and the out-projection added into the residual stream (Mamba-2's gated norm before it). A block takes this path
/// for a step when <see cref="Takes"/> says so, else the plain ops with the residual add fused into the next norm;
/// both compute the same function (<see cref="ComposedProjections"/> is the reference). Its weights and norm weights
/// must not be written by any kernel of the step, as <see cref="ILinearOps"/>'s.
/// </summary>
public interface IFusedProjectionOps
{
    /// <summary>Whether a step of <paramref name="rows"/> tokens with activations of <paramref name="dtype"/> runs fused here.</summary>
    bool Takes(long rows, ScalarType dtype);

    /// <summary>RMSNorm(<paramref name="residual"/> read as the norm weight's dtype), as a block's norm, then x·Wᵀ + b.</summary>
    /// <returns>[rows, out] in the weight's dtype.</returns>
    Tensor NormLinear(Tensor residual, Tensor normWeight, double eps, Tensor weight, Tensor? bias);

    /// <summary>
    /// <see cref="NormLinear"/> for a step of decodes only, with the causal conv update of the output columns
    /// [<paramref name="convStart"/>, convStart + conv channels) fused: those columns come back convolved (SiLU'd when
    /// <paramref name="silu"/>) and each row's conv state shifts in place, as <see cref="IConvOps.Update"/> on them.
    /// </summary>
    Tensor NormLinearConv(Tensor residual, Tensor normWeight, double eps, Tensor weight, Tensor? bias,
        int convStart, Tensor convWeight, Tensor? convBias, bool silu, Tensor convStates, DecodeBatch batch);

    /// <summary>
    /// Mamba-1's decode state update with dt_proj fused: dt = <paramref name="deltaLow"/>·<paramref name="deltaWeight"/>ᵀ
    /// (in the activations' dtype, as the projection's output), then <see cref="ISelectiveScanOps.Update"/>.
    /// </summary>
    Tensor SelectiveUpdateProjected(Tensor ssmStates, Tensor x, Tensor deltaLow, Tensor deltaWeight, Tensor aLog, Tensor b, Tensor c, Tensor? d,
        Tensor? z, Tensor? deltaBias, bool deltaSoftplus, DecodeBatch batch);

    /// <summary><paramref name="residual"/> += (x·Wᵀ + b) cast to the residual's dtype, in place.</summary>
    void LinearAddInto(Tensor residual, Tensor x, Tensor weight, Tensor? bias);

    /// <summary><paramref name="residual"/> += (GatedRmsNorm(y, z)·Wᵀ + b) cast to the residual's dtype, in place.</summary>
    void GatedNormLinearAddInto(Tensor residual, Tensor y, Tensor z, Tensor normWeight, int groupSize, double eps, Tensor weight, Tensor? bias);
}

/// <summary>The fused projections as the ops they fuse, one after another: the reference, and any input a kernel does not take.</summary>
public sealed class ComposedProjections : IFusedProjectionOps
{
    private readonly INormOps _norm;
    private readonly ILinearOps _linear;
    private readonly IConvOps _conv;
    private readonly ISelectiveScanOps _scan;

    public ComposedProjections(INormOps norm, ILinearOps linear, IConvOps conv, ISelectiveScanOps scan)
    {
        (_norm, _linear, _conv, _scan) = (norm, linear, conv, scan);
    }

    /// <summary>Over the TorchSharp reference ops.</summary>
    public static ComposedProjections Reference { get; } = new(ReferenceOps.Instance, ReferenceOps.Instance, ReferenceOps.Instance, ReferenceOps.Instance);

    public bool Takes(long rows, ScalarType dtype) => true;

    public Tensor NormLinear(Tensor residual, Tensor normWeight, double eps, Tensor weight, Tensor? bias)
    {
        using var scope = torch.NewDisposeScope();
        var normed = _norm.AddRmsNorm(residual, null, normWeight, eps, castInput: true);
        return _linear.Linear(normed, weight, bias).MoveToOuterDisposeScope();
    }

    public Tensor NormLinearConv(Tensor residual, Tensor normWeight, double eps, Tensor weight, Tensor? bias,
        int convStart, Tensor convWeight, Tensor? convBias, bool silu, Tensor convStates, DecodeBatch batch)
    {
        using var scope = torch.NewDisposeScope();
        var y = NormLinear(residual, normWeight, eps, weight, bias);
        var columns = y.narrow(1, convStart, convWeight.shape[0]);
        columns.copy_(_conv.Update(columns, convWeight, convBias, silu, convStates, batch));
        return y.MoveToOuterDisposeScope();
    }

    public Tensor SelectiveUpdateProjected(Tensor ssmStates, Tensor x, Tensor deltaLow, Tensor deltaWeight, Tensor aLog, Tensor b, Tensor c, Tensor? d,
        Tensor? z, Tensor? deltaBias, bool deltaSoftplus, DecodeBatch batch)
    {
        using var scope = torch.NewDisposeScope();
        return UpdateProjected(_scan, _linear, ssmStates, x, deltaLow, deltaWeight, aLog, b, c, d, z, deltaBias, deltaSoftplus, batch).MoveToOuterDisposeScope();
    }

    /// <summary>Mamba-1's decode update with dt_proj: the scan ops' fused kernel where they have one, else the projection then the update.</summary>
    public static Tensor UpdateProjected(ISelectiveScanOps scan, ILinearOps linear, Tensor ssmStates, Tensor x, Tensor deltaLow, Tensor deltaWeight,
        Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias, bool deltaSoftplus, DecodeBatch batch) =>
        scan.UpdateProjected(ssmStates, x, deltaLow, deltaWeight, aLog, b, c, d, z, deltaBias, deltaSoftplus, batch)
        ?? scan.Update(ssmStates, x, linear.Linear(deltaLow, deltaWeight, null), aLog, b, c, d, z, deltaBias, deltaSoftplus, batch);

    public void LinearAddInto(Tensor residual, Tensor x, Tensor weight, Tensor? bias)
    {
        using var scope = torch.NewDisposeScope();
        residual.add_(_linear.Linear(x, weight, bias).to(residual.dtype));
    }

    public void GatedNormLinearAddInto(Tensor residual, Tensor y, Tensor z, Tensor normWeight, int groupSize, double eps, Tensor weight, Tensor? bias)
    {
        using var scope = torch.NewDisposeScope();
        LinearAddInto(residual, _norm.GatedRmsNorm(y, z, normWeight, groupSize, eps), weight, bias);
    }
}
