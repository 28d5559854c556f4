using System;
using System.CommandLine;
using System.CommandLine.Help;
using System.IO;
using System.Linq;
using MambaGen.Checkpoints;

namespace MambaGen.Cli;

/// <summary>mambagen's entry point, callable in-process with any writers (tests pass StringWriters).</summary>
public static class CliApp
{
    /// <summary>Parses <paramref name="args"/> and runs the command; returns the exit code (see <see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        bool interactiveErr = ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected;
        // A plain command named mambagen rather than a RootCommand, which would name itself after the assembly (MambaGen.Cli).
        var root = new Command("mambagen", "Run Mamba and Mamba-2 language models on the MambaGen runtime (TorchSharp).")
        {
            new GenerateCommand(output, error, interactiveErr).Command,
            new CheckCommand(output).Command,
            new InfoCommand(output).Command,
            new HelpOption(),
            new VersionOption(),
        };
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) error.WriteLine($"error: {e.Message}");
            string command = string.Join(' ', ReferenceEquals(parse.CommandResult.Command, root) ? Array.Empty<string>() : new[] { parse.CommandResult.Command.Name });
            error.WriteLine($"Run 'mambagen {command}{(command.Length > 0 ? " " : string.Empty)}--help' for the options.");
            return ExitCodes.BadInput;
        }

        try
        {
            return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        }
        catch (CheckpointException e)
        {
            output.Flush();
            error.WriteLine($"error: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (CliInputException e)
        {
            output.Flush();
            error.WriteLine($"error: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception e) when (e is not OutOfMemoryException and not StackOverflowException)
        {
            output.Flush();
            error.WriteLine($"error: {e.GetType().Name}: {e.Message}");
            return ExitCodes.InternalError;
        }
    }
}
