using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace MambaGen.Checkpoints;

/// <summary>Typed reads of config.json keys: a missing required key or a value of the wrong kind names the file and the key.</summary>
internal sealed class ConfigJsonReader
{
    private readonly JsonElement _root;

    public ConfigJsonReader(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(path, null, $"must hold a JSON object, found {root.ValueKind}");
        _root = root;
        Path = path;
    }

    public string Path { get; }

    public bool Has(string key) => _root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    public int RequireInt(string key) => Has(key) ? ReadInt(key) : throw Missing(key);

    public int OptionalInt(string key, int fallback) => Has(key) ? ReadInt(key) : fallback;

    public int? OptionalNullableInt(string key, int? fallback) => _root.TryGetProperty(key, out var v)
        ? (v.ValueKind == JsonValueKind.Null ? null : ReadInt(key))
        : fallback;

    public double OptionalDouble(string key, double fallback) => Has(key) ? ReadDouble(key, _root.GetProperty(key)) : fallback;

    public bool OptionalBool(string key, bool fallback)
    {
        if (!Has(key)) return fallback;
        var v = _root.GetProperty(key);
        return v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw WrongKind(key, "true or false", v),
        };
    }

    public string RequireString(string key) => Has(key) ? ReadString(key) : throw Missing(key);

    public string OptionalString(string key, string fallback) => Has(key) ? ReadString(key) : fallback;

    /// <summary>An int, "auto" (then <paramref name="auto"/>), or absent (also <paramref name="auto"/>).</summary>
    public int IntOrAuto(string key, int auto)
    {
        if (!Has(key)) return auto;
        var v = _root.GetProperty(key);
        if (v.ValueKind == JsonValueKind.String && v.GetString() == "auto") return auto;
        return ReadInt(key);
    }

    /// <summary>A token id that may be an int, a list of ints, or null (then empty).</summary>
    public IReadOnlyList<int> OptionalIntList(string key, IReadOnlyList<int> fallback)
    {
        if (!_root.TryGetProperty(key, out var v)) return fallback;
        if (v.ValueKind == JsonValueKind.Null) return Array.Empty<int>();
        if (v.ValueKind == JsonValueKind.Number) return new[] { ReadInt(key) };
        if (v.ValueKind != JsonValueKind.Array) throw WrongKind(key, "an integer, a list of integers or null", v);
        var list = new List<int>();
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out int id))
                throw WrongKind(key, "a list of integers", v);
            list.Add(id);
        }
        return list;
    }

    /// <summary>A pair of floats such as time_step_limit, each possibly Infinity in either spelling.</summary>
    public (double Min, double Max) OptionalFloatPair(string key, (double, double) fallback)
    {
        var pair = OptionalFloatList(key, 2, new[] { fallback.Item1, fallback.Item2 });
        return (pair[0], pair[1]);
    }

    /// <summary>A list of exactly <paramref name="count"/> floats (Falcon-H1's ssm_multipliers), or the fallback when absent or null.</summary>
    public IReadOnlyList<double> OptionalFloatList(string key, int count, IReadOnlyList<double> fallback)
    {
        if (!Has(key)) return fallback;
        var v = _root.GetProperty(key);
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() != count) throw WrongKind(key, $"a list of {count} numbers", v);
        return v.EnumerateArray().Select(item => ReadDouble(key, item)).ToArray();
    }

    private int ReadInt(string key)
    {
        var v = _root.GetProperty(key);
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int value)) return value;
        // Python writes 2.0 for an int-valued float such as expand; accept it when it is whole.
        if (v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue)
            return (int)d;
        throw WrongKind(key, "an integer", v);
    }

    private double ReadDouble(string key, JsonElement v) => LenientJson.ReadDouble(v) ?? throw WrongKind(key, "a number", v);

    private string ReadString(string key)
    {
        var v = _root.GetProperty(key);
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw WrongKind(key, "a string", v);
    }

    private CheckpointException Missing(string key) => Invalid(key, "required key is missing");

    private CheckpointException WrongKind(string key, string expected, JsonElement found) =>
        Invalid(key, $"expected {expected}, found {Abbreviate(found.GetRawText())}");

    private static string Abbreviate(string raw) => raw.Length <= 60 ? raw : raw[..57] + "...";

    public CheckpointException Invalid(string key, string reason) => new(new CheckpointProblem(Path, key, reason, "key"));
}
