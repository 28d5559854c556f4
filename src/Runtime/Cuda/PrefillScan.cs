using System;

namespace MambaGen.Cuda;

/// <summary>
/// Which kernels scan a prefill's tokens. <see cref="RowWarps"/>: Mamba-2 a warp per p row, Mamba-1 a lane group per
/// channel (measured on the H200, 2026-12-04). <see cref="Tiled"/>: Mamba-2 a p row's state split over a few threads
/// with the tile's B and C in shared memory, Mamba-1 a thread per channel (state dim up to 16); checked against the
/// references under the kernel emulator, not yet timed on a GPU, so not the default until it is.
/// </summary>
public enum PrefillScan
{
    RowWarps,
    Tiled,
}

/// <summary>The <c>MAMBAGEN_PREFILL_SCAN</c> setting.</summary>
public static class PrefillScanSetting
{
    public const string Variable = "MAMBAGEN_PREFILL_SCAN";

    /// <summary>The scan the variable names (<c>row-warps</c> or <c>tiled</c>), the default when unset; an unknown value is an error naming it.</summary>
    public static PrefillScan FromEnvironment() => Parse(Environment.GetEnvironmentVariable(Variable));

    public static PrefillScan Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "row-warps" => PrefillScan.RowWarps,
        "tiled" => PrefillScan.Tiled,
        _ => throw new ArgumentException($"{Variable}={value}: expected row-warps or tiled."),
    };

    public static string Name(PrefillScan scan) => scan == PrefillScan.Tiled ? "tiled" : "row-warps";
}
