using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace MambaGen.ChatTemplates;

/// <summary>
/// Walks the parsed template over plain values (see <see cref="Py"/>). Nothing reaches .NET objects: attribute
/// access resolves only dict keys, namespace attributes, loop fields and a fixed list of str/list/dict methods;
/// list and dict mutators are refused as in transformers' ImmutableSandboxedEnvironment.
/// </summary>
internal sealed partial class Interpreter
{
    private readonly Lexer _lexer;
    private readonly ChatTemplateLimits _limits;
    private readonly Func<DateTime> _clock;
    private readonly StringBuilder _out = new();
    private readonly List<Dictionary<string, object?>> _scopes = new();
    private long _steps;
    private int _depth;
    private int _macroDepth;

    private const int MaxEvalDepth = 2000;

    private sealed class BreakSignal : Exception { }

    private sealed class ContinueSignal : Exception { }

    public Interpreter(Lexer lexer, ChatTemplateLimits limits, Func<DateTime> clock)
    {
        _lexer = lexer;
        _limits = limits;
        _clock = clock;
    }

    public string Run(List<Node> body, Dictionary<string, object?> globals)
    {
        var builtins = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["range"] = new PyFunc("range", Range),
            ["namespace"] = new PyFunc("namespace", (a, kw) =>
            {
                var ns = new Namespace();
                foreach (var x in a)
                    if (x is Dictionary<string, object?> d)
                        foreach (var kv in d) ns.Attributes[kv.Key] = kv.Value;
                foreach (var kv in kw) ns.Attributes[kv.Key] = kv.Value;
                return ns;
            }),
            ["dict"] = new PyFunc("dict", (a, kw) =>
            {
                var d = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var x in a)
                    if (x is Dictionary<string, object?> src)
                        foreach (var kv in src) d[kv.Key] = kv.Value;
                foreach (var kv in kw) d[kv.Key] = kv.Value;
                return d;
            }),
            ["raise_exception"] = new PyFunc("raise_exception", (a, _) => throw new ChatTemplateRaisedException(a.Count > 0 ? Py.Str(a[0]) : "", 0, 0)),
            ["strftime_now"] = new PyFunc("strftime_now", (a, _) => Strftime.Format(_clock(), a.Count > 0 ? Py.Str(a[0]) : "")),
        };
        _scopes.Add(builtins);
        _scopes.Add(globals);
        _scopes.Add(new Dictionary<string, object?>(StringComparer.Ordinal));
        Exec(body);
        return _out.ToString();
    }

    private ChatTemplateException Error(string message, int pos)
    {
        var (l, c) = _lexer.Position(pos);
        return new ChatTemplateException(message, l, c);
    }

    private void Step(int pos)
    {
        if (++_steps > _limits.MaxSteps)
            throw Error($"sandbox limit: more than {_limits.MaxSteps} evaluation steps (loops too long?)", pos);
    }

    private void Write(string s, int pos)
    {
        if (_out.Length + s.Length > _limits.MaxOutputChars)
            throw Error($"sandbox limit: output longer than {_limits.MaxOutputChars} characters", pos);
        _out.Append(s);
    }

    // ---- scopes ----

    private object? Lookup(string name)
    {
        for (int i = _scopes.Count - 1; i >= 0; i--)
            if (_scopes[i].TryGetValue(name, out var v)) return v;
        return new Undefined($"'{name}' is undefined");
    }

    private void Assign(string name, object? value) => _scopes[^1][name] = value;

    private void PushScope() => _scopes.Add(new Dictionary<string, object?>(StringComparer.Ordinal));

    private void PopScope() => _scopes.RemoveAt(_scopes.Count - 1);

    // ---- statements ----

    private void Exec(List<Node> body)
    {
        foreach (var node in body) ExecOne(node);
    }

    private void ExecOne(Node node)
    {
        Step(node.Pos);
        switch (node)
        {
            case TextStmt t:
                Write(t.Text, t.Pos);
                break;
            case EmitStmt e:
                Write(Py.Str(Eval(e.Expr)), e.Pos);
                break;
            case IfStmt s:
                foreach (var (cond, b) in s.Branches)
                {
                    if (Py.Truthy(Eval(cond)))
                    {
                        Exec(b);
                        return;
                    }
                }
                if (s.Else is not null) Exec(s.Else);
                break;
            case ForStmt f:
                ExecFor(f);
                break;
            case SetStmt s:
                ExecSet(s);
                break;
            case SetBlockStmt sb:
                Assign(sb.Target, Capture(sb.Body, sb.Pos));
                break;
            case MacroStmt m:
                Assign(m.Name, MakeMacro(m.Name, m.Params, m.Body, m.Pos));
                break;
            case CallBlockStmt cb:
            {
                var caller = MakeMacro("caller", cb.Params, cb.Body, cb.Pos);
                var fn = Eval(cb.Call.Fn);
                var (args, kwargs) = EvalArgs(cb.Call.Args, cb.Call.Kwargs);
                kwargs["caller"] = caller;
                Write(Py.Str(Invoke(fn, args, kwargs, cb.Pos)), cb.Pos);
                break;
            }
            case FilterBlockStmt fb:
            {
                object? v = Capture(fb.Body, fb.Pos);
                Write(Py.Str(ApplyFilterChain(fb.Filter, v)), fb.Pos);
                break;
            }
            case GenerationStmt g:
                Exec(g.Body);
                break;
            case BreakStmt:
                throw new BreakSignal();
            case ContinueStmt:
                throw new ContinueSignal();
            default:
                throw Error($"unsupported construct: {node.GetType().Name}", node.Pos);
        }
    }

    private object? ApplyFilterChain(FilterExpr f, object? value)
    {
        object? target = f.Target is null ? value : f.Target is FilterExpr inner ? ApplyFilterChain(inner, value) : Eval(f.Target);
        var (args, kwargs) = EvalArgs(f.Args, f.Kwargs);
        return ApplyFilter(f.Name, target, args, kwargs, f.Pos);
    }

    private string Capture(List<Node> body, int pos)
    {
        int mark = _out.Length;
        Exec(body);
        string s = _out.ToString(mark, _out.Length - mark);
        _out.Length = mark;
        return s;
    }

    private void ExecFor(ForStmt f)
    {
        var source = Eval(f.Iter);
        if (source is not (List<object?> or Dictionary<string, object?> or string or Undefined))
            throw Error($"'{Py.TypeName(source)}' object is not iterable", f.Iter.Pos);
        var items = Py.Iterate(source);
        if (f.Filter is not null)
        {
            var kept = new List<object?>();
            PushScope();
            try
            {
                foreach (var item in items)
                {
                    Step(f.Pos);
                    Bind(f.Targets, item, f.Pos);
                    if (Py.Truthy(Eval(f.Filter))) kept.Add(item);
                }
            }
            finally
            {
                PopScope();
            }
            items = kept;
        }
        if (items.Count == 0)
        {
            if (f.Else is not null) Exec(f.Else);
            return;
        }
        int n = items.Count;
        for (int i = 0; i < n; i++)
        {
            Step(f.Pos);
            PushScope();
            try
            {
                var loop = new Dictionary<string, object?>(StringComparer.Ordinal)
                {
                    ["index"] = (long)(i + 1),
                    ["index0"] = (long)i,
                    ["revindex"] = (long)(n - i),
                    ["revindex0"] = (long)(n - i - 1),
                    ["first"] = i == 0,
                    ["last"] = i == n - 1,
                    ["length"] = (long)n,
                    ["depth"] = 1L,
                    ["depth0"] = 0L,
                    ["previtem"] = i > 0 ? items[i - 1] : new Undefined("there is no previous item"),
                    ["nextitem"] = i < n - 1 ? items[i + 1] : new Undefined("there is no next item"),
                };
                int idx = i;
                loop["cycle"] = new PyFunc("loop.cycle", (a, _) => a.Count == 0 ? throw Error("loop.cycle() needs at least one argument", f.Pos) : a[idx % a.Count]);
                Assign("loop", loop);
                Bind(f.Targets, items[i], f.Pos);
                Exec(f.Body);
            }
            catch (ContinueSignal)
            {
            }
            catch (BreakSignal)
            {
                break;
            }
            finally
            {
                PopScope();
            }
        }
    }

    private void Bind(List<string> targets, object? item, int pos)
    {
        if (targets.Count == 1)
        {
            Assign(targets[0], item);
            return;
        }
        if (item is not List<object?> parts)
        {
            if (item is string s && s.Length == targets.Count) parts = Py.Iterate(s);
            else throw Error($"cannot unpack a {Py.TypeName(item)} into {targets.Count} names", pos);
        }
        if (parts.Count != targets.Count)
            throw Error($"cannot unpack {parts.Count} values into {targets.Count} names", pos);
        for (int i = 0; i < targets.Count; i++) Assign(targets[i], parts[i]);
    }

    private void ExecSet(SetStmt s)
    {
        var value = Eval(s.Value);
        if (s.Attr is not null)
        {
            var target = Lookup(s.Targets[0]);
            if (target is not Namespace ns)
                throw Error($"cannot assign attribute '{s.Attr}' on a {Py.TypeName(target)}: only namespace() objects take attribute assignment", s.Pos);
            ns.Attributes[s.Attr] = value;
            return;
        }
        Bind(s.Targets, value, s.Pos);
    }

    private PyFunc MakeMacro(string name, List<(string Name, Node? Default)> ps, List<Node> body, int pos)
    {
        // Macros see the scopes of the template at the time they are called (templates define them at top level).
        return new PyFunc(name, (args, kwargs) =>
        {
            if (++_macroDepth > _limits.MaxCallDepth)
            {
                _macroDepth--;
                throw Error($"sandbox limit: macro calls nested deeper than {_limits.MaxCallDepth}", pos);
            }
            var saved = _scopes.Count;
            PushScope();
            try
            {
                for (int i = 0; i < ps.Count; i++)
                {
                    object? v;
                    if (i < args.Count) v = args[i];
                    else if (kwargs.TryGetValue(ps[i].Name, out var kv)) v = kv;
                    else if (ps[i].Default is not null) v = Eval(ps[i].Default!);
                    else v = new Undefined($"parameter '{ps[i].Name}' of '{name}' was not given");
                    Assign(ps[i].Name, v);
                }
                if (args.Count > ps.Count) throw Error($"macro '{name}' takes {ps.Count} arguments, got {args.Count}", pos);
                if (kwargs.TryGetValue("caller", out var caller)) Assign("caller", caller);
                return Capture(body, pos);
            }
            finally
            {
                while (_scopes.Count > saved) PopScope();
                _macroDepth--;
            }
        });
    }

    // ---- expressions ----

    private object? Eval(Node node)
    {
        if (++_depth > MaxEvalDepth)
        {
            _depth--;
            throw Error("sandbox limit: expression evaluation nested too deeply", node.Pos);
        }
        try
        {
            return EvalCore(node);
        }
        finally
        {
            _depth--;
        }
    }

    private object? EvalCore(Node node)
    {
        switch (node)
        {
            case ConstExpr c:
                return c.Value;
            case NameExpr n:
                return Lookup(n.Name);
            case GetAttrExpr ga:
                return GetAttr(Eval(ga.Target), ga.Attr, ga.Pos);
            case GetItemExpr gi:
                return GetItem(Eval(gi.Target), Eval(gi.Index), gi.Pos);
            case SliceExpr sl:
                return Slice(sl);
            case CallExpr call:
            {
                var fn = Eval(call.Fn);
                var (args, kwargs) = EvalArgs(call.Args, call.Kwargs);
                return Invoke(fn, args, kwargs, call.Pos);
            }
            case FilterExpr f:
            {
                var target = f.Target is null ? null : Eval(f.Target);
                var (args, kwargs) = EvalArgs(f.Args, f.Kwargs);
                return ApplyFilter(f.Name, target, args, kwargs, f.Pos);
            }
            case TestExpr t:
            {
                var target = Eval(t.Target);
                var args = new List<object?>();
                foreach (var a in t.Args) args.Add(Eval(a));
                bool r = ApplyTest(t.Name, target, args, t.Pos);
                return t.Negated ? !r : r;
            }
            case UnaryExpr u:
            {
                var v = Eval(u.Operand);
                switch (u.Op)
                {
                    case "not": return !Py.Truthy(v);
                    case "-":
                        return v switch
                        {
                            long l => (object)(-l),
                            double d => -d,
                            bool b => b ? -1L : 0L,
                            _ => throw Error($"bad operand type for unary -: '{Py.TypeName(v)}'", u.Pos),
                        };
                    default:
                        return Py.IsNumber(v) ? v is bool b2 ? (b2 ? 1L : 0L) : v : throw Error($"bad operand type for unary +: '{Py.TypeName(v)}'", u.Pos);
                }
            }
            case BinaryExpr b:
                return EvalBinary(b);
            case CompareExpr c:
            {
                var left = Eval(c.First);
                foreach (var (op, operand) in c.Rest)
                {
                    var right = Eval(operand);
                    if (!CompareOp(op, left, right, c.Pos)) return false;
                    left = right;
                }
                return true;
            }
            case CondExpr ce:
                if (Py.Truthy(Eval(ce.Test))) return Eval(ce.Then);
                return ce.Else is null ? new Undefined("the conditional expression had no else branch") : Eval(ce.Else);
            case ListExpr le:
            {
                var l = new List<object?>(le.Items.Count);
                foreach (var item in le.Items) l.Add(Eval(item));
                return l;
            }
            case DictExpr de:
            {
                var d = new Dictionary<string, object?>(StringComparer.Ordinal);
                foreach (var (k, v) in de.Items)
                {
                    var key = Eval(k);
                    if (key is not string ks) throw Error($"unsupported construct: dict keys must be strings, got {Py.TypeName(key)}", k.Pos);
                    d[ks] = Eval(v);
                }
                return d;
            }
            default:
                throw Error($"unsupported construct: {node.GetType().Name}", node.Pos);
        }
    }

    private (List<object?>, Dictionary<string, object?>) EvalArgs(List<Node> args, List<(string Name, Node Value)> kwargs)
    {
        var a = new List<object?>(args.Count);
        foreach (var x in args) a.Add(Eval(x));
        var kw = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in kwargs) kw[name] = Eval(value);
        return (a, kw);
    }

    private object? Invoke(object? fn, List<object?> args, Dictionary<string, object?> kwargs, int pos)
    {
        Step(pos);
        if (fn is PyFunc f)
        {
            try
            {
                return f.Invoke(args, kwargs);
            }
            catch (ChatTemplateRaisedException ex) when (ex.Line == 0)
            {
                var (l, c) = _lexer.Position(pos);
                throw new ChatTemplateRaisedException(ex.Reason, l, c);
            }
            catch (ChatTemplateException ex) when (ex.Line == 0)
            {
                throw Error(ex.Reason, pos);
            }
        }
        if (fn is Undefined u) throw Error($"{u.Hint}: it cannot be called", pos);
        throw Error($"'{Py.TypeName(fn)}' object is not callable", pos);
    }

    private object? Range(List<object?> a, Dictionary<string, object?> kw)
    {
        long start = 0, stop, step = 1;
        if (a.Count == 1) stop = AsInt(a[0], "range");
        else if (a.Count is 2 or 3)
        {
            start = AsInt(a[0], "range");
            stop = AsInt(a[1], "range");
            if (a.Count == 3) step = AsInt(a[2], "range");
        }
        else throw new ChatTemplateException($"range expected 1 to 3 arguments, got {a.Count}");
        if (step == 0) throw new ChatTemplateException("range() arg 3 must not be zero");
        var l = new List<object?>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step)
        {
            if (l.Count >= _limits.MaxRange) throw new ChatTemplateException($"sandbox limit: range() longer than {_limits.MaxRange} items");
            l.Add(i);
        }
        return l;
    }

    private static long AsInt(object? v, string what) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw new ChatTemplateException($"{what}: expected an integer, got {Py.TypeName(v)}"),
    };

    private object? Slice(SliceExpr sl)
    {
        var target = Eval(sl.Target);
        long? Idx(Node? n)
        {
            if (n is null) return null;
            var v = Eval(n);
            if (v is null) return null;
            return v is long or bool ? Py.ToLong(v) : throw Error($"slice indices must be integers or None, not {Py.TypeName(v)}", n.Pos);
        }
        long? start = Idx(sl.Start), stop = Idx(sl.Stop), step = Idx(sl.Step);
        switch (target)
        {
            case List<object?> l:
            {
                var r = new List<object?>();
                foreach (int i in Py.SliceIndices(l.Count, start, stop, step)) r.Add(l[i]);
                return r;
            }
            case string s:
            {
                var sb = new StringBuilder();
                foreach (int i in Py.SliceIndices(s.Length, start, stop, step)) sb.Append(s[i]);
                return sb.ToString();
            }
            case Undefined u:
                throw Error($"{u.Hint}: it cannot be sliced", sl.Pos);
            default:
                throw Error($"'{Py.TypeName(target)}' object is not subscriptable", sl.Pos);
        }
    }

    private object? EvalBinary(BinaryExpr b)
    {
        if (b.Op == "and")
        {
            var l = Eval(b.Left);
            return Py.Truthy(l) ? Eval(b.Right) : l;
        }
        if (b.Op == "or")
        {
            var l = Eval(b.Left);
            return Py.Truthy(l) ? l : Eval(b.Right);
        }
        var left = Eval(b.Left);
        var right = Eval(b.Right);
        if (b.Op == "~")
        {
            var s = Py.Str(left) + Py.Str(right);
            CheckSize(s.Length, b.Pos);
            return s;
        }
        if (left is Undefined ul) throw Error($"{ul.Hint}: it cannot be used with '{b.Op}'", b.Pos);
        if (right is Undefined ur) throw Error($"{ur.Hint}: it cannot be used with '{b.Op}'", b.Pos);
        switch (b.Op)
        {
            case "+":
                if (left is string s1 && right is string s2)
                {
                    CheckSize(s1.Length + s2.Length, b.Pos);
                    return s1 + s2;
                }
                if (left is List<object?> l1 && right is List<object?> l2)
                {
                    CheckSize(l1.Count + l2.Count, b.Pos);
                    var r = new List<object?>(l1);
                    r.AddRange(l2);
                    return r;
                }
                return Arith(b, left, right);
            case "*":
                if (left is string rs && right is long or bool) return Repeat(rs, Py.ToLong(right), b.Pos);
                if (right is string rs2 && left is long or bool) return Repeat(rs2, Py.ToLong(left), b.Pos);
                if (left is List<object?> rl && right is long n)
                {
                    CheckSize(rl.Count * Math.Max(0, n), b.Pos);
                    var r = new List<object?>();
                    for (long i = 0; i < n; i++) r.AddRange(rl);
                    return r;
                }
                return Arith(b, left, right);
            case "%" when left is string:
                throw Error("unsupported construct: '%' string formatting", b.Pos);
            default:
                return Arith(b, left, right);
        }
    }

    private void CheckSize(long n, int pos)
    {
        if (n > _limits.MaxOutputChars) throw Error($"sandbox limit: a value longer than {_limits.MaxOutputChars} items", pos);
    }

    private string Repeat(string s, long n, int pos)
    {
        if (n <= 0) return "";
        CheckSize(s.Length * n, pos);
        var sb = new StringBuilder();
        for (long i = 0; i < n; i++) sb.Append(s);
        return sb.ToString();
    }

    private object? Arith(BinaryExpr b, object? left, object? right)
    {
        if (!Py.IsNumber(left) || !Py.IsNumber(right))
            throw Error($"unsupported operand types for {b.Op}: '{Py.TypeName(left)}' and '{Py.TypeName(right)}'", b.Pos);
        bool isFloat = left is double || right is double;
        if (b.Op == "/")
        {
            double den = Py.ToDouble(right);
            if (den == 0) throw Error("division by zero", b.Pos);
            return Py.ToDouble(left) / den;
        }
        if (b.Op == "**")
        {
            if (!isFloat && Py.ToLong(right) >= 0)
            {
                long e = Py.ToLong(right), bs = Py.ToLong(left), r = 1;
                if (e > 64 && Math.Abs(bs) > 1) throw Error("sandbox limit: integer power too large", b.Pos);
                for (long i = 0; i < e; i++) r = checked(r * bs);
                return r;
            }
            return Math.Pow(Py.ToDouble(left), Py.ToDouble(right));
        }
        if (isFloat)
        {
            double x = Py.ToDouble(left), y = Py.ToDouble(right);
            switch (b.Op)
            {
                case "+": return x + y;
                case "-": return x - y;
                case "*": return x * y;
                case "//":
                    if (y == 0) throw Error("float floor division by zero", b.Pos);
                    return Math.Floor(x / y);
                case "%":
                    if (y == 0) throw Error("float modulo by zero", b.Pos);
                    var m = x % y;
                    return m != 0 && (m < 0) != (y < 0) ? m + y : m;
            }
        }
        else
        {
            long x = Py.ToLong(left), y = Py.ToLong(right);
            try
            {
                switch (b.Op)
                {
                    case "+": return checked(x + y);
                    case "-": return checked(x - y);
                    case "*": return checked(x * y);
                    case "//":
                        if (y == 0) throw Error("integer division or modulo by zero", b.Pos);
                        return FloorDiv(x, y);
                    case "%":
                        if (y == 0) throw Error("integer division or modulo by zero", b.Pos);
                        var m = x % y;
                        return m != 0 && (m < 0) != (y < 0) ? m + y : m;
                }
            }
            catch (OverflowException)
            {
                throw Error("integer overflow", b.Pos);
            }
        }
        throw Error($"unsupported operator '{b.Op}'", b.Pos);
    }

    private static long FloorDiv(long x, long y)
    {
        long q = x / y;
        if ((x % y != 0) && ((x < 0) != (y < 0))) q--;
        return q;
    }

    private bool CompareOp(string op, object? left, object? right, int pos)
    {
        switch (op)
        {
            case "==": return Py.Equals(left, right);
            case "!=": return !Py.Equals(left, right);
            case "in": return ContainsOrThrow(right, left, pos);
            case "notin": return !ContainsOrThrow(right, left, pos);
        }
        var c = Py.Compare(left, right)
            ?? throw Error($"'{op}' not supported between instances of '{Py.TypeName(left)}' and '{Py.TypeName(right)}'", pos);
        return op switch
        {
            "<" => c < 0,
            ">" => c > 0,
            "<=" => c <= 0,
            _ => c >= 0,
        };
    }

    private bool ContainsOrThrow(object? container, object? item, int pos)
    {
        try
        {
            return Py.Contains(container, item);
        }
        catch (ChatTemplateException ex) when (ex.Line == 0)
        {
            throw Error(ex.Reason, pos);
        }
    }

    // ---- attribute and item access ----

    private object? GetAttr(object? target, string attr, int pos)
    {
        switch (target)
        {
            case Undefined u:
                throw Error($"{u.Hint}: it has no attribute '{attr}'", pos);
            case Namespace ns:
                return ns.Attributes.TryGetValue(attr, out var nv) ? nv : new Undefined($"namespace has no attribute '{attr}'");
            case Dictionary<string, object?> d:
            {
                var m = Methods.DictMethod(d, attr);
                if (m is not null) return m;
                return d.TryGetValue(attr, out var v) ? v : new Undefined($"dict has no attribute '{attr}'");
            }
            case string s:
                return (object?)Methods.StringMethod(s, attr) ?? new Undefined($"str has no attribute '{attr}'");
            case List<object?> l:
                return (object?)Methods.ListMethod(l, attr) ?? new Undefined($"list has no attribute '{attr}'");
            default:
                return new Undefined($"'{Py.TypeName(target)}' object has no attribute '{attr}'");
        }
    }

    private object? GetItem(object? target, object? key, int pos)
    {
        switch (target)
        {
            case Undefined u:
                throw Error($"{u.Hint}: it cannot be indexed", pos);
            case Dictionary<string, object?> d:
                if (key is string k && d.TryGetValue(k, out var v)) return v;
                return key is string ks ? GetAttr(target, ks, pos) is var a && a is PyFunc ? a : new Undefined($"dict has no key '{ks}'")
                    : new Undefined($"dict has no key {Py.Repr(key)}");
            case Namespace ns:
                return key is string nk && ns.Attributes.TryGetValue(nk, out var nv) ? nv : new Undefined($"namespace has no attribute {Py.Repr(key)}");
            case List<object?> l:
                if (key is long or bool)
                {
                    long i = Py.ToLong(key);
                    if (i < 0) i += l.Count;
                    return i >= 0 && i < l.Count ? l[(int)i] : new Undefined("list index out of range");
                }
                return key is string ls ? GetAttr(target, ls, pos) : new Undefined($"list indices must be integers, not {Py.TypeName(key)}");
            case string s:
                if (key is long or bool)
                {
                    long i = Py.ToLong(key);
                    if (i < 0) i += s.Length;
                    return i >= 0 && i < s.Length ? s[(int)i].ToString() : new Undefined("string index out of range");
                }
                return key is string ss ? GetAttr(target, ss, pos) : new Undefined($"string indices must be integers, not {Py.TypeName(key)}");
            default:
                return new Undefined($"'{Py.TypeName(target)}' object is not subscriptable");
        }
    }
}
