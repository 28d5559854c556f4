using System;
using System.Collections.Generic;
using System.Linq;
using static MambaGen.Cuda.KernelParam;

namespace MambaGen.Cuda;

/// <summary>
/// The runtime's CUDA C files (embedded from <c>Cuda/Kernels</c>) and the C# launch spec of every entry, in the
/// order of its parameters: the tests check each spec against the entry clang-14 compiles to PTX.
/// </summary>
public static class KernelSources
{
    /// <summary>Activation × state dtype suffixes, as the files' <c>MG_FOR_T_S</c> instantiates them.</summary>
    internal static readonly string[] ActivationStateSuffixes =
        (from t in new[] { "f32", "bf16", "f16" } from s in new[] { "f32", "bf16", "f16" } select $"{t}_{s}").ToArray();

    /// <summary>Activation dtype suffixes, as <c>MG_FOR_T</c> instantiates them.</summary>
    internal static readonly string[] ActivationSuffixes = { "f32", "bf16", "f16" };

    /// <summary>Causal conv: decode update, varlen prefill, prefill state write-back, LFM2's gated short-conv decode.</summary>
    public static KernelSource Conv { get; } = Load("conv.cu", ActivationStateSuffixes.SelectMany(s => new[]
    {
        new KernelSpec($"conv_update_{s}", Ptr, I64, Ptr, Ptr, Ptr, I64, Ptr, Ptr, I32, I32, I32, I32),
        new KernelSpec($"conv_varlen_{s}", Ptr, I64, Ptr, Ptr, Ptr, I64, Ptr, Ptr, Ptr, Ptr, I32, I32, I32, I32, I32),
        new KernelSpec($"conv_varlen_states_{s}", Ptr, I64, Ptr, I64, Ptr, Ptr, Ptr, I32, I32, I32),
        new KernelSpec($"short_conv_update_{s}", Ptr, I64, Ptr, Ptr, Ptr, I64, Ptr, Ptr, I32, I32, I32),
    }));

    /// <summary>Mamba-2's SSM: decode state update (a warp per p row, four with vector accesses, or a block per head with
    /// its whole state in flight), varlen prefill scan (a
    /// warp per p row, tiled, or chunked: chunk states, their carry, the outputs; or the chunk states and outputs as
    /// matrix products on tensor cores, per activation dtype).</summary>
    public static KernelSource Mamba2 { get; } = Load("mamba2.cu", ActivationSuffixes.SelectMany(t => new[]
    {
        new KernelSpec($"ssd_chunk_state_{t}", Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, I32, I32, I64, I64, I64, I32, I32, I32, I32, F32, F32, Ptr, Ptr),
        new KernelSpec($"ssd_chunk_scan_{t}", Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, I32, I32, I64, I64, I64, I32, I32, I32, I32, I32, F32, F32, Ptr),
    }).Concat(ActivationStateSuffixes.SelectMany(s => new[]
    {
        new KernelSpec($"ssd_update_{s}", Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, I64, Ptr, Ptr, I32, I32, I64, I64, I64, I32, I32, I32, I32, I32, F32, F32),
        new KernelSpec($"ssd_update_vec_{s}", Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, I64, Ptr, Ptr, I32, I32, I64, I64, I64, I32, I32, I32, I32, I32, F32, F32),
        new KernelSpec($"ssd_update_wide_{s}", Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, I64, Ptr, Ptr, I32, I32, I64, I64, I64, I32, I32, I32, I32, I32, F32, F32),
        new KernelSpec($"ssd_scan_varlen_{s}", Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, I64, Ptr, Ptr, Ptr, Ptr, I32, I32, I64, I64, I64, I32, I32, I32, I32, I32, F32, F32),
        new KernelSpec($"ssd_scan_tiled_{s}", Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, I64, Ptr, Ptr, Ptr, Ptr, I32, I32, I64, I64, I64, I32, I32, I32, I32, I32, F32, F32, I32),
        new KernelSpec($"ssd_scan_chunk_{s}", Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, I64, Ptr, Ptr, Ptr, Ptr, I32, I32, I64, I64, I64, I32, I32, I32, I32, I32, F32, F32, I32, Ptr, Ptr, Ptr, I32),
        new KernelSpec($"ssd_scan_chunk_carry_{s}", Ptr, Ptr, I64, Ptr, Ptr, Ptr, I32, I32, I32, I32, Ptr, Ptr),
    })));

    /// <summary>Mamba-1's selective SSM: decode state update and varlen prefill scan, each with lanes per channel or a thread
    /// per channel, the block-wide prefill scan (a block per channel and sequence), and the chunked prefill scan of few
    /// long sequences (chunk states, their carry, the outputs).</summary>
    public static KernelSource Mamba1 { get; } = Load("mamba1.cu", ActivationStateSuffixes.SelectMany(s => new[]
    {
        new KernelSpec($"selective_update_{s}", Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, I64, Ptr, Ptr, I32, I32, I64, I64, I64, I64, I32, I32, I32, Ptr, I32),
        new KernelSpec($"selective_update_channels_{s}", Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, I64, Ptr, Ptr, I32, I32, I64, I64, I64, I64, I32, I32, I32, Ptr, I32),
        new KernelSpec($"selective_scan_varlen_{s}", Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, I64, Ptr, Ptr, Ptr, Ptr, I32, I32, I64, I64, I64, I64, I32, I32, I32),
        new KernelSpec($"selective_scan_channels_{s}", Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, I64, Ptr, Ptr, Ptr, Ptr, I32, I32, I64, I64, I64, I64, I32, I32),
        new KernelSpec($"selective_scan_block_{s}", Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, I64, Ptr, Ptr, Ptr, Ptr, I32, I32, I64, I64, I64, I64, I32, I32),
        new KernelSpec($"selective_scan_chunk_{s}", Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, I64, Ptr, Ptr, Ptr, Ptr, I32, I32, I64, I64, I64, I64, I32, I32, I32, Ptr, Ptr, Ptr, I32),
        new KernelSpec($"selective_scan_chunk_carry_{s}", Ptr, Ptr, I64, Ptr, Ptr, Ptr, I32, I32, I32, Ptr, Ptr),
    }));

    /// <summary>RMS norms: residual add + norm (activation × residual dtype), Mamba-2's gated norm.</summary>
    public static KernelSource Norm { get; } = Load("norm.cu",
        ActivationStateSuffixes.Select(s => new KernelSpec($"add_rmsnorm_{s}", Ptr, Ptr, Ptr, Ptr, I32, F32, I32))
            .Concat(ActivationSuffixes.Select(s => new KernelSpec($"gated_rmsnorm_{s}", Ptr, I64, Ptr, I64, Ptr, Ptr, I32, I32, F32))));

    /// <summary>Projections of a few rows: plain, after a block's RMSNorm (and before a decode conv update), after Mamba-2's
    /// gated norm (activation × residual dtype); each also for one row (<c>_r1</c>, fewer registers).</summary>
    public static KernelSource Gemv { get; } = Load("gemv.cu", ActivationStateSuffixes.SelectMany(s => new[] { "", "r1_" }.SelectMany(rows =>
        new[] { "gemv", "rmsnorm_gemv", "gated_gemv" }
            .Select(kind => new KernelSpec($"{kind}_{rows}{s}", Ptr, I64, Ptr, I64, Ptr, Ptr, Ptr, Ptr, Ptr, Ptr, I32, I32, I32, I32, F32))
            .Append(new KernelSpec($"rmsnorm_gemv_conv_{rows}{s}", Ptr, Ptr, Ptr, Ptr, Ptr, I32, I32, I32, F32, Ptr, Ptr, Ptr, I64, Ptr, I32, I32, I32, I32)))));

    /// <summary>Greedy picks of a step's logits: each row's argmax and whether it can be sampled (per activation dtype).</summary>
    public static KernelSource Sample { get; } = Load("sample.cu", ActivationSuffixes.Select(t => new KernelSpec($"greedy_rows_{t}", Ptr, I64, I32, Ptr)));

    /// <summary>Every kernel source of the runtime.</summary>
    public static IReadOnlyList<KernelSource> All { get; } = new[] { Conv, Mamba2, Mamba1, Norm, Gemv, Sample };

    // Every entry of the runtime's files waits on the previous grid first (a test reads each entry's body to check it).
    private static KernelSource Load(string fileName, IEnumerable<KernelSpec> kernels) =>
        new(fileName, KernelResources.ReadSource(fileName), kernels.ToArray(), AwaitsPreviousGrid: true);
}
