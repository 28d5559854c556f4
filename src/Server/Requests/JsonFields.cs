using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;

namespace MambaGen.Server.Requests;

/// <summary>
/// One JSON object of a request, read field by field: each getter checks the field's type and names it (with its
/// path, e.g. <c>messages[1].content</c>) in the 400 it throws; <see cref="RefuseUnread"/> then refuses every field
/// nobody read, so a misspelt or unsupported field is an error rather than silently ignored. A JSON null counts as absent.
/// </summary>
internal sealed class JsonFields
{
    private readonly JsonElement _object;
    private readonly string _prefix;
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    private JsonFields(JsonElement obj, string prefix)
    {
        _object = obj;
        _prefix = prefix;
    }

    public static JsonFields Body(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object ? new JsonFields(root, string.Empty) : throw OpenAiError.BadRequest("The request body must be a JSON object.");

    /// <summary>The object in <paramref name="element"/>, whose fields are named <c>path.field</c>.</summary>
    public static JsonFields Object(JsonElement element, string path) =>
        element.ValueKind == JsonValueKind.Object ? new JsonFields(element, path + ".") : throw OpenAiError.BadField(path, $"'{path}' must be an object.");

    public string PathOf(string name) => _prefix + name;

    /// <summary>The field's value, or null when it is absent or JSON null; marks it read.</summary>
    public JsonElement? Raw(string name)
    {
        _read.Add(name);
        return _object.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
    }

    public string? String(string name) => Raw(name) is { } v
        ? v.ValueKind == JsonValueKind.String ? v.GetString() : throw Wrong(name, "a string")
        : null;

    public bool? Bool(string name) => Raw(name) is { } v
        ? v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw Wrong(name, "true or false")
        : null;

    public double? Number(string name) => Raw(name) is { } v
        ? v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out double d) && double.IsFinite(d) ? d : throw Wrong(name, "a number")
        : null;

    public int? Int(string name) => Raw(name) is { } v ? ToInt(v, PathOf(name)) : null;

    /// <summary>A seed: a whole number in [long.MinValue, ulong.MaxValue]; a negative one is taken modulo 2^64.</summary>
    public ulong? Seed(string name)
    {
        if (Raw(name) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.Number)
        {
            if (v.TryGetUInt64(out ulong u)) return u;
            if (v.TryGetInt64(out long l)) return unchecked((ulong)l);
        }

        throw Wrong(name, "a whole number");
    }

    public static int ToInt(JsonElement v, string path) =>
        v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i
            : throw OpenAiError.BadField(path, $"'{path}' must be a whole number from {int.MinValue} to {int.MaxValue} (got {Describe(v)}).");

    /// <summary>Refuses the first field that no getter read: unknown to this server.</summary>
    public void RefuseUnread()
    {
        foreach (var property in _object.EnumerateObject())
        {
            if (!_read.Contains(property.Name))
            {
                throw OpenAiError.BadField(PathOf(property.Name), $"Unknown field '{PathOf(property.Name)}': this server does not know it (a misspelling, or a field it does not support).");
            }
        }
    }

    public OpenAiError Wrong(string name, string what) =>
        OpenAiError.BadField(PathOf(name), $"'{PathOf(name)}' must be {what} (got {Describe(_object.GetProperty(name))}).");

    public static string Describe(JsonElement v)
    {
        string text = v.GetRawText();
        if (text.Length > 40) text = text[..40] + "...";
        return v.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            _ => text,
        };
    }

    /// <summary>The field's array items, or null when absent.</summary>
    public IReadOnlyList<JsonElement>? Array(string name) => Raw(name) is { } v
        ? v.ValueKind == JsonValueKind.Array ? v.EnumerateArray().ToList() : throw Wrong(name, "an array")
        : null;

    public static string Invariant(double d) => d.ToString("R", CultureInfo.InvariantCulture);
}
