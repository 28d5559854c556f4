using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;

namespace MambaGen.Package.Tests;

/// <summary>
/// Runs dotnet for the package tests. Restores that may fetch a package made by a test (MambaGen, MambaGen.Cli at a
/// test version) get a NuGet packages folder of their own under the temp folder, with the user's packages folder
/// as a read-only fallback (TorchSharp, libtorch...): nothing is written into the user's NuGet cache.
/// </summary>
internal static class PackageProcess
{
    /// <summary>The user's NuGet packages folder: $NUGET_PACKAGES, else ~/.nuget/packages.</summary>
    public static string UserPackagesFolder =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages
            ? packages
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    public static (int ExitCode, string Output) Run(string fileName, string dir, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo(fileName) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>A nuget.config that lists only <paramref name="feed"/> and reads what else it needs from the user's packages folder.</summary>
    public static string NuGetConfig(string feed) => $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <clear />
            <add key="mambagen-local" value="{feed}" />
          </packageSources>
          <fallbackPackageFolders>
            <clear />
            <add key="user-packages" value="{UserPackagesFolder}" />
          </fallbackPackageFolders>
        </configuration>
        """;

    /// <summary>Every file under the user's packages folder whose package id starts with <paramref name="idPrefix"/> at <paramref name="version"/>.</summary>
    public static bool UserCacheHolds(string id, string version) =>
        Directory.Exists(Path.Combine(UserPackagesFolder, id.ToLowerInvariant(), version.ToLowerInvariant()));
}
