using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using MambaGen.Cuda;

namespace MambaGen.Tests.Cuda;

/// <summary>One <c>.param</c> of a PTX entry: its type (<c>u64</c>, <c>f32</c>, ...), and whether it is a byte array (a struct by value).</summary>
internal sealed record PtxParam(string Type, bool IsArray)
{
    /// <summary>The launch kinds whose 4- or 8-byte value this parameter reads: 64-bit integers are pointers or I64.</summary>
    public IReadOnlyList<KernelParam> Kinds => IsArray ? Array.Empty<KernelParam>() : Type switch
    {
        "u64" or "b64" or "s64" => new[] { KernelParam.Ptr, KernelParam.I64 },
        "u32" or "s32" or "b32" => new[] { KernelParam.I32 },
        "f32" => new[] { KernelParam.F32 },
        _ => Array.Empty<KernelParam>(),
    };

    public override string ToString() => IsArray ? $".{Type}[]" : "." + Type;
}

/// <summary>One <c>.entry</c> of a PTX module.</summary>
internal sealed record PtxEntry(string Name, IReadOnlyList<PtxParam> Params);

/// <summary>Reads the kernel entries of PTX text (clang's or NVRTC's) to check them against the C# launch specs.</summary>
internal static partial class PtxEntries
{
    public static IReadOnlyList<PtxEntry> Parse(string ptx)
    {
        var entries = new List<PtxEntry>();
        foreach (Match entry in EntryPattern().Matches(ptx))
        {
            var parameters = new List<PtxParam>();
            foreach (var text in entry.Groups["params"].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var param = ParamPattern().Match(text);
                if (!param.Success)
                {
                    throw new FormatException($"PTX entry {entry.Groups["name"].Value}: cannot read parameter '{text}'.");
                }

                parameters.Add(new PtxParam(param.Groups["type"].Value, param.Groups["array"].Success));
            }

            entries.Add(new PtxEntry(entry.Groups["name"].Value, parameters));
        }

        return entries;
    }

    /// <summary>
    /// Bytes of static shared memory each entry declares: the module's <c>.shared</c> variables its body names (clang
    /// inlines every device function, so an entry's body is all its code). A block may declare at most 48 KiB; past
    /// that the driver refuses the whole module, which clang's compile does not catch.
    /// </summary>
    public static IReadOnlyDictionary<string, long> StaticSharedBytes(string ptx)
    {
        var variables = SharedPattern().Matches(ptx).Select(m => (
            Name: m.Groups["name"].Value,
            Bytes: ElementBytes(m.Groups["type"].Value) * (m.Groups["count"].Success ? long.Parse(m.Groups["count"].Value) : 1))).ToList();
        var starts = EntryPattern().Matches(ptx).Select(m => (m.Groups["name"].Value, m.Index)).ToList();
        var bytes = new Dictionary<string, long>();
        for (int i = 0; i < starts.Count; i++)
        {
            int end = i + 1 < starts.Count ? starts[i + 1].Index : ptx.Length;
            var body = ptx[starts[i].Index..end];
            bytes[starts[i].Item1] = variables.Where(v => Regex.IsMatch(body, $@"(?<![\w$]){Regex.Escape(v.Name)}(?![\w$])")).Sum(v => v.Bytes);
        }

        return bytes;
    }

    private static long ElementBytes(string type) => type switch
    {
        "b8" or "u8" or "s8" => 1,
        "b16" or "u16" or "s16" or "f16" => 2,
        "b32" or "u32" or "s32" or "f32" => 4,
        "b64" or "u64" or "s64" or "f64" => 8,
        _ => throw new FormatException($"PTX .shared variable of type .{type}: size unknown."),
    };

    /// <summary>Null when the spec's kinds fit the entry's parameters one by one, else what differs.</summary>
    public static string? Mismatch(KernelSpec spec, PtxEntry entry)
    {
        if (spec.Params.Count != entry.Params.Count)
        {
            return $"{spec.Name}: the KernelSpec has {spec.Params.Count} parameters ({string.Join(", ", spec.Params)}), the PTX entry {entry.Params.Count} ({string.Join(", ", entry.Params)})";
        }

        for (int i = 0; i < spec.Params.Count; i++)
        {
            if (!entry.Params[i].Kinds.Contains(spec.Params[i]))
            {
                return $"{spec.Name} parameter {i}: the KernelSpec says {spec.Params[i]}, the PTX entry has {entry.Params[i]}";
            }
        }

        return null;
    }

    [GeneratedRegex(@"\.entry\s+(?<name>[A-Za-z_$][\w$]*)\s*\((?<params>[^)]*)\)")]
    private static partial Regex EntryPattern();

    [GeneratedRegex(@"^[ \t]*(?:\.(?:weak|visible|global|extern)\s+)*\.shared\s+(?:\.align\s+\d+\s+)?\.(?<type>\w+)\s+(?<name>[A-Za-z_$][\w$]*)(?:\[(?<count>\d+)\])?\s*;", RegexOptions.Multiline)]
    private static partial Regex SharedPattern();

    [GeneratedRegex(@"^\.param\s+(?:\.align\s+\d+\s+)?\.(?<type>\w+)\s+[\w$]+(?<array>\[\d+\])?$")]
    private static partial Regex ParamPattern();
}
