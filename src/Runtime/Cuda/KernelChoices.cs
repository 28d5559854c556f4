using System;

namespace MambaGen.Cuda;

/// <summary>
/// Which prefill scan kernels run. <see cref="RowWarps"/>: Mamba-2 a warp per p row, Mamba-1 a lane group per channel
/// (timed on the H200, 2026-12-04). <see cref="Tiled"/>: Mamba-2 a p row's state split over a few threads with the
/// tile's B and C in shared memory, Mamba-1 a thread per channel (state dim up to 16).
/// </summary>
public enum PrefillScan
{
    RowWarps,
    Tiled,
}

/// <summary>
/// The kernel variants a <see cref="CudaMambaOps"/> set launches where there is more than one. The newer variants
/// (tiled prefill scans; own GEMV kernels with the block's norms and residual add fused, for steps of up to 8 tokens)
/// are checked against the reference ops under the kernel emulator but not yet timed on a GPU, so they are opt-in:
/// <c>MAMBAGEN_PREFILL_SCAN=tiled</c>, <c>MAMBAGEN_SMALL_STEP_PROJECTIONS=fused</c>.
/// </summary>
public sealed record KernelChoices(PrefillScan PrefillScan, bool FusedProjections)
{
    public const string PrefillScanVariable = "MAMBAGEN_PREFILL_SCAN";
    public const string ProjectionsVariable = "MAMBAGEN_SMALL_STEP_PROJECTIONS";

    /// <summary>The timed variants.</summary>
    public static KernelChoices Default { get; } = new(PrefillScan.RowWarps, FusedProjections: false);

    /// <summary>The variants the environment names; an unknown value is an <see cref="ArgumentException"/> naming the variable.</summary>
    public static KernelChoices FromEnvironment() =>
        Parse(Environment.GetEnvironmentVariable(PrefillScanVariable), Environment.GetEnvironmentVariable(ProjectionsVariable));

    public static KernelChoices Parse(string? prefillScan, string? projections) => new(
        prefillScan?.Trim().ToLowerInvariant() switch
        {
            null or "" or "row-warps" => PrefillScan.RowWarps,
            "tiled" => PrefillScan.Tiled,
            _ => throw new ArgumentException($"{PrefillScanVariable}={prefillScan}: expected row-warps or tiled."),
        },
        projections?.Trim().ToLowerInvariant() switch
        {
            null or "" or "cublas" => false,
            "fused" => true,
            _ => throw new ArgumentException($"{ProjectionsVariable}={projections}: expected cublas or fused."),
        });

    public override string ToString() =>
        $"{(PrefillScan == PrefillScan.Tiled ? "tiled" : "row-warp")} prefill scans, {(FusedProjections ? "fused GEMV" : "cuBLAS")} projections for small steps";
}
