
namespace MambaGen.Ops;

/// <summary>
/// One implementation of each op family, as the layers call them. <see cref="Reference"/> is TorchSharp tensor ops on
/// any device; fused kernels plug in as another set, chosen per device by the backends (<c>OpsSelection</c>), so no
/// layer changes when a kernel is added.
/// </summary>
/// <param name="Name">What runs the ops, as the CLI reports it (e.g. "TorchSharp ops", "fused CUDA kernels").</param>
/// <param name="Conv">The causal conv.</param>
/// <param name="Ssd">Mamba-2's SSM.</param>
/// <param name="SelectiveScan">Mamba-1's SSM.</param>
/// <param name="Norm">The RMS norms.</param>
/// <param name="Linear">The projections and the LM head.</param>
/// <param name="FusedProjections">Projections with the block's norms and residual add fused, where the set has them.</param>
/// <param name="Greedy">Greedy picks of the logits on their device, where the set has them.</param>
public sealed record MambaOps(string Name, IConvOps Conv, ISsdOps Ssd, ISelectiveScanOps SelectiveScan, INormOps Norm, ILinearOps Linear,
    IFusedProjectionOps? FusedProjections = null, IGreedyOps? Greedy = null)
{
    /// <summary>TorchSharp tensor ops: every device, and the oracle in tests.</summary>
    public static MambaOps Reference { get; } = new("TorchSharp ops", ReferenceOps.Instance, ReferenceOps.Instance, ReferenceOps.Instance, ReferenceOps.Instance, ReferenceOps.Instance);

    /// <summary>A set whose one object implements every family (as the fused sets do).</summary>
    public static MambaOps Of<T>(string name, T ops)
        where T : IConvOps, ISsdOps, ISelectiveScanOps, INormOps, ILinearOps => new(name, ops, ops, ops, ops, ops, ops as IFusedProjectionOps, ops as IGreedyOps);

    public override string ToString() => Name;
}
