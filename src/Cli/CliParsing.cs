using System;
using System.Collections.Generic;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Linq;

namespace MambaGen.Cli;

/// <summary>
/// What System.CommandLine leaves to the application: option values parsed with messages that name the option (not a
/// .NET type), and tokens that look like options but are none (a mistyped <c>--max-token</c> would otherwise become
/// the prompt) reported as unknown options with the nearest real one.
/// </summary>
internal static class CliParsing
{
    /// <summary>A whole-number option: anything else is "--name must be a whole number (got 'x')".</summary>
    public static Option<int> Int(Option<int> option)
    {
        option.CustomParser = r => ParseToken(r, option.Name, s => int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) ? v : (int?)null, "a whole number") ?? 0;
        return option;
    }

    public static Option<int?> NullableInt(Option<int?> option)
    {
        option.CustomParser = r => ParseToken(r, option.Name, s => int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v) ? v : (int?)null, "a whole number");
        return option;
    }

    public static Option<ulong?> NullableULong(Option<ulong?> option)
    {
        option.CustomParser = r => ParseToken(r, option.Name, s => ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) ? v : (ulong?)null,
            $"a whole number from 0 to {ulong.MaxValue.ToString(CultureInfo.InvariantCulture)}");
        return option;
    }

    public static Option<double?> NullableDouble(Option<double?> option)
    {
        option.CustomParser = r => ParseToken(r, option.Name, s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : (double?)null, "a number (like 0.7)");
        return option;
    }

    public static Option<double> Double(Option<double> option)
    {
        option.CustomParser = r => ParseToken(r, option.Name, s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : (double?)null, "a number (like 0.7)") ?? 0;
        return option;
    }

    private static T? ParseToken<T>(ArgumentResult result, string name, Func<string, T?> parse, string what)
        where T : struct
    {
        if (result.Tokens.Count != 1)
        {
            result.AddError($"{name} needs a value: {what}.");
            return null;
        }

        string text = result.Tokens[0].Value;
        if (parse(text) is T value) return value;
        result.AddError($"{name} must be {what} (got '{text}').");
        return null;
    }

    /// <summary>
    /// Tokens the parse took as the command's positional argument or could not match, that start with '-' and are
    /// not numbers: mistyped options. Tokens after "--" are arguments whatever they look like.
    /// </summary>
    public static IReadOnlyList<string> UnknownOptions(ParseResult parse)
    {
        int doubleDash = -1;
        for (int i = 0; i < parse.Tokens.Count; i++)
        {
            if (parse.Tokens[i].Type == TokenType.DoubleDash)
            {
                doubleDash = i;
                break;
            }
        }

        var candidates = new List<Token>(parse.UnmatchedTokens.Count > 0 ? parse.Tokens.Where(t => parse.UnmatchedTokens.Contains(t.Value)) : Enumerable.Empty<Token>());
        foreach (var child in parse.CommandResult.Children)
        {
            if (child is ArgumentResult argument) candidates.AddRange(argument.Tokens);
        }

        var unknown = new List<string>();
        foreach (var token in candidates)
        {
            int at = IndexOf(parse.Tokens, token);
            if (doubleDash >= 0 && at > doubleDash) continue;
            if (LooksLikeOption(token.Value) && !unknown.Contains(token.Value)) unknown.Add(token.Value);
        }

        return unknown;
    }

    private static int IndexOf(IReadOnlyList<Token> tokens, Token token)
    {
        for (int i = 0; i < tokens.Count; i++)
            if (ReferenceEquals(tokens[i], token)) return i;
        for (int i = 0; i < tokens.Count; i++)
            if (tokens[i].Equals(token)) return i;
        return -1;
    }

    internal static bool LooksLikeOption(string token) =>
        token.Length > 1 && token[0] == '-' && !double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out _);

    /// <summary>"unknown option '--max-token' for 'mambagen generate'; did you mean '--max-tokens'?"</summary>
    public static string DescribeUnknownOption(string token, Command command, string commandPath)
    {
        string? suggestion = Nearest(token, OptionNames(command));
        return $"unknown option '{token}' for '{commandPath}'" + (suggestion is null ? "." : $"; did you mean '{suggestion}'?") +
               (command.Arguments.Count > 0 ? " (Text that starts with '-' goes after '--', after all options.)" : string.Empty);
    }

    /// <summary>The nearest subcommand to an unknown command name, or null.</summary>
    public static string? NearestCommand(string token, Command root) => Nearest(token, root.Subcommands.Select(c => c.Name));

    private static IEnumerable<string> OptionNames(Command command)
    {
        foreach (var option in command.Options)
        {
            yield return option.Name;
            foreach (var alias in option.Aliases) yield return alias;
        }
    }

    /// <summary>The name the typed text is a prefix of, else the closest by edit distance within a third of its length (at least 2).</summary>
    internal static string? Nearest(string typed, IEnumerable<string> names)
    {
        // "-x": every one-letter alias is one edit away, so none is a better guess than another.
        if (typed.Length <= 2) return null;
        var all = names.Distinct(StringComparer.Ordinal).ToList();
        var prefixed = all.Where(n => typed.Length >= 3 && n.StartsWith(typed, StringComparison.OrdinalIgnoreCase)).OrderBy(n => n.Length).FirstOrDefault();
        if (prefixed is not null) return prefixed;
        int limit = Math.Max(2, typed.Length / 3);
        return all.Select(n => (Name: n, Distance: Distance(typed.ToLowerInvariant(), n.ToLowerInvariant())))
            .Where(x => x.Distance <= limit)
            .OrderBy(x => x.Distance).ThenBy(x => x.Name, StringComparer.Ordinal)
            .Select(x => x.Name)
            .FirstOrDefault();
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) previous[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
