using System;
using System.IO;
using System.Linq;

namespace MambaGen.Testing;

/// <summary>Paths inside the repository, found by walking up from the test binaries to the folder holding MambaGen.sln.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> RootFolder = new(FindRoot);

    public static string Root => RootFolder.Value;

    /// <summary><paramref name="parts"/> below the repository root.</summary>
    public static string Combine(params string[] parts) => Path.Combine(new[] { Root }.Concat(parts).ToArray());

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MambaGen.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new DirectoryNotFoundException($"No folder holding MambaGen.sln above {AppContext.BaseDirectory}.");
    }
}
