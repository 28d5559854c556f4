using System;
using TorchSharp;

namespace MambaGen.Cuda;

/// <summary>
/// Which prefill scan kernels run. <see cref="RowWarps"/>: Mamba-2 a warp per p row, Mamba-1 a lane group per channel.
/// <see cref="Tiled"/>: Mamba-2 a p row's state split over a few threads with the tile's B and C in shared memory,
/// Mamba-1 a thread per channel (state dim up to 16). <see cref="Auto"/>: tiled where a step's sequences fill the
/// machine with its blocks, else row warps (<see cref="KernelChoices.TiledMamba2Scan"/>). <see cref="Chunked"/>: each
/// sequence split into chunks scanned in parallel, then carried across (Mamba-2 on row warps, Mamba-1 a thread per
/// channel; opt-in: not yet timed on a GPU). <see cref="TensorCores"/>: Mamba-2's SSD in its chunked matrix form on
/// tensor cores, for bf16 activations on sm_80 and later (others take <see cref="Auto"/>'s choice; Mamba-1 too; opt-in:
/// not yet timed on a GPU). <see cref="BlockScan"/>: Mamba-1 (state dim up to 16) a block per (channel, sequence), the
/// tokens spread over its threads and the state handed on by a block-wide scan (mamba_ssm's selective scan); Mamba-2
/// takes <see cref="Auto"/>'s choice (opt-in: not yet timed on a GPU).
/// </summary>
public enum PrefillScan
{
    Auto,
    RowWarps,
    Tiled,
    Chunked,
    TensorCores,
    BlockScan,
}

/// <summary>
/// Which decode state updates run. <see cref="RowWarps"/>: Mamba-2 a warp per p row, Mamba-1 a lane group per channel.
/// <see cref="Vector"/>: Mamba-2 four p rows a warp in 8- or 16-byte accesses, Mamba-1 a thread per channel.
/// <see cref="Wide"/>: Mamba-2 a block per (row, head) with the head's whole state loaded at once, 32 values a thread
/// (state dims a power-of-two multiple of 32), Mamba-1 a thread per channel.
/// <see cref="Auto"/>: Mamba-2 wide where it applies, else row warps; Mamba-1 a thread per channel (measured faster:
/// the wide update 1.3x and 1.8x the row warps' decode at batch 32 and 128 on an H100, 2026-12-05).
/// </summary>
public enum DecodeSsm
{
    Auto,
    RowWarps,
    Vector,
    Wide,
}

/// <summary>
/// The kernel variants a <see cref="CudaMambaOps"/> set launches where there is more than one, and the one rule for
/// each choice. Timed on the H200 (2026-12-05, docs/gpu.md): the tiled scans are 3.3x (Mamba-2) and 2.9x (Mamba-1)
/// faster at 32 x 512 and 2.4x and 1.4x slower at 1 x 2048, so <see cref="PrefillScan.Auto"/> picks by the step's
/// sequences; Mamba-1's per-channel decode update is 13-25% faster at batch 32-128; the own GEMV projections for steps
/// of up to 8 tokens (<c>MAMBAGEN_SMALL_STEP_PROJECTIONS=fused</c>) were not faster than cuBLAS at batch 1 and stay
/// opt-in. <c>MAMBAGEN_PREFILL_SCAN=row-warps|tiled</c> and <c>MAMBAGEN_DECODE_SSM=row-warps|vector|wide</c> force one.
/// </summary>
public sealed record KernelChoices(PrefillScan PrefillScan, bool GemvProjections, DecodeSsm DecodeSsm = DecodeSsm.Auto)
{
    public const string PrefillScanVariable = "MAMBAGEN_PREFILL_SCAN";
    public const string ProjectionsVariable = "MAMBAGEN_SMALL_STEP_PROJECTIONS";
    public const string DecodeSsmVariable = "MAMBAGEN_DECODE_SSM";

    /// <summary>(sequence, head or block of 128 channels) pairs from which <see cref="PrefillScan.Auto"/> takes the tiled
    /// scans: enough blocks for every SM of a large GPU twice over (one sequence of mamba2-130m is 24 pairs, 32 are 768).</summary>
    public const long AutoTiledPairs = 256;

    /// <summary>The variants the measurements favour.</summary>
    public static KernelChoices Default { get; } = new(PrefillScan.Auto, GemvProjections: false);

    /// <summary>The first timed kernels: row-warp scans and state updates, cuBLAS projections.</summary>
    public static KernelChoices RowWarps { get; } = new(PrefillScan.RowWarps, GemvProjections: false, DecodeSsm.RowWarps);

    /// <summary>Every newer variant forced on.</summary>
    public static KernelChoices OptIn { get; } = new(PrefillScan.Tiled, GemvProjections: true, DecodeSsm.Vector);

    /// <summary>Whether a Mamba-2 prefill of <paramref name="sequences"/> sequences and <paramref name="heads"/> heads runs the tiled scan.</summary>
    public bool TiledMamba2Scan(long sequences, long heads) => Tiled(sequences * heads);

    /// <summary>Whether a Mamba-1 prefill of <paramref name="sequences"/> sequences over <paramref name="channels"/> channels runs the per-channel scan.</summary>
    public bool TiledMamba1Scan(long sequences, long channels) => Tiled(sequences * ((channels + 127) / 128));

    /// <summary>Whether prefills run the chunked scans (Mamba-1's where its state dim is up to 16).</summary>
    public bool ChunkedScan => PrefillScan == PrefillScan.Chunked;

    /// <summary>Whether Mamba-2 prefills of <paramref name="activations"/> run the SSD on tensor cores, where the device has them.</summary>
    public bool TensorCoreMamba2Scan(torch.ScalarType activations) => PrefillScan == PrefillScan.TensorCores && activations == torch.ScalarType.BFloat16;

    /// <summary>Whether Mamba-1 prefills run the block-wide scan (state dims up to 16).</summary>
    public bool BlockMamba1Scan => PrefillScan == PrefillScan.BlockScan;

    /// <summary>Whether Mamba-2's decode update runs four p rows a warp.</summary>
    public bool VectorMamba2Update => DecodeSsm == DecodeSsm.Vector;

    /// <summary>Whether Mamba-2's decode update runs a block per (row, head) with the head's state in flight at once (where its shapes allow).</summary>
    public bool WideMamba2Update => DecodeSsm is DecodeSsm.Wide or DecodeSsm.Auto;

    /// <summary>Whether Mamba-1's decode update runs a thread per channel.</summary>
    public bool ChannelMamba1Update => DecodeSsm != DecodeSsm.RowWarps;

    private bool Tiled(long pairs) => PrefillScan switch
    {
        PrefillScan.Tiled => true,
        PrefillScan.RowWarps => false,
        _ => pairs >= AutoTiledPairs,
    };

    /// <summary>The variants the environment names; an unknown value is an <see cref="ArgumentException"/> naming the variable.</summary>
    public static KernelChoices FromEnvironment() =>
        Parse(Environment.GetEnvironmentVariable(PrefillScanVariable), Environment.GetEnvironmentVariable(ProjectionsVariable),
            Environment.GetEnvironmentVariable(DecodeSsmVariable));

    public static KernelChoices Parse(string? prefillScan, string? projections, string? decodeSsm = null) => new(
        prefillScan?.Trim().ToLowerInvariant() switch
        {
            null or "" or "auto" => PrefillScan.Auto,
            "row-warps" => PrefillScan.RowWarps,
            "tiled" => PrefillScan.Tiled,
            "chunked" => PrefillScan.Chunked,
            "tensor-cores" => PrefillScan.TensorCores,
            "block-scan" => PrefillScan.BlockScan,
            _ => throw new ArgumentException($"{PrefillScanVariable}={prefillScan}: expected auto, row-warps, tiled, chunked, tensor-cores or block-scan."),
        },
        projections?.Trim().ToLowerInvariant() switch
        {
            null or "" or "cublas" => false,
            "fused" => true,
            _ => throw new ArgumentException($"{ProjectionsVariable}={projections}: expected cublas or fused."),
        },
        decodeSsm?.Trim().ToLowerInvariant() switch
        {
            null or "" or "auto" => DecodeSsm.Auto,
            "row-warps" => DecodeSsm.RowWarps,
            "vector" => DecodeSsm.Vector,
            "wide" => DecodeSsm.Wide,
            _ => throw new ArgumentException($"{DecodeSsmVariable}={decodeSsm}: expected auto, row-warps, vector or wide."),
        });

    public override string ToString() =>
        PrefillScan switch
        {
            PrefillScan.Tiled => "tiled prefill scans",
            PrefillScan.RowWarps => "row-warp prefill scans",
            PrefillScan.Chunked => "chunked prefill scans",
            PrefillScan.BlockScan => $"Mamba-1 prefills as block-wide scans, else tiled prefill scans from {AutoTiledPairs} (sequence, head) pairs, else row-warp",
            PrefillScan.TensorCores => $"Mamba-2 bf16 prefills as the SSD on tensor cores (sm_80+), else tiled prefill scans from {AutoTiledPairs} (sequence, head) pairs, else row-warp",
            _ => $"tiled prefill scans from {AutoTiledPairs} (sequence, head) pairs, else row-warp",
        }
        + $", {(GemvProjections ? "fused GEMV" : "cuBLAS")} projections for small steps, "
        + DecodeSsm switch
        {
            DecodeSsm.Vector => "vector Mamba-2 and per-channel Mamba-1 decode SSM",
            DecodeSsm.Wide => "wide Mamba-2 and per-channel Mamba-1 decode SSM",
            DecodeSsm.RowWarps => "row-warp decode SSM",
            _ => "wide (else row-warp) Mamba-2 and per-channel Mamba-1 decode SSM",
        };
}
