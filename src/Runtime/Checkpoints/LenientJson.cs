using System;
using System.IO;
using System.Text;
using System.Text.Json;

namespace MambaGen.Checkpoints;

/// <summary>
/// Parses the JSON that Python writes: <c>json.dumps</c> emits bare <c>Infinity</c>, <c>-Infinity</c> and <c>NaN</c>,
/// which System.Text.Json rejects. Outside strings they become the strings "Infinity", "-Infinity", "NaN",
/// which <see cref="ReadDouble"/> reads back as numbers.
/// </summary>
internal static class LenientJson
{
    private static readonly string[] BareLiterals = { "-Infinity", "Infinity", "NaN" };

    /// <summary>Parses a JSON file of at most <paramref name="maxBytes"/> bytes; a larger one is refused before it is read.</summary>
    public static JsonDocument ParseFile(string path, long maxBytes)
    {
        string text;
        try
        {
            long length = new FileInfo(path).Length;
            if (length > maxBytes)
                throw new CheckpointException(path, null,
                    $"is {length} bytes, above the limit of {maxBytes} bytes for a {Path.GetFileName(path)}: refused unread");
            text = File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(path, null, $"cannot be read: {e.Message}", e);
        }
        return Parse(text, path);
    }

    public static JsonDocument Parse(string text, string path)
    {
        try
        {
            return JsonDocument.Parse(QuoteBareLiterals(text));
        }
        catch (JsonException e)
        {
            // The position is in the rewritten text; it moves by at most two characters per bare literal before it.
            throw new CheckpointException(path, null, $"is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>Wraps bare Infinity / -Infinity / NaN tokens in quotes; leaves string contents untouched.</summary>
    internal static string QuoteBareLiterals(string text)
    {
        StringBuilder? rewritten = null;
        int copiedUpTo = 0;
        bool inString = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (inString)
            {
                if (c == '\\') i++; // skip the escaped character, which may be a quote
                else if (c == '"') inString = false;
                continue;
            }
            if (c == '"')
            {
                inString = true;
                continue;
            }
            if (c != 'I' && c != 'N' && c != '-') continue;
            if (i > 0 && IsWordChar(text[i - 1])) continue;
            foreach (var literal in BareLiterals)
            {
                int end = i + literal.Length;
                if (string.CompareOrdinal(text, i, literal, 0, literal.Length) != 0) continue;
                if (end < text.Length && IsWordChar(text[end])) continue;
                rewritten ??= new StringBuilder(text.Length + 16);
                rewritten.Append(text, copiedUpTo, i - copiedUpTo).Append('"').Append(literal).Append('"');
                copiedUpTo = end;
                i = end - 1;
                break;
            }
        }
        if (rewritten is null) return text;
        return rewritten.Append(text, copiedUpTo, text.Length - copiedUpTo).ToString();
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_' || c == '.';

    /// <summary>
    /// Reads a float written as a number, as a bare/quoted Infinity, -Infinity or NaN, or as transformers 5's
    /// <c>{"__float__": "Infinity"}</c>; null when the element is none of these.
    /// </summary>
    public static double? ReadDouble(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Number:
                return element.GetDouble();
            case JsonValueKind.String:
                return SpecialFloat(element.GetString());
            case JsonValueKind.Object:
                int count = 0;
                JsonElement value = default;
                foreach (var property in element.EnumerateObject())
                {
                    count++;
                    if (property.NameEquals("__float__")) value = property.Value;
                }
                if (count != 1 || value.ValueKind == JsonValueKind.Undefined) return null;
                return value.ValueKind == JsonValueKind.Number ? value.GetDouble()
                    : value.ValueKind == JsonValueKind.String ? SpecialFloat(value.GetString()) : null;
            default:
                return null;
        }
    }

    private static double? SpecialFloat(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "infinity" or "inf" or "+infinity" or "+inf" => double.PositiveInfinity,
        "-infinity" or "-inf" => double.NegativeInfinity,
        "nan" => double.NaN,
        _ => null,
    };
}
