using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.RegularExpressions;
using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;
using Microsoft.CodeAnalysis;

namespace MambaGen.Generators.Tests.Infrastructure;

/// <summary>
/// Verify.SourceGenerators' conventions without Verify (not installable here): each generated file is compared with
/// <c>Snapshots/{Class}.{Method}#{hint without .cs}.verified.cs</c>, which starts with <c>//HintName: {hint}</c>, is
/// UTF-8 with BOM, LF, no trailing newline. A mismatch or a missing snapshot writes <c>.received.cs</c> and fails
/// with a diff; <c>MAMBAGEN_ACCEPT_SNAPSHOTS=1</c> accepts instead, except when <c>CI=true</c>.
/// </summary>
internal static class SnapshotVerifier
{
    private const string AcceptVariable = "MAMBAGEN_ACCEPT_SNAPSHOTS";
    private const string VersionPlaceholder = "FIXED_VERSION";

    private static readonly Encoding Utf8WithBom = new UTF8Encoding(encoderShouldEmitUTF8Identifier: true);

    // The tool version changes each release; snapshots hold a placeholder.
    private static readonly Regex GeneratedCodeVersion = new(
        "(GeneratedCode\\(\"MambaGen\\.Generators\", \")[^\"]*(\"\\))", RegexOptions.Compiled);

    private static bool Accepting =>
        Environment.GetEnvironmentVariable(AcceptVariable) == "1"
        && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static void Verify(GeneratorDriverRunResult run, [CallerFilePath] string testFile = "", [CallerMemberName] string testMethod = "")
    {
        string directory = Path.Combine(Path.GetDirectoryName(testFile)!, "Snapshots");
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Snapshot folder '{directory}' not found; snapshot tests run from the source tree they were built from.");
        }

        string prefix = $"{Path.GetFileNameWithoutExtension(testFile)}.{testMethod}";
        var failures = new List<string>();
        var produced = new HashSet<string>(StringComparer.Ordinal);

        foreach (var source in run.Results.SelectMany(r => r.GeneratedSources).OrderBy(s => s.HintName, StringComparer.Ordinal))
        {
            string name = Path.GetFileNameWithoutExtension(source.HintName);
            string verifiedPath = Path.Combine(directory, $"{prefix}#{name}.verified.cs");
            string receivedPath = Path.Combine(directory, $"{prefix}#{name}.received.cs");
            Assert.True(produced.Add(verifiedPath), $"Two generated files map to snapshot '{verifiedPath}'.");

            string received = Normalize($"//HintName: {source.HintName}\n{source.SourceText}");
            string? verified = File.Exists(verifiedPath) ? Normalize(File.ReadAllText(verifiedPath)) : null;
            if (verified == received)
            {
                File.Delete(receivedPath);
                continue;
            }

            if (Accepting)
            {
                File.WriteAllText(verifiedPath, received, Utf8WithBom);
                File.Delete(receivedPath);
                continue;
            }

            File.WriteAllText(receivedPath, received, Utf8WithBom);
            failures.Add(verified is null
                ? $"New snapshot (no {Path.GetFileName(verifiedPath)}); received:\n{received}"
                : $"{Path.GetFileName(verifiedPath)} differs (- verified, + received):\n{Diff(verified, received)}");
        }

        // A verified file the generator no longer produces is stale.
        foreach (var stale in Directory.GetFiles(directory, $"{prefix}#*.verified.cs").Where(f => !produced.Contains(f)))
        {
            if (Accepting)
            {
                File.Delete(stale);
            }
            else
            {
                failures.Add($"Stale snapshot {Path.GetFileName(stale)}: the generator no longer writes it.");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n\n", failures) + $"\n\nTo accept, rerun with {AcceptVariable}=1.");
    }

    private static string Normalize(string text)
    {
        text = text.Replace("\r\n", "\n").Replace('\r', '\n').TrimEnd('\n');
        return GeneratedCodeVersion.Replace(text, "${1}" + VersionPlaceholder + "${2}");
    }

    private static string Diff(string verified, string received)
    {
        var builder = new StringBuilder();
        foreach (var line in InlineDiffBuilder.Diff(verified, received).Lines)
        {
            string mark = line.Type switch
            {
                ChangeType.Inserted => "+ ",
                ChangeType.Deleted => "- ",
                _ => "  ",
            };
            builder.Append(mark).Append(line.Text).Append('\n');
        }

        return builder.ToString();
    }
}
