using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Reflection;

namespace MambaGen.Cuda;

/// <summary>
/// The kernel files embedded in the runtime by <c>build/CudaKernels.targets</c>: every <c>Cuda/Kernels/*.cu</c> and
/// <c>prelude.cuh</c> as <c>MambaGen.Cuda.Kernels.&lt;file&gt;</c>, and the PTX clang-14 made of each .cu at build
/// time, gzip-compressed, as <c>MambaGen.Cuda.Ptx.&lt;name&gt;.ptx.gz</c> (absent when the build had no clang-14).
/// </summary>
public static class KernelResources
{
    public const string SourcePrefix = "MambaGen.Cuda.Kernels.";
    public const string PtxPrefix = "MambaGen.Cuda.Ptx.";
    private const string CompressedSuffix = ".gz";
    public const string PreludeFileName = "prelude.cuh";

    private static readonly Assembly Runtime = typeof(KernelResources).Assembly;

    /// <summary>The names of the embedded .cu files, e.g. <c>mamba2.cu</c>.</summary>
    public static IReadOnlyList<string> SourceFileNames { get; } = Runtime.GetManifestResourceNames()
        .Where(n => n.StartsWith(SourcePrefix, StringComparison.Ordinal) && n.EndsWith(".cu", StringComparison.Ordinal))
        .Select(n => n[SourcePrefix.Length..]).OrderBy(n => n, StringComparer.Ordinal).ToArray();

    /// <summary>The names of the embedded PTX files, e.g. <c>mamba2.ptx</c>.</summary>
    public static IReadOnlyList<string> PtxFileNames { get; } = Runtime.GetManifestResourceNames()
        .Where(n => n.StartsWith(PtxPrefix, StringComparison.Ordinal) && n.EndsWith(CompressedSuffix, StringComparison.Ordinal))
        .Select(n => n[PtxPrefix.Length..^CompressedSuffix.Length]).OrderBy(n => n, StringComparer.Ordinal).ToArray();

    /// <summary>Whether this build embedded any PTX (false when clang-14 was missing at build time).</summary>
    public static bool HasPtx => PtxFileNames.Count > 0;

    /// <summary>The text of <c>prelude.cuh</c>, or null when the build embedded none.</summary>
    public static string? Prelude { get; } = TryRead(SourcePrefix + PreludeFileName);

    /// <summary>The text of an embedded kernel file (a .cu or a header); throws naming the file when it is not embedded.</summary>
    public static string ReadSource(string fileName) =>
        TryRead(SourcePrefix + fileName)
        ?? throw new FileNotFoundException($"No kernel source '{fileName}' is embedded in {Runtime.GetName().Name} (embedded: {string.Join(", ", SourceFileNames)}); kernel files belong in src/Runtime/Cuda/Kernels.", fileName);

    /// <summary>The build's PTX for a kernel file (<c>mamba2.cu</c> → <c>mamba2.ptx</c>), or null when there is none.</summary>
    public static string? TryReadPtx(string sourceFileName) => TryRead(PtxPrefix + PtxName(sourceFileName) + CompressedSuffix, compressed: true);

    /// <summary>The PTX resource's file name for a .cu file name.</summary>
    public static string PtxName(string sourceFileName) => Path.GetFileNameWithoutExtension(sourceFileName) + ".ptx";

    /// <summary>
    /// Why a source has no PTX: the build had no clang-14 at all, or had it but made no PTX of this file.
    /// </summary>
    public static string MissingPtxReason(string sourceFileName) => HasPtx
        ? $"no PTX for {sourceFileName} in this build"
        : "no PTX fallback in this build (clang-14 was not found when the runtime was built)";

    private static string? TryRead(string resource, bool compressed = false)
    {
        using var stream = Runtime.GetManifestResourceStream(resource);
        if (stream is null)
        {
            return null;
        }

        using var reader = new StreamReader(compressed ? new GZipStream(stream, CompressionMode.Decompress) : stream);
        return reader.ReadToEnd();
    }
}
