using System;
using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Collections.Generic;
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
            new ServeCommand(error).Command,
            new HelpOption(),
            new VersionOption(),
        };
        if (args.Length == 0)
        {
            // mambagen alone is a request for help, not a mistake: the commands and options on stdout, exit 0.
            return root.Parse(new[] { "--help" }).Invoke(new InvocationConfiguration { Output = output, Error = error });
        }

        var parse = root.Parse(args);
        if (ParseErrors(parse, root) is { Count: > 0 } errors)
        {
            foreach (var e in errors) error.WriteLine($"error: {e}");
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

    /// <summary>
    /// The parse's errors, with every token that looks like an option but is none reported first as an unknown option
    /// with the nearest real one (System.CommandLine would take it as the prompt, or say only "Unrecognized command or argument").
    /// </summary>
    private static List<string> ParseErrors(ParseResult parse, Command root)
    {
        var messages = new List<string>();
        var command = parse.CommandResult.Command;
        bool atRoot = ReferenceEquals(command, root);
        string path = atRoot ? "mambagen" : "mambagen " + command.Name;
        var unknown = CliParsing.UnknownOptions(parse);
        foreach (var token in unknown) messages.Add(CliParsing.DescribeUnknownOption(token, command, path));
        if (atRoot)
        {
            // The first word that is no command; the words after it would be its arguments.
            foreach (var token in parse.UnmatchedTokens.Where(t => !CliParsing.LooksLikeOption(t)).Take(1))
            {
                string? nearest = CliParsing.NearestCommand(token, root);
                messages.Add($"unknown command '{token}'" + (nearest is null ? $"; the commands are {string.Join(", ", root.Subcommands.Select(c => c.Name))}." : $"; did you mean '{nearest}'?"));
            }
        }

        foreach (var e in parse.Errors)
        {
            // Unmatched tokens are reported above, with a suggestion.
            if (parse.UnmatchedTokens.Any(t => e.Message.Contains($"'{t}'", StringComparison.Ordinal)) && (unknown.Count > 0 || atRoot)) continue;
            if (unknown.Any(t => e.Message.Contains($"'{t}'", StringComparison.Ordinal))) continue;
            // With an unknown command named, "Required command was not provided" says nothing more.
            if (atRoot && messages.Count > 0 && e.SymbolResult is CommandResult) continue;
            messages.Add(e.Message);
        }

        return messages;
    }
}
