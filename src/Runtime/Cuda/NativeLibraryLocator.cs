using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;

namespace MambaGen.Cuda;

/// <summary>
/// Finds CUDA libraries next to the ones libtorch already loaded: the paths mapped into this process
/// (<c>/proc/self/maps</c>) and the folders of a pip torch layout (<c>site-packages/torch/lib</c> beside
/// <c>site-packages/nvidia/cu13/lib</c>).
/// </summary>
internal static partial class NativeLibraryLocator
{
    /// <summary>The files mapped into this process, in first-seen order (empty where there is no /proc).</summary>
    public static IReadOnlyList<string> MappedFiles()
    {
        try
        {
            return File.Exists("/proc/self/maps") ? ParseMaps(File.ReadAllText("/proc/self/maps")) : Array.Empty<string>();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<string>();
        }
    }

    /// <summary>The absolute file paths in a <c>/proc/*/maps</c> text, each once, in order.</summary>
    public static IReadOnlyList<string> ParseMaps(string maps)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var paths = new List<string>();
        foreach (var line in maps.Split('\n'))
        {
            // address perms offset dev inode [path]: the path is the rest of the line from the first '/'.
            int slash = line.IndexOf('/');
            if (slash < 0)
            {
                continue;
            }

            var path = line[slash..].Trim();
            if (path.EndsWith(" (deleted)", StringComparison.Ordinal))
            {
                continue;
            }

            if (seen.Add(path))
            {
                paths.Add(path);
            }
        }

        return paths;
    }

    /// <summary>The first mapped file whose name starts with <paramref name="namePrefix"/> (e.g. <c>libtorch_cuda.so</c>).</summary>
    public static string? FindMapped(IEnumerable<string> mapped, string namePrefix) =>
        mapped.FirstOrDefault(p => Path.GetFileName(p).StartsWith(namePrefix, StringComparison.Ordinal));

    /// <summary>
    /// NVRTC candidates in the order to try: an NVRTC already mapped, then NVRTC files in the folders of libtorch's
    /// CUDA libraries, then in the <c>nvidia/*/lib</c> folders up to four levels above them (pip wheels), newest version first.
    /// </summary>
    public static IReadOnlyList<string> NvrtcCandidates(IReadOnlyList<string> mapped)
    {
        var result = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string path)
        {
            if (seen.Add(path))
            {
                result.Add(path);
            }
        }

        foreach (var path in mapped.Where(p => IsNvrtc(Path.GetFileName(p))))
        {
            Add(path);
        }

        var anchors = mapped.Where(p => IsTorchCudaLibrary(Path.GetFileName(p)) || IsNvrtc(Path.GetFileName(p)))
            .Select(Path.GetDirectoryName).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        foreach (var anchor in anchors)
        {
            // The anchor's own folder first, then every pip nvidia/*/lib above it, newest NVRTC first across them.
            foreach (var file in NvrtcFiles(new[] { anchor }).Concat(NvrtcFiles(PipFolders(anchor))))
            {
                Add(file);
            }
        }

        return result;
    }

    /// <summary>The names the system loader is asked for when nothing was found beside libtorch.</summary>
    public static IReadOnlyList<string> DefaultNvrtcNames() => OperatingSystem.IsWindows()
        ? new[] { "nvrtc64_130_0.dll", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll" }
        : new[] { "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so.11", "libnvrtc.so" };

    /// <summary>NVRTC itself, not its builtins library; pip wheels may add a hash (libnvrtc-672ee683.so.11.2).</summary>
    internal static bool IsNvrtc(string fileName) =>
        fileName.StartsWith("libnvrtc", StringComparison.Ordinal) && fileName.Contains(".so", StringComparison.Ordinal)
        && !fileName.Contains("builtins", StringComparison.Ordinal);

    private static bool IsTorchCudaLibrary(string fileName) =>
        fileName.StartsWith("libtorch_cuda", StringComparison.Ordinal) || fileName.StartsWith("libc10_cuda", StringComparison.Ordinal)
        || fileName.StartsWith("libcudart", StringComparison.Ordinal);

    /// <summary>The NVRTC files in the given folders, newest version first.</summary>
    private static IEnumerable<string> NvrtcFiles(IEnumerable<string> folders)
    {
        var files = new List<string>();
        foreach (var folder in folders)
        {
            try
            {
                if (Directory.Exists(folder))
                {
                    files.AddRange(Directory.EnumerateFiles(folder).Where(f => IsNvrtc(Path.GetFileName(f))));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // An unreadable folder holds no candidate.
            }
        }

        return files.OrderByDescending(f => SoVersion(Path.GetFileName(f))).ThenBy(f => f, StringComparer.Ordinal);
    }

    /// <summary>The nvidia/*/lib folders (pip's CUDA wheels) under the folder's parents, up to four levels up.</summary>
    private static IEnumerable<string> PipFolders(string folder)
    {
        var folders = new List<string>();
        var current = Path.GetDirectoryName(folder);
        for (int level = 0; level < 4 && current is not null; level++)
        {
            var nvidia = Path.Combine(current, "nvidia");
            try
            {
                if (Directory.Exists(nvidia))
                {
                    folders.AddRange(Directory.EnumerateDirectories(nvidia).Select(package => Path.Combine(package, "lib")));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // An unreadable folder holds no candidate.
            }

            current = Path.GetDirectoryName(current);
        }

        return folders;
    }

    /// <summary>The version after ".so." as a sortable number: libnvrtc.so.13 above libnvrtc.so.12.8 above libnvrtc.so.</summary>
    private static double SoVersion(string fileName)
    {
        var match = SoVersionPattern().Match(fileName);
        if (!match.Success)
        {
            return 0;
        }

        var parts = match.Groups[1].Value.Split('.');
        double version = 0, scale = 1;
        foreach (var part in parts.Take(3))
        {
            version += int.TryParse(part, out var n) ? n * scale : 0;
            scale /= 1000;
        }

        return version;
    }

    [GeneratedRegex(@"\.so\.([0-9.]+)$")]
    private static partial Regex SoVersionPattern();
}
