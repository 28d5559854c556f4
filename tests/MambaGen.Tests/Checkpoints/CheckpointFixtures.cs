using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MambaGen.Testing;

namespace MambaGen.Tests.Checkpoints;

/// <summary>The reference checkpoints in tests/fixtures (copies of shared/fixtures, dev-mamba2 with remade references) and scratch copies of them.</summary>
internal static class CheckpointFixtures
{
    /// <summary>The repository's copy of the reference checkpoints (tests/fixtures), so a clone needs nothing beside it.</summary>
    private static string Root => RepoPaths.Combine("tests", "fixtures");

    public static string Mamba1 => Path.Combine(Root, "dev-mamba1");

    public static string Mamba2 => Path.Combine(Root, "dev-mamba2");

    public static string Lfm2 => Path.Combine(Root, "dev-lfm2");

    public static string GraniteHybridDense => Path.Combine(Root, "dev-granite-hybrid-dense");

    /// <summary>A fixture folder by name (tools/oracle/hybrid_fixtures.py's among them).</summary>
    public static string Folder(string name) => Path.Combine(Root, name);
}

/// <summary>A temporary folder, deleted on dispose; broken checkpoints are written here.</summary>
internal sealed class ScratchFolder : IDisposable
{
    public ScratchFolder() => Path = Directory.CreateTempSubdirectory("mambagen-checkpoint-").FullName;

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>A scratch copy of a fixture folder, to break on purpose.</summary>
    public static ScratchFolder CopyOf(string folder, params string[] skip)
    {
        var scratch = new ScratchFolder();
        foreach (var file in Directory.GetFiles(folder).Where(f => !skip.Contains(System.IO.Path.GetFileName(f))))
            System.IO.File.Copy(file, scratch.File(System.IO.Path.GetFileName(file)));
        return scratch;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; a failing cleanup must not hide the test's own result.
        }
    }
}
