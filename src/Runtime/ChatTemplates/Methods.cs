using System;
using System.Collections.Generic;
using System.Text;

namespace MambaGen.ChatTemplates;

/// <summary>The str, list and dict methods templates may call; list/dict mutators are refused as in transformers' immutable sandbox.</summary>
internal static class Methods
{
    private static object? A(List<object?> a, Dictionary<string, object?> kw, int i, string name, object? fallback) =>
        i < a.Count ? a[i] : kw.TryGetValue(name, out var v) ? v : fallback;

    private static PyFunc Refused(string type, string name) => new($"{type}.{name}", (_, _) =>
        throw new ChatTemplateException($"unsupported construct: {type}.{name}() modifies a value, which transformers' immutable sandbox refuses; use namespace() or a new value with '+'"));

    public static PyFunc? StringMethod(string s, string name) => name switch
    {
        "strip" => new PyFunc("str.strip", (a, kw) => Py.Strip(s, A(a, kw, 0, "chars", null) as string, true, true)),
        "lstrip" => new PyFunc("str.lstrip", (a, kw) => Py.Strip(s, A(a, kw, 0, "chars", null) as string, true, false)),
        "rstrip" => new PyFunc("str.rstrip", (a, kw) => Py.Strip(s, A(a, kw, 0, "chars", null) as string, false, true)),
        "upper" => new PyFunc("str.upper", (_, _) => s.ToUpperInvariant()),
        "lower" => new PyFunc("str.lower", (_, _) => s.ToLowerInvariant()),
        "title" => new PyFunc("str.title", (_, _) => Title(s)),
        "capitalize" => new PyFunc("str.capitalize", (_, _) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s.Substring(1).ToLowerInvariant()),
        "split" => new PyFunc("str.split", (a, kw) => Split(s, A(a, kw, 0, "sep", null), A(a, kw, 1, "maxsplit", -1L))),
        "splitlines" => new PyFunc("str.splitlines", (_, _) =>
        {
            var r = new List<object?>();
            var parts = s.Split('\n');
            for (int i = 0; i < parts.Length; i++)
                if (i < parts.Length - 1 || parts[i].Length > 0) r.Add(parts[i].TrimEnd('\r'));
            return r;
        }),
        "startswith" => new PyFunc("str.startswith", (a, kw) => AnyOf(A(a, kw, 0, "prefix", null), p => s.StartsWith(p, StringComparison.Ordinal))),
        "endswith" => new PyFunc("str.endswith", (a, kw) => AnyOf(A(a, kw, 0, "suffix", null), p => s.EndsWith(p, StringComparison.Ordinal))),
        "replace" => new PyFunc("str.replace", (a, kw) => Replace(s, Need<string>(A(a, kw, 0, "old", null), "replace"), Need<string>(A(a, kw, 1, "new", null), "replace"), A(a, kw, 2, "count", -1L) is long c ? c : -1)),
        "find" => new PyFunc("str.find", (a, kw) => (long)s.IndexOf(Need<string>(A(a, kw, 0, "sub", null), "find"), StringComparison.Ordinal)),
        "rfind" => new PyFunc("str.rfind", (a, kw) => (long)s.LastIndexOf(Need<string>(A(a, kw, 0, "sub", null), "rfind"), StringComparison.Ordinal)),
        "count" => new PyFunc("str.count", (a, kw) =>
        {
            var sub = Need<string>(A(a, kw, 0, "sub", null), "count");
            if (sub.Length == 0) return (long)s.Length + 1;
            long n = 0;
            for (int i = s.IndexOf(sub, StringComparison.Ordinal); i >= 0; i = s.IndexOf(sub, i + sub.Length, StringComparison.Ordinal)) n++;
            return n;
        }),
        "join" => new PyFunc("str.join", (a, kw) =>
        {
            var items = A(a, kw, 0, "iterable", null);
            var sb = new StringBuilder();
            bool first = true;
            foreach (var x in Py.Iterate(items))
            {
                if (!first) sb.Append(s);
                first = false;
                sb.Append(x is string xs ? xs : throw new ChatTemplateException($"str.join: expected str instance, {Py.TypeName(x)} found"));
            }
            return sb.ToString();
        }),
        "isdigit" => new PyFunc("str.isdigit", (_, _) => s.Length > 0 && IsAll(s, char.IsDigit)),
        "isalpha" => new PyFunc("str.isalpha", (_, _) => s.Length > 0 && IsAll(s, char.IsLetter)),
        "isspace" => new PyFunc("str.isspace", (_, _) => s.Length > 0 && IsAll(s, char.IsWhiteSpace)),
        "islower" => new PyFunc("str.islower", (_, _) => s.ToLowerInvariant() == s && s.ToUpperInvariant() != s),
        "isupper" => new PyFunc("str.isupper", (_, _) => s.ToUpperInvariant() == s && s.ToLowerInvariant() != s),
        "format" => new PyFunc("str.format", (_, _) => throw new ChatTemplateException("unsupported construct: str.format()")),
        _ => null,
    };

    public static PyFunc? ListMethod(List<object?> l, string name) => name switch
    {
        "index" => new PyFunc("list.index", (a, kw) =>
        {
            var x = A(a, kw, 0, "value", null);
            for (int i = 0; i < l.Count; i++)
                if (Py.Equals(l[i], x)) return (long)i;
            throw new ChatTemplateException($"{Py.Repr(x)} is not in list");
        }),
        "count" => new PyFunc("list.count", (a, kw) =>
        {
            var x = A(a, kw, 0, "value", null);
            long n = 0;
            foreach (var y in l)
                if (Py.Equals(y, x)) n++;
            return n;
        }),
        "copy" => new PyFunc("list.copy", (_, _) => new List<object?>(l)),
        "append" or "extend" or "insert" or "pop" or "remove" or "clear" or "sort" or "reverse" => Refused("list", name),
        _ => null,
    };

    public static PyFunc? DictMethod(Dictionary<string, object?> d, string name) => name switch
    {
        "items" => new PyFunc("dict.items", (_, _) => Items(d)),
        "keys" => new PyFunc("dict.keys", (_, _) => new List<object?>(d.Keys)),
        "values" => new PyFunc("dict.values", (_, _) => new List<object?>(d.Values)),
        "get" => new PyFunc("dict.get", (a, kw) => A(a, kw, 0, "key", null) is string k && d.TryGetValue(k, out var v) ? v : A(a, kw, 1, "default", null)),
        "copy" => new PyFunc("dict.copy", (_, _) => new Dictionary<string, object?>(d, StringComparer.Ordinal)),
        "update" or "pop" or "popitem" or "setdefault" or "clear" => Refused("dict", name),
        _ => null,
    };

    public static List<object?> Items(Dictionary<string, object?> d)
    {
        var r = new List<object?>(d.Count);
        foreach (var kv in d) r.Add(new List<object?> { kv.Key, kv.Value });
        return r;
    }

    private static T Need<T>(object? v, string method) =>
        v is T t ? t : throw new ChatTemplateException($"str.{method}: unexpected argument of type {Py.TypeName(v)}");

    private static bool IsAll(string s, Func<char, bool> f)
    {
        foreach (char c in s)
            if (!f(c)) return false;
        return true;
    }

    private static bool AnyOf(object? arg, Func<string, bool> test)
    {
        if (arg is string s) return test(s);
        if (arg is List<object?> l)
        {
            foreach (var x in l)
                if (x is string xs && test(xs)) return true;
            return false;
        }
        throw new ChatTemplateException($"startswith/endswith: expected a str or a tuple of str, got {Py.TypeName(arg)}");
    }

    public static string Replace(string s, string old, string @new, long count)
    {
        if (count < 0) return old.Length == 0 ? InsertEverywhere(s, @new) : s.Replace(old, @new, StringComparison.Ordinal);
        var sb = new StringBuilder();
        int pos = 0;
        long done = 0;
        while (done < count)
        {
            int i = s.IndexOf(old, pos, StringComparison.Ordinal);
            if (i < 0 || old.Length == 0) break;
            sb.Append(s, pos, i - pos).Append(@new);
            pos = i + old.Length;
            done++;
        }
        sb.Append(s, pos, s.Length - pos);
        return sb.ToString();
    }

    private static string InsertEverywhere(string s, string x)
    {
        var sb = new StringBuilder(x);
        foreach (char c in s) sb.Append(c).Append(x);
        return sb.ToString();
    }

    public static string Title(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool prevLetter = false;
        foreach (char c in s)
        {
            sb.Append(prevLetter ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            prevLetter = char.IsLetter(c);
        }
        return sb.ToString();
    }

    /// <summary>Python's <c>str.split(sep=None, maxsplit=-1)</c>.</summary>
    public static List<object?> Split(string s, object? sep, object? maxsplit)
    {
        long max = maxsplit is long m ? m : -1;
        var r = new List<object?>();
        if (sep is null)
        {
            int i = 0;
            while (true)
            {
                while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
                if (i >= s.Length) break;
                if (max >= 0 && r.Count >= max)
                {
                    r.Add(s.Substring(i));
                    break;
                }
                int j = i;
                while (j < s.Length && !char.IsWhiteSpace(s[j])) j++;
                r.Add(s.Substring(i, j - i));
                i = j;
            }
            return r;
        }
        if (sep is not string sp) throw new ChatTemplateException($"str.split: separator must be str or None, not {Py.TypeName(sep)}");
        if (sp.Length == 0) throw new ChatTemplateException("str.split: empty separator");
        int pos = 0;
        while (max < 0 || r.Count < max)
        {
            int k = s.IndexOf(sp, pos, StringComparison.Ordinal);
            if (k < 0) break;
            r.Add(s.Substring(pos, k - pos));
            pos = k + sp.Length;
        }
        r.Add(s.Substring(pos));
        return r;
    }
}
