using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using MambaGen.Cuda;

namespace MambaGen.Tests.Cuda;

/// <summary>
/// The rule that lets the runtime launch its kernels as programmatic dependents: every entry of a source that says
/// <see cref="KernelSource.AwaitsPreviousGrid"/> waits on the previous grid (the prelude's <c>mg_after_previous_grid()</c>)
/// as its first statement, or its body is one call of a template that does (the GEMVs, which load weights first).
/// The emulator checks at run time that every thread of every block it runs made the call.
/// </summary>
public class KernelEntryWaitTests
{
    private const string Wait = "mg_after_previous_grid();";

    /// <summary>Each entry's name (its first token after the return type and launch bounds) and its body.</summary>
    internal static IEnumerable<(string Name, string Body)> Entries(string code)
    {
        foreach (Match m in Regex.Matches(code, @"extern ""C"" __global__ void\s+(?:MG_LAUNCH_BOUNDS\([^()]*(?:\([^()]*\)[^()]*)*\)\s*|BOUNDS\s+)?([\w#]+)\s*\("))
        {
            int close = Matching(code, m.Index + m.Length - 1, '(', ')');
            int open = code.IndexOf('{', close);
            yield return (m.Groups[1].Value, code[(open + 1)..Matching(code, open, '{', '}')]);
        }
    }

    private static int Matching(string code, int open, char opening, char closing)
    {
        int depth = 0;
        for (int i = open; i < code.Length; i++)
        {
            depth += code[i] == opening ? 1 : code[i] == closing ? -1 : 0;
            if (depth == 0)
            {
                return i;
            }
        }

        throw new InvalidOperationException($"unbalanced '{opening}' at {open}");
    }

    /// <summary>Why an entry's body does not wait first, or null when it does.</summary>
    internal static string? Fault(string code, string body)
    {
        string text = Regex.Replace(body, @"\\\s*\n", " ").Trim();
        if (text.StartsWith(Wait, StringComparison.Ordinal))
        {
            return null;
        }

        // A body that is one call of a template (after aggregates of its parameters, which touch no memory): the
        // template's definition must wait, after nothing but weight loads.
        text = Regex.Replace(text, @"^(\w+(<\w+>)? \w+ = \{[^;*\[]*\};\s*)+", "");
        var call = Regex.Match(text, @"^(\w+)<[^;]*;$");
        if (call.Success)
        {
            var definition = Regex.Match(code, @"__device__ __forceinline__ void " + call.Groups[1].Value + @"\(");
            if (definition.Success && code[definition.Index..Matching(code, code.IndexOf('{', definition.Index), '{', '}')].Contains(Wait, StringComparison.Ordinal))
            {
                return null;
            }
        }

        return $"does not start with {Wait}";
    }

    [Fact]
    public void Every_entry_of_the_runtimes_kernels_waits_on_the_previous_grid_before_anything_else()
    {
        var faults = new List<string>();
        int entries = 0;
        foreach (var source in KernelSources.All)
        {
            Assert.True(source.AwaitsPreviousGrid, source.FileName);
            foreach (var (name, body) in Entries(source.Code))
            {
                entries++;
                if (Fault(source.Code, body) is { } fault)
                {
                    faults.Add($"{source.FileName}: {name} {fault}");
                }
            }
        }

        Assert.True(entries >= 25, $"only {entries} entries read: the pattern no longer finds them");
        Assert.Empty(faults);
    }

    [Fact]
    public void An_entry_that_reads_before_waiting_is_found()
    {
        const string code = """
            template <typename T> __device__ __forceinline__ void waits(const T* p) { float w = *p; mg_after_previous_grid(); }
            template <typename T> __device__ __forceinline__ void never(const T* p) { float w = *p; }
            extern "C" __global__ void good(const float* p) { mg_after_previous_grid(); float v = *p; }
            extern "C" __global__ void MG_LAUNCH_BOUNDS(32 * (8 / 2), 3) late(const float* p) { float v = *p; mg_after_previous_grid(); }
            extern "C" __global__ void through(const float* p) { waits<float>(p); }
            extern "C" __global__ void missing(const float* p) { never<float>(p); }
            extern "C" __global__ void packed(const float* p, int n) { Args a = {p, n}; waits<float>(a.p); }
            extern "C" __global__ void loaded(const float* p, int n) { Args a = {p, p[n]}; waits<float>(a.p); }
            """;

        var faults = Entries(code).ToDictionary(e => e.Name, e => Fault(code, e.Body));

        Assert.Equal(new[] { "good", "late", "through", "missing", "packed", "loaded" }, faults.Keys);
        Assert.Null(faults["good"]);
        Assert.NotNull(faults["late"]);
        Assert.Null(faults["through"]);
        Assert.NotNull(faults["missing"]);
        Assert.Null(faults["packed"]);
        Assert.NotNull(faults["loaded"]);
    }
}
