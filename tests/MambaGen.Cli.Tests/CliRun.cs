using System;
using System.IO;

namespace MambaGen.Cli.Tests;

/// <summary>One in-process run of mambagen: its exit code and what it wrote to stdout and stderr.</summary>
internal sealed record CliRun(int ExitCode, string Out, string Err)
{
    static CliRun()
    {
        // The default model is extracted under the temp folder, not the user's cache.
        Environment.SetEnvironmentVariable(DefaultModel.CacheEnvironmentVariable, Path.Combine(Path.GetTempPath(), "mambagen-cli-tests"));
    }

    public static CliRun Of(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, output, error);
        return new CliRun(code, output.ToString(), error.ToString());
    }

    /// <summary>The extracted default model, in the tests' cache folder.</summary>
    public static string DefaultModelFolder() => DefaultModel.EnsureExtracted();

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Err}";
}
