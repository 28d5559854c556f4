using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace MambaGen.ChatTemplates;

internal sealed partial class Interpreter
{
    private static object? Arg(List<object?> args, Dictionary<string, object?> kwargs, int index, string name, object? fallback)
    {
        if (index < args.Count) return args[index];
        return kwargs.TryGetValue(name, out var v) ? v : fallback;
    }

    private object? ApplyFilter(string name, object? value, List<object?> args, Dictionary<string, object?> kw, int pos)
    {
        Step(pos);
        switch (name)
        {
            case "safe":
                return value;
            case "string":
                return value is Undefined ? "" : Py.Str(value);
            case "trim":
            {
                var chars = Arg(args, kw, 0, "chars", null);
                return Py.Strip(RequireString(value, name, pos), chars as string, true, true);
            }
            case "upper": return RequireString(value, name, pos).ToUpperInvariant();
            case "lower": return RequireString(value, name, pos).ToLowerInvariant();
            case "capitalize":
            {
                var s = RequireString(value, name, pos);
                return s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s.Substring(1).ToLowerInvariant();
            }
            case "title": return Methods.Title(RequireString(value, name, pos));
            case "replace":
            {
                var s = RequireString(value, name, pos);
                var count = Arg(args, kw, 2, "count", null);
                return Methods.Replace(s, Py.Str(Arg(args, kw, 0, "old", "")), Py.Str(Arg(args, kw, 1, "new", "")), count is long c ? c : -1);
            }
            case "length":
            case "count":
                return value switch
                {
                    Undefined => 0L,
                    string s => (long)s.Length,
                    List<object?> l => (long)l.Count,
                    Dictionary<string, object?> d => (long)d.Count,
                    _ => throw Error($"object of type '{Py.TypeName(value)}' has no len()", pos),
                };
            case "default":
            case "d":
            {
                var fallback = Arg(args, kw, 0, "default_value", "");
                bool boolean = Py.Truthy(Arg(args, kw, 1, "boolean", false));
                return value is Undefined || (boolean && !Py.Truthy(value)) ? fallback : value;
            }
            case "first":
            {
                var items = Iterable(value, name, pos);
                return items.Count > 0 ? items[0] : new Undefined("first: the sequence is empty");
            }
            case "last":
            {
                var items = Iterable(value, name, pos);
                return items.Count > 0 ? items[^1] : new Undefined("last: the sequence is empty");
            }
            case "list":
                return Iterable(value, name, pos);
            case "reverse":
                if (value is string rs)
                {
                    var arr = rs.ToCharArray();
                    Array.Reverse(arr);
                    return new string(arr);
                }
                else
                {
                    var items = Iterable(value, name, pos);
                    items.Reverse();
                    return items;
                }
            case "join":
            {
                var sep = Py.Str(Arg(args, kw, 0, "d", ""));
                var attr = Arg(args, kw, 1, "attribute", null);
                var sb = new StringBuilder();
                bool first = true;
                foreach (var item in Iterable(value, name, pos))
                {
                    if (!first) sb.Append(sep);
                    first = false;
                    sb.Append(Py.Str(attr is null ? item : Attribute(item, attr, pos)));
                    CheckSize(sb.Length, pos);
                }
                return sb.ToString();
            }
            case "tojson":
            {
                var indent = Arg(args, kw, 0, "indent", null);
                string? ind = indent switch
                {
                    null => null,
                    long n => new string(' ', (int)Math.Clamp(n, 0, 64)),
                    string s => s,
                    _ => throw Error("tojson: indent must be an int or a string", pos),
                };
                string itemSep = ind is null ? ", " : ",", keySep = ": ";
                if (kw.TryGetValue("separators", out var seps) && seps is not null)
                {
                    if (seps is not List<object?> { Count: 2 } sl || sl[0] is not string a || sl[1] is not string b)
                        throw Error("tojson: separators must be a pair of strings", pos);
                    itemSep = a;
                    keySep = b;
                }
                foreach (var k in kw.Keys)
                    if (k is not ("indent" or "separators" or "sort_keys" or "ensure_ascii"))
                        throw Error($"tojson: unexpected keyword argument '{k}'", pos);
                if (kw.TryGetValue("ensure_ascii", out var ea) && Py.Truthy(ea))
                    throw Error("unsupported construct: tojson(ensure_ascii=True)", pos);
                bool sort = kw.TryGetValue("sort_keys", out var sk) && Py.Truthy(sk);
                try
                {
                    var json = Py.ToJson(value, ind, itemSep, keySep, sort);
                    CheckSize(json.Length, pos);
                    return json;
                }
                catch (ChatTemplateException ex) when (ex.Line == 0)
                {
                    throw Error(ex.Reason, pos);
                }
            }
            case "int":
            {
                var fallback = Arg(args, kw, 0, "default", 0L);
                return value switch
                {
                    long or bool => Py.ToLong(value),
                    double d => (long)Math.Truncate(d),
                    string s when long.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l) => l,
                    string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d2) => (long)Math.Truncate(d2),
                    _ => fallback,
                };
            }
            case "float":
            {
                var fallback = Arg(args, kw, 0, "default", 0.0);
                return value switch
                {
                    long or bool or double => Py.ToDouble(value),
                    string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
                    _ => fallback,
                };
            }
            case "abs":
                return value switch
                {
                    long l => (object)Math.Abs(l),
                    double d => Math.Abs(d),
                    bool b => b ? 1L : 0L,
                    _ => throw Error($"bad operand type for abs(): '{Py.TypeName(value)}'", pos),
                };
            case "items":
                if (value is Undefined) return new List<object?>();
                if (value is not Dictionary<string, object?> dict) throw Error($"items: expected a mapping, got {Py.TypeName(value)}", pos);
                return Methods.Items(dict);
            case "dictsort":
            {
                if (value is not Dictionary<string, object?> sd) throw Error($"dictsort: expected a mapping, got {Py.TypeName(value)}", pos);
                var items = Methods.Items(sd);
                items.Sort((x, y) => string.Compare(Py.Str(((List<object?>)x!)[0]), Py.Str(((List<object?>)y!)[0]), StringComparison.OrdinalIgnoreCase));
                return items;
            }
            case "unique":
            {
                var r = new List<object?>();
                foreach (var item in Iterable(value, name, pos))
                {
                    bool seen = false;
                    foreach (var x in r)
                        if (Py.Equals(x, item)) { seen = true; break; }
                    if (!seen) r.Add(item);
                }
                return r;
            }
            case "sort":
            {
                bool reverse = Py.Truthy(Arg(args, kw, 0, "reverse", false));
                var attr = Arg(args, kw, 2, "attribute", null);
                var items = Iterable(value, name, pos);
                var keyed = new List<(object? Key, object? Item)>();
                foreach (var it in items) keyed.Add((attr is null ? it : Attribute(it, attr, pos), it));
                int Cmp((object? Key, object? Item) x, (object? Key, object? Item) y)
                {
                    object? a = x.Key is string sa ? sa.ToLowerInvariant() : x.Key, b = y.Key is string sb ? sb.ToLowerInvariant() : y.Key;
                    return Py.Compare(a, b) ?? throw Error($"sort: cannot compare '{Py.TypeName(a)}' and '{Py.TypeName(b)}'", pos);
                }
                // A stable sort, as Python's.
                var sorted = new List<(object? Key, object? Item)>(keyed);
                for (int i = 1; i < sorted.Count; i++)
                {
                    var cur = sorted[i];
                    int j = i - 1;
                    while (j >= 0 && (reverse ? Cmp(sorted[j], cur) < 0 : Cmp(sorted[j], cur) > 0))
                    {
                        sorted[j + 1] = sorted[j];
                        j--;
                    }
                    sorted[j + 1] = cur;
                }
                var result = new List<object?>();
                foreach (var (_, it) in sorted) result.Add(it);
                return result;
            }
            case "sum":
            {
                object? total = Arg(args, kw, 1, "start", 0L);
                var attr = Arg(args, kw, 0, "attribute", null);
                foreach (var it in Iterable(value, name, pos))
                    total = Arith(new BinaryExpr(pos, "+", new ConstExpr(pos, null), new ConstExpr(pos, null)), total, attr is null ? it : Attribute(it, attr, pos));
                return total;
            }
            case "min":
            case "max":
            {
                var items = Iterable(value, name, pos);
                if (items.Count == 0) return new Undefined($"{name}: the sequence is empty");
                var best = items[0];
                foreach (var it in items)
                {
                    var c = Py.Compare(it, best) ?? throw Error($"{name}: values cannot be compared", pos);
                    if (name == "min" ? c < 0 : c > 0) best = it;
                }
                return best;
            }
            case "indent":
            {
                var s = RequireString(value, name, pos);
                var w = Arg(args, kw, 0, "width", 4L);
                string pad = w is string ws ? ws : new string(' ', (int)Math.Clamp(Py.ToLong(w), 0, 256));
                bool first = Py.Truthy(Arg(args, kw, 1, "first", false));
                bool blank = Py.Truthy(Arg(args, kw, 2, "blank", false));
                var lines = s.Split('\n');
                var sb = new StringBuilder();
                for (int i = 0; i < lines.Length; i++)
                {
                    if (i > 0) sb.Append('\n');
                    bool indentThis = i == 0 ? first : blank || lines[i].Trim().Length > 0;
                    if (indentThis) sb.Append(pad);
                    sb.Append(lines[i]);
                }
                return sb.ToString();
            }
            case "e":
            case "escape":
                return Py.Str(value).Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&#34;").Replace("'", "&#39;");
            case "selectattr":
            case "rejectattr":
            {
                if (args.Count == 0) throw Error($"{name}: missing the attribute name", pos);
                var attr = args[0];
                bool keep = name == "selectattr";
                var r = new List<object?>();
                foreach (var it in Iterable(value, name, pos))
                {
                    var av = Attribute(it, attr, pos);
                    bool ok = args.Count > 1 ? ApplyTest(Py.Str(args[1]), av, args.GetRange(2, args.Count - 2), pos) : Py.Truthy(av);
                    if (ok == keep) r.Add(it);
                }
                return r;
            }
            case "select":
            case "reject":
            {
                bool keep = name == "select";
                var r = new List<object?>();
                foreach (var it in Iterable(value, name, pos))
                {
                    bool ok = args.Count > 0 ? ApplyTest(Py.Str(args[0]), it, args.GetRange(1, args.Count - 1), pos) : Py.Truthy(it);
                    if (ok == keep) r.Add(it);
                }
                return r;
            }
            case "map":
            {
                var r = new List<object?>();
                if (kw.TryGetValue("attribute", out var attr))
                {
                    bool hasDefault = kw.TryGetValue("default", out var def);
                    foreach (var it in Iterable(value, name, pos))
                    {
                        var av = Attribute(it, attr, pos);
                        r.Add(hasDefault && av is Undefined ? def : av);
                    }
                    return r;
                }
                if (args.Count == 0) throw Error("map: expected a filter name or attribute=", pos);
                var filter = Py.Str(args[0]);
                var rest = args.GetRange(1, args.Count - 1);
                foreach (var it in Iterable(value, name, pos)) r.Add(ApplyFilter(filter, it, rest, kw, pos));
                return r;
            }
            default:
                throw Error($"unsupported construct: the filter '{name}'", pos);
        }
    }

    /// <summary>Jinja's attribute lookup for filters: dotted paths, integer parts index lists.</summary>
    private object? Attribute(object? item, object? attr, int pos)
    {
        if (attr is long l) return GetItem(item, l, pos);
        object? cur = item;
        foreach (var part in Py.Str(attr).Split('.'))
        {
            if (cur is Undefined) return cur;
            cur = long.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out long idx) ? GetItem(cur, idx, pos) : GetItem(cur, part, pos);
        }
        return cur;
    }

    private string RequireString(object? value, string filter, int pos) => value switch
    {
        string s => s,
        Undefined => "",
        _ => Py.Str(value),
    };

    private List<object?> Iterable(object? value, string filter, int pos)
    {
        if (!Py.IsIterable(value)) throw Error($"{filter}: '{Py.TypeName(value)}' object is not iterable", pos);
        return Py.Iterate(value);
    }

    private bool ApplyTest(string name, object? v, List<object?> args, int pos)
    {
        object? A(int i) => i < args.Count ? args[i] : throw Error($"the test '{name}' needs an argument", pos);
        switch (name)
        {
            case "defined": return v is not Undefined;
            case "undefined": return v is Undefined;
            case "none": return v is null;
            case "boolean": return v is bool;
            case "true": return v is true;
            case "false": return v is false;
            case "integer": return v is long;
            case "float": return v is double;
            case "number": return v is long or double or bool;
            case "string": return v is string;
            case "mapping": return v is Dictionary<string, object?>;
            case "iterable": return v is string or List<object?> or Dictionary<string, object?> or Undefined;
            case "sequence": return v is string or List<object?> or Dictionary<string, object?>;
            case "callable": return v is PyFunc;
            case "equalto":
            case "eq":
            case "==":
                return Py.Equals(v, A(0));
            case "ne":
            case "!=":
                return !Py.Equals(v, A(0));
            case "sameas":
                return v is null || v is bool ? Py.Equals(v, A(0)) && (A(0) is null || A(0) is bool) : ReferenceEquals(v, A(0));
            case "lt": case "lessthan": case "<": return CompareOp("<", v, A(0), pos);
            case "le": case "<=": return CompareOp("<=", v, A(0), pos);
            case "gt": case "greaterthan": case ">": return CompareOp(">", v, A(0), pos);
            case "ge": case ">=": return CompareOp(">=", v, A(0), pos);
            case "in": return ContainsOrThrow(A(0), v, pos);
            case "divisibleby":
                return v is long x && A(0) is long y && y != 0 ? x % y == 0 : throw Error("divisibleby: expected integers", pos);
            case "even": return v is long e ? e % 2 == 0 : throw Error("even: expected an integer", pos);
            case "odd": return v is long o ? o % 2 != 0 : throw Error("odd: expected an integer", pos);
            case "lower": return v is string ls && ls == ls.ToLowerInvariant();
            case "upper": return v is string us && us == us.ToUpperInvariant();
            default:
                throw Error($"unsupported construct: the test '{name}'", pos);
        }
    }
}
