using System;
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

    [Fact]
    public void Build_step_patches_a_copy_in_obj_once_and_a_build_with_nothing_changed_skips_it()
    {
        var fakeLibDir = Directory.CreateDirectory(Path.Combine(_dir, "oldlib-build")).FullName;
        File.WriteAllBytes(Path.Combine(fakeLibDir, "libstdc++.so.6"), Encoding.ASCII.GetBytes("\0GLIBCXX_3.4.30\0GLIBCXX_3.4.31\0"));
        // Stands for the package's file in the NuGet cache; never written.
        var source = Path.Combine(_dir, "package", "libLibTorchSharp.so");
        Directory.CreateDirectory(Path.GetDirectoryName(source)!);
        File.Copy(TorchSharpNativeLibrary(), source);
        var original = File.ReadAllBytes(source);
        var proj = Path.Combine(_dir, "build.proj");
        File.WriteAllText(proj, $"""
            <Project>
              <PropertyGroup>
                <IntermediateOutputPath>{Path.Combine(_dir, "obj")}/</IntermediateOutputPath>
                <MambaGenLibStdCxxPath>{Path.Combine(fakeLibDir, "libstdc++.so.6")}</MambaGenLibStdCxxPath>
              </PropertyGroup>
              <ItemGroup>
                <ReferenceCopyLocalPaths Include="{source}" NuGetPackageId="TorchSharp" NuGetPackageVersion="0.107.0" DestinationSubDirectory="runtimes/linux-x64/native/" />
              </ItemGroup>
              <Import Project="{RepoPaths.Combine("src", "Runtime", "build", "TorchSharpNativeFix.targets")}" />
              <!-- Stands for the SDK's copy to the output folder, which the step runs before. -->
              <Target Name="_CopyFilesMarkedCopyLocal">
                <Message Importance="high" Text="copy-local: @(ReferenceCopyLocalPaths)" />
              </Target>
            </Project>
            """);
        string patched = Path.Combine(_dir, "obj", "mambagen-native", "TorchSharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

        var first = MsBuild(proj, "-t:_CopyFilesMarkedCopyLocal", "-v:n");
        var firstWrite = File.GetLastWriteTimeUtc(patched);
        var second = MsBuild(proj, "-t:_CopyFilesMarkedCopyLocal", "-v:n");

        Assert.Contains("copy-local: " + patched, first);
        Assert.Contains("copy-local: " + patched, second);
        Assert.Equal(original, File.ReadAllBytes(source));
        var patchedBytes = File.ReadAllBytes(patched);
        Assert.Single(Enumerable.Range(0, original.Length), i => original[i] != patchedBytes[i]);
        Assert.Contains("Skipping target \"MambaGenPatchTorchSharpNativeInOutput\" because all output files are up-to-date", second);
        Assert.Equal(firstWrite, File.GetLastWriteTimeUtc(patched));

        // A newer package file is patched again.
        File.SetLastWriteTimeUtc(source, DateTime.UtcNow.AddMinutes(1));
        var third = MsBuild(proj, "-t:_CopyFilesMarkedCopyLocal", "-v:n");
        Assert.DoesNotContain("Skipping target \"MambaGenPatchTorchSharpNativeInOutput\"", third);
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
        MsBuild(proj, "-t:Fix", "-v:q");
        return (before, File.ReadAllBytes(copy));
    }

    private string MsBuild(string proj, params string[] args)
    {
        var run = PackageProcess.Run("dotnet", _dir, null, new[] { "msbuild", proj, "-nologo" }.Concat(args).ToArray());
        Assert.True(run.ExitCode == 0, run.Output);
        return run.Output;
    }

    private static string TorchSharpNativeLibrary()
    {
        var packages = PackageProcess.UserPackagesFolder;
        var path = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(path), $"TorchSharp 0.107.0's native library not found at {path}; restore the solution first.");
        return path;
    }
}
