using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace MambaGen.ChatTemplates;

/// <summary>Jinja's default Undefined: prints as "", is falsy, iterates as empty; attribute access on it is an error.</summary>
internal sealed class Undefined
{
    public Undefined(string hint) => Hint = hint;

    public string Hint { get; }

    public override string ToString() => "";
}

/// <summary>The object <c>namespace(...)</c> returns: attributes assignable with <c>{% set ns.x = ... %}</c>.</summary>
internal sealed class Namespace
{
    public Dictionary<string, object?> Attributes { get; } = new(StringComparer.Ordinal);
}

/// <summary>A callable value: a global, a bound method, a macro or <c>caller</c>.</summary>
internal sealed class PyFunc
{
    public PyFunc(string name, Func<List<object?>, Dictionary<string, object?>, object?> invoke)
    {
        Name = name;
        Invoke = invoke;
    }

    public string Name { get; }

    public Func<List<object?>, Dictionary<string, object?>, object?> Invoke { get; }
}

/// <summary>Python semantics for the values templates handle: None, bool, int (long), float (double), str, list, dict.</summary>
internal static class Py
{
    public static bool IsUndefined(object? v) => v is Undefined;

    public static bool Truthy(object? v) => v switch
    {
        null => false,
        Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        Dictionary<string, object?> d => d.Count > 0,
        _ => true,
    };

    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        Undefined => "Undefined",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        List<object?> => "list",
        Dictionary<string, object?> => "dict",
        Namespace => "Namespace",
        PyFunc => "function",
        _ => v.GetType().Name,
    };

    /// <summary>Python's <c>str()</c> (Undefined prints as "").</summary>
    public static string Str(object? v) => v switch
    {
        null => "None",
        Undefined => "",
        string s => s,
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatRepr(d),
        _ => Repr(v),
    };

    /// <summary>Python's <c>repr()</c>.</summary>
    public static string Repr(object? v)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, v, 0);
        return sb.ToString();
    }

    private static void AppendRepr(StringBuilder sb, object? v, int depth)
    {
        if (depth > 64) throw new ChatTemplateException("value nested too deeply to print");
        switch (v)
        {
            case string s:
                AppendStringRepr(sb, s);
                break;
            case List<object?> l:
                sb.Append('[');
                for (int i = 0; i < l.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, l[i], depth + 1);
                }
                sb.Append(']');
                break;
            case Dictionary<string, object?> d:
                sb.Append('{');
                bool first = true;
                foreach (var kv in d)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    AppendStringRepr(sb, kv.Key);
                    sb.Append(": ");
                    AppendRepr(sb, kv.Value, depth + 1);
                }
                sb.Append('}');
                break;
            case Namespace:
                sb.Append("<Namespace>");
                break;
            case PyFunc f:
                sb.Append("<function ").Append(f.Name).Append('>');
                break;
            default:
                sb.Append(Str(v));
                break;
        }
    }

    private static void AppendStringRepr(StringBuilder sb, string s)
    {
        char q = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(q);
        foreach (char c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == q) sb.Append('\\').Append(c);
                    else if (c < 0x20 || c == 0x7f) sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append(q);
    }

    /// <summary>Python's float repr: shortest round-trip digits, ".0" on integral values, "e+XX" exponents.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        double abs = Math.Abs(d);
        if (abs >= 1e16 || abs < 1e-4)
        {
            string e = d.ToString("E16", CultureInfo.InvariantCulture);
            // Shortest round trip in exponent form.
            string r = d.ToString("R", CultureInfo.InvariantCulture);
            int ei = r.IndexOfAny(new[] { 'E', 'e' });
            string mant, exp;
            if (ei >= 0)
            {
                mant = r.Substring(0, ei);
                exp = r.Substring(ei + 1);
            }
            else
            {
                int ei2 = e.IndexOf('E');
                int expVal = int.Parse(e.Substring(ei2 + 1), CultureInfo.InvariantCulture);
                mant = (d / Math.Pow(10, expVal)).ToString("R", CultureInfo.InvariantCulture);
                exp = expVal.ToString(CultureInfo.InvariantCulture);
            }
            int ev = int.Parse(exp, CultureInfo.InvariantCulture);
            return mant + "e" + (ev < 0 ? "-" : "+") + Math.Abs(ev).ToString("00", CultureInfo.InvariantCulture);
        }
        string s = d.ToString("R", CultureInfo.InvariantCulture);
        if (s.Contains('E'))
            s = d.ToString("0.#################", CultureInfo.InvariantCulture);
        if (!s.Contains('.')) s += ".0";
        return s;
    }

    public static bool IsNumber(object? v) => v is long or double or bool;

    public static double ToDouble(object? v) => v switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new InvalidCastException(),
    };

    private const int MaxCompareDepth = 256;

    public static new bool Equals(object? a, object? b) => Equals(a, b, 0);

    private static bool Equals(object? a, object? b, int depth)
    {
        if (depth > MaxCompareDepth) throw new ChatTemplateException("sandbox limit: values nested too deeply to compare");
        if (a is Undefined || b is Undefined) return a is Undefined && b is Undefined;
        if (a is null || b is null) return a is null && b is null;
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double) return ToDouble(a) == ToDouble(b);
            return ToLong(a) == ToLong(b);
        }
        if (a is string sa && b is string sb) return string.Equals(sa, sb, StringComparison.Ordinal);
        if (a is List<object?> la && b is List<object?> lb)
        {
            if (la.Count != lb.Count) return false;
            for (int i = 0; i < la.Count; i++)
                if (!Equals(la[i], lb[i], depth + 1)) return false;
            return true;
        }
        if (a is Dictionary<string, object?> da && b is Dictionary<string, object?> db)
        {
            if (da.Count != db.Count) return false;
            foreach (var kv in da)
                if (!db.TryGetValue(kv.Key, out var other) || !Equals(kv.Value, other, depth + 1)) return false;
            return true;
        }
        return ReferenceEquals(a, b);
    }

    public static long ToLong(object? v) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        double d => (long)d,
        _ => throw new InvalidCastException(),
    };

    /// <summary>Python ordering (&lt; &gt;): numbers with numbers, str with str, lists element-wise; otherwise null (a TypeError).</summary>
    public static int? Compare(object? a, object? b) => Compare(a, b, 0);

    private static int? Compare(object? a, object? b, int depth)
    {
        if (depth > MaxCompareDepth) throw new ChatTemplateException("sandbox limit: values nested too deeply to compare");
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double) return ToDouble(a).CompareTo(ToDouble(b));
            return ToLong(a).CompareTo(ToLong(b));
        }
        if (a is string sa && b is string sb) return string.CompareOrdinal(sa, sb) switch { < 0 => -1, > 0 => 1, _ => 0 };
        if (a is List<object?> la && b is List<object?> lb)
        {
            for (int i = 0; i < Math.Min(la.Count, lb.Count); i++)
            {
                if (Equals(la[i], lb[i], depth + 1)) continue;
                return Compare(la[i], lb[i], depth + 1);
            }
            return la.Count.CompareTo(lb.Count);
        }
        return null;
    }

    public static bool Contains(object? container, object? item)
    {
        switch (container)
        {
            case string s when item is string sub:
                return s.Contains(sub, StringComparison.Ordinal);
            case string:
                throw new ChatTemplateException($"'in <string>' requires string as left operand, not {TypeName(item)}");
            case List<object?> l:
                foreach (var x in l)
                    if (Equals(x, item)) return true;
                return false;
            case Dictionary<string, object?> d:
                return item is string k && d.ContainsKey(k);
            case Namespace ns:
                return item is string k2 && ns.Attributes.ContainsKey(k2);
            case Undefined:
                return false;
            default:
                throw new ChatTemplateException($"argument of type '{TypeName(container)}' is not iterable");
        }
    }

    /// <summary>The items <c>for</c> walks: a list's elements, a dict's keys, a string's characters.</summary>
    public static List<object?> Iterate(object? v)
    {
        switch (v)
        {
            case List<object?> l:
                return new List<object?>(l);
            case Dictionary<string, object?> d:
            {
                var keys = new List<object?>(d.Count);
                foreach (var k in d.Keys) keys.Add(k);
                return keys;
            }
            case string s:
            {
                var chars = new List<object?>(s.Length);
                foreach (char c in s) chars.Add(c.ToString());
                return chars;
            }
            case Undefined:
                return new List<object?>();
            default:
                throw new ChatTemplateException($"'{TypeName(v)}' object is not iterable");
        }
    }

    public static bool IsIterable(object? v) => v is string or List<object?> or Dictionary<string, object?> or Undefined;

    /// <summary>Converts a .NET value (including System.Text.Json elements) into a template value.</summary>
    public static object? FromDotNet(object? v, int depth = 0)
    {
        if (depth > 64) throw new ChatTemplateException("input value nested too deeply");
        switch (v)
        {
            case null: return null;
            case string or bool or long or double: return v;
            case int i: return (long)i;
            case short s: return (long)s;
            case byte b: return (long)b;
            case uint ui: return (long)ui;
            case float f: return (double)f;
            case decimal m: return (double)m;
            case char c: return c.ToString();
            case DateTime dt: return dt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            case JsonElement e: return FromJson(e, depth);
            case JsonDocument doc: return FromJson(doc.RootElement, depth);
            case ChatMessage m: return FromMessage(m);
            case IReadOnlyDictionary<string, object?> rd:
            {
                var d = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var kv in rd) d[kv.Key] = FromDotNet(kv.Value, depth + 1);
                return d;
            }
            case IDictionary id:
            {
                var d = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (DictionaryEntry kv in id) d[Convert.ToString(kv.Key, CultureInfo.InvariantCulture) ?? ""] = FromDotNet(kv.Value, depth + 1);
                return d;
            }
            case IEnumerable en:
            {
                var l = new List<object?>();
                foreach (var x in en) l.Add(FromDotNet(x, depth + 1));
                return l;
            }
            default:
                throw new ChatTemplateException($"a value of .NET type {v.GetType().Name} cannot be passed to a chat template");
        }
    }

    public static object? FromJson(JsonElement e, int depth = 0)
    {
        if (depth > 64) throw new ChatTemplateException("input value nested too deeply");
        switch (e.ValueKind)
        {
            case JsonValueKind.Null:
            case JsonValueKind.Undefined:
                return null;
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            case JsonValueKind.String: return e.GetString();
            case JsonValueKind.Number:
                return e.TryGetInt64(out long l) ? l : e.GetDouble();
            case JsonValueKind.Array:
            {
                var list = new List<object?>();
                foreach (var x in e.EnumerateArray()) list.Add(FromJson(x, depth + 1));
                return list;
            }
            default:
            {
                var d = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var p in e.EnumerateObject()) d[p.Name] = FromJson(p.Value, depth + 1);
                return d;
            }
        }
    }

    public static Dictionary<string, object?> FromMessage(ChatMessage m)
    {
        var d = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["role"] = m.Role,
            ["content"] = m.Content,
        };
        if (m.ToolCalls is not null) d["tool_calls"] = FromDotNet(m.ToolCalls);
        if (m.Extra is not null)
            foreach (var kv in m.Extra) d[kv.Key] = FromDotNet(kv.Value);
        return d;
    }

    /// <summary>
    /// Python's <c>json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sortKeys)</c>,
    /// as transformers' <c>tojson</c> filter calls it.
    /// </summary>
    public static string ToJson(object? v, string? indent, string itemSep, string keySep, bool sortKeys)
    {
        var sb = new StringBuilder();
        WriteJson(sb, v, indent, itemSep, keySep, sortKeys, 0);
        return sb.ToString();
    }

    private static void WriteJson(StringBuilder sb, object? v, string? indent, string itemSep, string keySep, bool sortKeys, int level)
    {
        if (level > 64) throw new ChatTemplateException("tojson: value nested too deeply");
        switch (v)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d:
                sb.Append(double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : FloatRepr(d));
                break;
            case string s: WriteJsonString(sb, s); break;
            case List<object?> list:
                if (list.Count == 0) { sb.Append("[]"); break; }
                sb.Append('[');
                for (int i = 0; i < list.Count; i++)
                {
                    if (i > 0) sb.Append(itemSep);
                    NewLine(sb, indent, level + 1);
                    WriteJson(sb, list[i], indent, itemSep, keySep, sortKeys, level + 1);
                }
                NewLine(sb, indent, level);
                sb.Append(']');
                break;
            case Dictionary<string, object?> dict:
            {
                if (dict.Count == 0) { sb.Append("{}"); break; }
                sb.Append('{');
                var keys = new List<string>(dict.Keys);
                if (sortKeys) keys.Sort(string.CompareOrdinal);
                for (int i = 0; i < keys.Count; i++)
                {
                    if (i > 0) sb.Append(itemSep);
                    NewLine(sb, indent, level + 1);
                    WriteJsonString(sb, keys[i]);
                    sb.Append(keySep);
                    WriteJson(sb, dict[keys[i]], indent, itemSep, keySep, sortKeys, level + 1);
                }
                NewLine(sb, indent, level);
                sb.Append('}');
                break;
            }
            default:
                throw new ChatTemplateException($"tojson: Object of type {TypeName(v)} is not JSON serializable");
        }
    }

    private static void NewLine(StringBuilder sb, string? indent, int level)
    {
        if (indent is null) return;
        sb.Append('\n');
        for (int i = 0; i < level; i++) sb.Append(indent);
    }

    private static void WriteJsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }

    /// <summary>Python's <c>str.strip</c> family: whitespace by default, else any of <paramref name="chars"/>.</summary>
    public static string Strip(string s, string? chars, bool left, bool right)
    {
        int start = 0, end = s.Length;
        bool Strippable(char c) => chars is null ? char.IsWhiteSpace(c) : chars.IndexOf(c) >= 0;
        if (left) while (start < end && Strippable(s[start])) start++;
        if (right) while (end > start && Strippable(s[end - 1])) end--;
        return s.Substring(start, end - start);
    }

    /// <summary>Python's slice index arithmetic (PySlice_AdjustIndices).</summary>
    public static List<int> SliceIndices(int length, long? start, long? stop, long? step)
    {
        long st = step ?? 1;
        if (st == 0) throw new ChatTemplateException("slice step cannot be zero");
        long lo, hi;
        if (st > 0)
        {
            lo = start is null ? 0 : Adjust(start.Value, length, 0, length);
            hi = stop is null ? length : Adjust(stop.Value, length, 0, length);
        }
        else
        {
            lo = start is null ? length - 1 : Adjust(start.Value, length, -1, length - 1);
            hi = stop is null ? -1 : Adjust(stop.Value, length, -1, length - 1);
        }
        var idx = new List<int>();
        if (st > 0) for (long i = lo; i < hi; i += st) idx.Add((int)i);
        else for (long i = lo; i > hi; i += st) idx.Add((int)i);
        return idx;
    }

    private static long Adjust(long i, int length, long min, long max)
    {
        if (i < 0) i += length;
        return Math.Clamp(i, min, max);
    }
}
