using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using MambaGen.Testing;

namespace MambaGen.Package.Tests;

/// <summary>One PackageReference must bring the runtime, the generator, the analyzers and the native-library fix.</summary>
[Collection(PackingCollection.Name)]
public sealed class PackedPackageTests : IClassFixture<PackedPackageTests.PackedFeed>
{
    private readonly PackedFeed _feed;

    public PackedPackageTests(PackedFeed feed) => _feed = feed;

    [Fact]
    public void Package_holds_runtime_in_lib_and_generator_analyzers_and_fixes_in_analyzers()
    {
        using var zip = ZipFile.OpenRead(_feed.PackagePath);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("lib/net10.0/MambaGen.Runtime.dll", names);
        Assert.Contains("analyzers/dotnet/cs/MambaGen.Generators.dll", names);
        Assert.Contains("analyzers/dotnet/cs/MambaGen.Analyzers.dll", names);
        Assert.Contains("analyzers/dotnet/cs/MambaGen.Analyzers.CodeFixes.dll", names);
        Assert.Contains("buildTransitive/TorchSharpNativeFix.targets", names);
    }

    [Fact]
    public void User_project_built_against_the_package_gets_generated_members_and_runs()
    {
        var dir = _feed.NewConsumer("""
            using System;
            using MambaGen;
            using static TorchSharp.torch;

            var config = new EngineConfig(new ModelConfig("mamba2", ScalarType.BFloat16, 4096));
            var layer = new SpecOnly("layer", config);
            var spec = layer.GetKvCacheSpec(config);
            Console.WriteLine($"{layer.MambaType} {layer.GetAttnBackend().Name} {spec.PageSizeBytes}");

            [MambaLayer("mamba2")]
            public partial class SpecOnly : MambaBase
            {
                public SpecOnly(string name, EngineConfig config) : base(name, config) { }

                [StateTensor] public long[] ConvState => MambaStateShapeCalculator.Mamba2(1, 5120, 1, 80, 64, 128, 4).Conv;
                [StateTensor] public long[] SsmState => MambaStateShapeCalculator.Mamba2(1, 5120, 1, 80, 64, 128, 4).Ssm;
            }
            """);
        var build = Dotnet(dir, "build", "-c", "Release", "-nologo");
        Assert.True(build.ExitCode == 0, build.Output);
        Assert.Contains("0 Warning(s)", build.Output);
        var run = Dotnet(dir, "run", "-c", "Release", "--no-build");
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("mamba2 MAMBA2_ATTN 1342976", run.Output);
    }

    [Fact]
    public void User_project_built_against_the_package_gets_the_analyzer_error_for_an_unknown_mamba_type()
    {
        // A top-level statement, so the program's only compiler problem would be the layer: a command-line build
        // runs analyzers only on a compilation without errors.
        var dir = _feed.NewConsumer("""
            using MambaGen;

            System.Console.WriteLine(typeof(Broken).Name);

            [MambaLayer("mamba3")]
            public partial class Broken : MambaBase
            {
                public Broken(string n, EngineConfig c) : base(n, c) { }
                [StateTensor] public long[] ConvState => new long[] { 3, 8 };
                [StateTensor] public long[] SsmState => new long[] { 2, 4, 8 };
            }
            """);
        var build = Dotnet(dir, "build", "-c", "Release", "-nologo");
        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("error MG0004", build.Output);
        Assert.Contains("did you mean 'mamba1'", build.Output);
        Assert.DoesNotContain("CS0534", build.Output);
    }

    [Fact]
    public void User_project_built_against_the_package_gets_MG0001_for_a_layer_without_MambaLayer()
    {
        // The class keeps CS0534 (nothing can implement its members), so no analyzer runs: MG0001 must come from the generator.
        var dir = _feed.NewConsumer("""
            using MambaGen;

            System.Console.WriteLine(typeof(Forgotten).Name);

            public class Forgotten : MambaBase
            {
                public Forgotten(string n, EngineConfig c) : base(n, c) { }
                [StateTensor] public long[] ConvState => new long[] { 3, 8 };
            }
            """);
        var build = Dotnet(dir, "build", "-c", "Release", "-nologo");
        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("error MG0001: 'Forgotten' derives from MambaBase but does not implement MambaType, GetStateShape(), GetStateDtype(), GetAttnBackend()", build.Output);
    }

    [Fact]
    public void User_project_built_against_the_package_gets_MG0002_for_a_layer_that_is_not_partial()
    {
        var dir = _feed.NewConsumer("""
            using MambaGen;

            System.Console.WriteLine(typeof(Whole).Name);

            [MambaLayer("short_conv")]
            public class Whole : MambaBase
            {
                public Whole(string n, EngineConfig c) : base(n, c) { }
                [StateTensor] public long[] ConvState => new long[] { 3, 8 };
            }
            """);
        var build = Dotnet(dir, "build", "-c", "Release", "-nologo");
        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("error MG0002: 'Whole' is a [MambaLayer] layer but 'Whole' is not partial", build.Output);
    }

    private (int ExitCode, string Output) Dotnet(string dir, params string[] args) => PackageProcess.Run("dotnet", dir, _feed.Environment, args);

    [Fact]
    public void Package_has_its_own_readme_without_relative_links_and_no_placeholder_repository()
    {
        using var zip = ZipFile.OpenRead(_feed.PackagePath);
        var nuspec = ReadEntry(zip, "MambaGen.nuspec");
        var readme = ReadEntry(zip, "README.md");

        Assert.Contains("<readme>README.md</readme>", nuspec);
        // The SDK records the commit; a repository URL is not known yet, so none (rather than a placeholder).
        Assert.DoesNotMatch("<repository[^>]*url=", nuspec);
        Assert.DoesNotContain("<projectUrl>", nuspec);
        Assert.DoesNotContain("github.com/mambagen", nuspec);
        Assert.StartsWith("# MambaGen", readme);
        // Markdown links must be absolute (nuget.org has no repository to resolve a relative one against).
        foreach (System.Text.RegularExpressions.Match link in System.Text.RegularExpressions.Regex.Matches(readme, @"\]\(([^)]*)\)"))
        {
            Assert.StartsWith("https://", link.Groups[1].Value);
        }
    }

    [Fact]
    public void Consumer_restores_write_the_test_package_into_their_own_packages_folder_not_the_users()
    {
        var dir = _feed.NewConsumer("System.Console.WriteLine(typeof(MambaGen.MambaBase).Name);");
        var restore = Dotnet(dir, "restore", "-nologo");

        Assert.True(restore.ExitCode == 0, restore.Output);
        Assert.True(Directory.Exists(Path.Combine(_feed.Packages, "mambagen", _feed.Version.ToLowerInvariant())), restore.Output);
        Assert.False(PackageProcess.UserCacheHolds("MambaGen", _feed.Version), $"{_feed.Version} reached {PackageProcess.UserPackagesFolder}");
        // TorchSharp and libtorch come from the user's folder as a fallback, not copied.
        Assert.False(Directory.Exists(Path.Combine(_feed.Packages, "libtorch-cpu-linux-x64")), "libtorch was copied into the test's packages folder");
    }

    internal static string ReadEntry(ZipArchive zip, string name)
    {
        var entry = zip.Entries.Single(e => e.FullName == name);
        using var reader = new StreamReader(entry.Open());
        return reader.ReadToEnd();
    }

    /// <summary>Packs the runtime once, with a version of its own so the NuGet cache never serves a stale copy.</summary>
    public sealed class PackedFeed : IDisposable
    {
        public PackedFeed()
        {
            Root = Path.Combine(Path.GetTempPath(), "mambagen-pkg-" + Guid.NewGuid().ToString("N")[..8]);
            Feed = Path.Combine(Root, "feed");
            Directory.CreateDirectory(Feed);
            Version = "0.0.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmss") + "." + System.Environment.ProcessId;
            var repo = RepoPaths.Root;
            Packages = Path.Combine(Root, "nuget-packages");
            Directory.CreateDirectory(Packages);
            Environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Packages };
            // The repo's own restore is the developer's: it keeps the user's packages folder (it fetches nothing new).
            var pack = PackageProcess.Run("dotnet", repo, null, "pack", "src/Runtime/MambaGen.csproj", "-c", "Release", "-o", Feed, "-p:Version=" + Version, "-nologo");
            Assert.True(pack.ExitCode == 0, pack.Output);
            PackagePath = Path.Combine(Feed, $"MambaGen.{Version}.nupkg");
            Assert.True(File.Exists(PackagePath), pack.Output);
        }

        public string Root { get; }

        /// <summary>The consumers' NuGet packages folder (NUGET_PACKAGES), under <see cref="Root"/>.</summary>
        public string Packages { get; }

        /// <summary>What every consumer's dotnet runs with: its own packages folder.</summary>
        public IReadOnlyDictionary<string, string> Environment { get; }

        public string Feed { get; }

        public string Version { get; }

        public string PackagePath { get; }

        public string NewConsumer(string program)
        {
            var dir = Path.Combine(Root, "consumer-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "Consumer.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="MambaGen" Version="{Version}" />
                    <PackageReference Include="libtorch-cpu-linux-x64" Version="2.10.0" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(dir, "Program.cs"), program);
            File.WriteAllText(Path.Combine(dir, "nuget.config"), PackageProcess.NuGetConfig(Feed));
            // Keep the consumer outside the repo's Directory.Build.* files, as a user's project is.
            File.WriteAllText(Path.Combine(dir, "Directory.Build.props"), "<Project />");
            File.WriteAllText(Path.Combine(dir, "Directory.Build.targets"), "<Project />");
            File.WriteAllText(Path.Combine(dir, "Directory.Packages.props"), "<Project />");
            return dir;
        }

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
