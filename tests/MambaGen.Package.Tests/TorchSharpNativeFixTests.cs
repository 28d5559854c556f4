using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using MambaGen.Testing;

namespace MambaGen.Package.Tests;

/// <summary>
/// The build step that makes TorchSharp's native library load on an older libstdc++ (src/Runtime/build/TorchSharpNativeFix.targets),
/// run through MSBuild on a copy of the library: it changes the one version need only where the system libstdc++ lacks it.
/// </summary>
public sealed class TorchSharpNativeFixTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mambagen-nativefix-").FullName;

    [Fact]
    public void Library_is_left_unchanged_where_libstdcxx_already_defines_the_version()
    {
        var fakeLibDir = Directory.CreateDirectory(Path.Combine(_dir, "newlib")).FullName;
        File.WriteAllBytes(Path.Combine(fakeLibDir, "libstdc++.so.6"), Encoding.ASCII.GetBytes("\0GLIBCXX_3.4.31\0GLIBCXX_3.4.32\0"));
        var (original, patched) = RunStep(fakeLibDir);
        Assert.Equal(original, patched);
    }

    [Fact]
    public void Only_the_version_need_flags_change_where_libstdcxx_lacks_the_version()
    {
        var fakeLibDir = Directory.CreateDirectory(Path.Combine(_dir, "oldlib")).FullName;
        File.WriteAllBytes(Path.Combine(fakeLibDir, "libstdc++.so.6"), Encoding.ASCII.GetBytes("\0GLIBCXX_3.4.30\0GLIBCXX_3.4.31\0"));
        var (original, patched) = RunStep(fakeLibDir);
        Assert.Equal(original.Length, patched.Length);
        var changed = Enumerable.Range(0, original.Length).Where(i => original[i] != patched[i]).ToArray();
        // One vernaux entry's vna_flags gains VER_FLG_WEAK (0x2): a single byte.
        Assert.Single(changed);
        Assert.Equal(original[changed[0]] | 0x2, patched[changed[0]]);
        // A second run finds it already weak and changes nothing.
        var (again, _) = RunStep(fakeLibDir, keepCopy: true);
        Assert.Equal(patched, again);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }

    /// <summary>Copies libLibTorchSharp.so from the NuGet cache (never touched) and runs the MSBuild task on the copy.</summary>
    private (byte[] Before, byte[] After) RunStep(string libstdcxxDir, bool keepCopy = false)
    {
        var copy = Path.Combine(_dir, "libLibTorchSharp.so");
        if (!keepCopy || !File.Exists(copy))
        {
            File.Copy(TorchSharpNativeLibrary(), copy, overwrite: true);
        }

        var before = File.ReadAllBytes(copy);
        var proj = Path.Combine(_dir, "fix.proj");
        File.WriteAllText(proj, $"""
            <Project>
              <Import Project="{RepoPaths.Combine("src", "Runtime", "build", "TorchSharpNativeFix.targets")}" />
              <Target Name="Fix">
                <MambaGenMarkVersionNeedsWeak Libraries="{copy}" Versions="$(MambaGenWeakGlibcxxVersions)" LibStdCxx="{Path.Combine(libstdcxxDir, "libstdc++.so.6")}" />
              </Target>
            </Project>
            """);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        foreach (var a in new[] { "msbuild", proj, "-t:Fix", "-nologo", "-v:q" })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, output.Result + error.Result);
        return (before, File.ReadAllBytes(copy));
    }

    private static string TorchSharpNativeLibrary()
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var path = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"TorchSharp 0.107.0's native library not found at {path}; restore the solution first.");
        return path;
    }
}
