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
/// (tiled prefill scans; own GEMV kernels with the block's norms and residual add fused, for steps of up to 8 tokens;
/// decode state updates with Mamba-2's four p rows a warp in vector accesses and Mamba-1's a thread per channel) are checked against the reference ops under
/// the kernel emulator but not yet timed on a GPU, so they are opt-in: <c>MAMBAGEN_PREFILL_SCAN=tiled</c>,
/// <c>MAMBAGEN_SMALL_STEP_PROJECTIONS=fused</c>, <c>MAMBAGEN_DECODE_SSM=vector</c>.
/// </summary>
public sealed record KernelChoices(PrefillScan PrefillScan, bool GemvProjections, bool VectorDecodeSsm = false)
{
    public const string PrefillScanVariable = "MAMBAGEN_PREFILL_SCAN";
    public const string ProjectionsVariable = "MAMBAGEN_SMALL_STEP_PROJECTIONS";
    public const string DecodeSsmVariable = "MAMBAGEN_DECODE_SSM";

    /// <summary>The timed variants.</summary>
    public static KernelChoices Default { get; } = new(PrefillScan.RowWarps, GemvProjections: false);

    /// <summary>Every opt-in variant.</summary>
    public static KernelChoices OptIn { get; } = new(PrefillScan.Tiled, GemvProjections: true, VectorDecodeSsm: true);

    /// <summary>The variants the environment names; an unknown value is an <see cref="ArgumentException"/> naming the variable.</summary>
    public static KernelChoices FromEnvironment() =>
        Parse(Environment.GetEnvironmentVariable(PrefillScanVariable), Environment.GetEnvironmentVariable(ProjectionsVariable),
            Environment.GetEnvironmentVariable(DecodeSsmVariable));

    public static KernelChoices Parse(string? prefillScan, string? projections, string? decodeSsm = null) => new(
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
        },
        decodeSsm?.Trim().ToLowerInvariant() switch
        {
            null or "" or "row-warps" => false,
            "vector" => true,
            _ => throw new ArgumentException($"{DecodeSsmVariable}={decodeSsm}: expected row-warps or vector."),
        });

    public override string ToString() =>
        $"{(PrefillScan == PrefillScan.Tiled ? "tiled" : "row-warp")} prefill scans, {(GemvProjections ? "fused GEMV" : "cuBLAS")} projections for small steps, "
        + $"{(VectorDecodeSsm ? "vector" : "row-warp")} Mamba-2 decode SSM";
}
