using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using MambaGen.Testing;

namespace MambaGen.Package.Tests;

/// <summary>The CLI ships as a .NET tool: packed from src/Cli, installed with dotnet tool install from a local feed, run as mambagen.</summary>
[Collection(PackingCollection.Name)]
public sealed class ToolPackageTests : IClassFixture<ToolPackageTests.ToolFeed>
{
    private readonly ToolFeed _feed;

    public ToolPackageTests(ToolFeed feed) => _feed = feed;

    [Fact]
    public void Tool_package_is_a_dotnet_tool_named_mambagen_with_its_own_readme()
    {
        using var zip = ZipFile.OpenRead(_feed.PackagePath);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        var nuspec = PackedPackageTests.ReadEntry(zip, "MambaGen.Cli.nuspec");
        var settings = PackedPackageTests.ReadEntry(zip, "tools/net10.0/any/DotnetToolSettings.xml");

        Assert.Contains("<packageType name=\"DotnetTool\" />", nuspec);
        Assert.Contains("Command Name=\"mambagen\"", settings);
        Assert.Contains("tools/net10.0/any/mambagen.dll", names);
        Assert.Contains("tools/net10.0/any/runtimes/linux-x64/native/libLibTorchSharp.so", names);
        Assert.Contains("<readme>README.md</readme>", nuspec);
        // The SDK records the commit; a repository URL is not known yet, so none (rather than a placeholder).
        Assert.DoesNotMatch("<repository[^>]*url=", nuspec);
        Assert.StartsWith("# mambagen", PackedPackageTests.ReadEntry(zip, "README.md"));
    }

    [Fact]
    public void Dotnet_tool_install_from_a_local_feed_gives_a_mambagen_that_generates()
    {
        var install = PackageProcess.Run("dotnet", _feed.Root, _feed.Environment,
            "tool", "install", "MambaGen.Cli", "--version", _feed.Version, "--tool-path", _feed.ToolPath, "--configfile", _feed.NuGetConfigPath);
        Assert.True(install.ExitCode == 0, install.Output);
        Assert.False(PackageProcess.UserCacheHolds("MambaGen.Cli", _feed.Version), $"{_feed.Version} reached {PackageProcess.UserPackagesFolder}");
        string mambagen = Path.Combine(_feed.ToolPath, "mambagen");
        Assert.True(File.Exists(mambagen), install.Output);

        var help = PackageProcess.Run(mambagen, _feed.Root, _feed.Environment);
        var generate = PackageProcess.Run(mambagen, _feed.Root, _feed.Environment, "generate", "Gets the number of", "-n", "8", "--threads", "1");

        Assert.True(help.ExitCode == 0, help.Output);
        Assert.Contains("Usage:", help.Output);
        Assert.True(generate.ExitCode == 0, generate.Output);
        Assert.StartsWith("Gets the number of", generate.Output);
        Assert.Contains("tokens/s", generate.Output);
    }

    /// <summary>Packs src/Cli once into a temp feed, at a version of its own; installs go to a temp tool path and packages folder.</summary>
    public sealed class ToolFeed : IDisposable
    {
        public ToolFeed()
        {
            Root = Path.Combine(Path.GetTempPath(), "mambagen-tool-" + Guid.NewGuid().ToString("N")[..8]);
            Feed = Path.Combine(Root, "feed");
            ToolPath = Path.Combine(Root, "tools");
            Directory.CreateDirectory(Feed);
            var packages = Directory.CreateDirectory(Path.Combine(Root, "nuget-packages")).FullName;
            Environment = new Dictionary<string, string>
            {
                ["NUGET_PACKAGES"] = packages,
                // The tool's default model is extracted here, not into the user's cache.
                ["MAMBAGEN_CACHE_DIR"] = Path.Combine(Root, "cache"),
            };
            NuGetConfigPath = Path.Combine(Root, "nuget.config");
            File.WriteAllText(NuGetConfigPath, PackageProcess.NuGetConfig(Feed));
            Version = "0.0.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmss") + "." + System.Environment.ProcessId;
            var pack = PackageProcess.Run("dotnet", RepoPaths.Root, null, "pack", "src/Cli/MambaGen.Cli.csproj", "-c", "Release", "-o", Feed, "-p:Version=" + Version, "-nologo");
            Assert.True(pack.ExitCode == 0, pack.Output);
            PackagePath = Path.Combine(Feed, $"MambaGen.Cli.{Version}.nupkg");
            Assert.True(File.Exists(PackagePath), pack.Output);
        }

        public string Root { get; }

        public string Feed { get; }

        public string ToolPath { get; }

        public string NuGetConfigPath { get; }

        public string Version { get; }

        public string PackagePath { get; }

        public IReadOnlyDictionary<string, string> Environment { get; }

        public void Dispose()
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder is harmless.
            }
        }
    }
}
