using System;
using System.Collections.Generic;
using System.Globalization;

namespace MambaGen.ChatTemplates;

/// <summary>Recursive-descent parser for the Jinja subset, with Jinja's operator precedence.</summary>
internal sealed class Parser
{
    private const int MaxNesting = 200;

    private static readonly HashSet<string> KnownUnsupportedTags = new(StringComparer.Ordinal)
    {
        "extends", "block", "include", "import", "from", "with", "autoescape", "trans", "do", "endblock",
    };

    private readonly List<Token> _tokens;
    private readonly Lexer _lexer;
    private int _i;
    private int _nesting;

    private Parser(List<Token> tokens, Lexer lexer)
    {
        _tokens = tokens;
        _lexer = lexer;
    }

    public static List<Node> Parse(List<Token> tokens, Lexer lexer)
    {
        var p = new Parser(tokens, lexer);
        var body = p.ParseBody(out string? end);
        if (end is not null) throw p.Error($"unexpected '{end}'", p.Prev.Pos);
        return body;
    }

    private Token Cur => _tokens[_i];
    private Token Prev => _tokens[Math.Max(0, _i - 1)];

    private ChatTemplateException Error(string message, int pos)
    {
        var (l, c) = _lexer.Position(pos);
        return new ChatTemplateException(message, l, c);
    }

    private Token Next() => _tokens[_i++];

    private bool IsOp(string op) => Cur.Kind == TokenKind.Op && Cur.Value == op;

    private bool IsName(string name) => Cur.Kind == TokenKind.Name && Cur.Value == name;

    private bool SkipOp(string op)
    {
        if (!IsOp(op)) return false;
        _i++;
        return true;
    }

    private bool SkipName(string name)
    {
        if (!IsName(name)) return false;
        _i++;
        return true;
    }

    private void ExpectOp(string op)
    {
        if (!SkipOp(op)) throw Error($"expected '{op}', found {Describe(Cur)}", Cur.Pos);
    }

    private string ExpectName()
    {
        if (Cur.Kind != TokenKind.Name) throw Error($"expected a name, found {Describe(Cur)}", Cur.Pos);
        return Next().Value;
    }

    private void ExpectBlockEnd()
    {
        if (Cur.Kind != TokenKind.BlockEnd) throw Error($"expected '%}}', found {Describe(Cur)}", Cur.Pos);
        _i++;
    }

    private static string Describe(Token t) => t.Kind switch
    {
        TokenKind.Eof => "end of template",
        TokenKind.BlockEnd => "'%}'",
        TokenKind.VarEnd => "'}}'",
        TokenKind.String => "a string",
        _ => $"'{t.Value}'",
    };

    /// <summary>Parses statements until an end tag it does not own; <paramref name="end"/> is that tag's name (null at EOF).</summary>
    private List<Node> ParseBody(out string? end, params string[] ends)
    {
        var body = new List<Node>();
        while (true)
        {
            var t = Cur;
            switch (t.Kind)
            {
                case TokenKind.Eof:
                    end = null;
                    if (ends.Length > 0) throw Error($"unexpected end of template: expected '{string.Join("' or '", ends)}'", t.Pos);
                    return body;
                case TokenKind.Text:
                    _i++;
                    body.Add(new TextStmt(t.Pos, t.Value));
                    break;
                case TokenKind.VarBegin:
                {
                    _i++;
                    var e = ParseTuple();
                    if (Cur.Kind != TokenKind.VarEnd) throw Error($"expected '}}}}', found {Describe(Cur)}", Cur.Pos);
                    _i++;
                    body.Add(new EmitStmt(t.Pos, e));
                    break;
                }
                case TokenKind.BlockBegin:
                {
                    var nameTok = _tokens[_i + 1];
                    if (nameTok.Kind != TokenKind.Name) throw Error($"expected a tag name, found {Describe(nameTok)}", nameTok.Pos);
                    if (Array.IndexOf(ends, nameTok.Value) >= 0)
                    {
                        _i += 2;
                        end = nameTok.Value;
                        return body;
                    }
                    _i += 2;
                    body.Add(ParseStatement(nameTok with { Pos = t.Pos }));
                    break;
                }
                default:
                    throw Error($"unexpected {Describe(t)}", t.Pos);
            }
        }
    }

    private Node ParseStatement(Token tag)
    {
        if (++_nesting > MaxNesting) throw Error("template nested too deeply", tag.Pos);
        try
        {
            switch (tag.Value)
            {
                case "if": return ParseIf(tag);
                case "for": return ParseFor(tag);
                case "set": return ParseSet(tag);
                case "macro": return ParseMacro(tag);
                case "call": return ParseCallBlock(tag);
                case "filter": return ParseFilterBlock(tag);
                case "break":
                    ExpectBlockEnd();
                    return new BreakStmt(tag.Pos);
                case "continue":
                    ExpectBlockEnd();
                    return new ContinueStmt(tag.Pos);
                case "generation":
                {
                    ExpectBlockEnd();
                    var body = ParseBody(out _, "endgeneration");
                    ExpectBlockEnd();
                    return new GenerationStmt(tag.Pos, body);
                }
                default:
                    if (KnownUnsupportedTags.Contains(tag.Value))
                        throw Error($"unsupported construct: the '{tag.Value}' tag is not supported in chat templates", tag.Pos);
                    throw Error($"unknown tag '{tag.Value}'", tag.Pos);
            }
        }
        finally
        {
            _nesting--;
        }
    }

    private Node ParseIf(Token tag)
    {
        var branches = new List<(Node, List<Node>)>();
        List<Node>? elseBody = null;
        var cond = ParseTuple();
        ExpectBlockEnd();
        while (true)
        {
            var body = ParseBody(out string? end, "elif", "else", "endif");
            branches.Add((cond, body));
            if (end == "elif")
            {
                cond = ParseTuple();
                ExpectBlockEnd();
                continue;
            }
            if (end == "else")
            {
                ExpectBlockEnd();
                elseBody = ParseBody(out _, "endif");
            }
            ExpectBlockEnd();
            return new IfStmt(tag.Pos, branches, elseBody);
        }
    }

    private Node ParseFor(Token tag)
    {
        var targets = new List<string>();
        bool paren = SkipOp("(");
        do targets.Add(ExpectName());
        while (SkipOp(","));
        if (paren) ExpectOp(")");
        if (!SkipName("in")) throw Error($"expected 'in' in a for tag, found {Describe(Cur)}", Cur.Pos);
        var iter = ParseTupleNoCond();
        Node? filter = null;
        if (SkipName("if")) filter = ParseExpression();
        if (IsName("recursive")) throw Error("unsupported construct: recursive for loops", Cur.Pos);
        ExpectBlockEnd();
        var body = ParseBody(out string? end, "else", "endfor");
        List<Node>? elseBody = null;
        if (end == "else")
        {
            ExpectBlockEnd();
            elseBody = ParseBody(out _, "endfor");
        }
        ExpectBlockEnd();
        return new ForStmt(tag.Pos, targets, iter, filter, body, elseBody);
    }

    private Node ParseSet(Token tag)
    {
        var first = ExpectName();
        if (SkipOp("."))
        {
            var attr = ExpectName();
            ExpectOp("=");
            var value = ParseTuple();
            ExpectBlockEnd();
            return new SetStmt(tag.Pos, new List<string> { first }, attr, value);
        }
        var targets = new List<string> { first };
        while (SkipOp(",")) targets.Add(ExpectName());
        if (Cur.Kind == TokenKind.BlockEnd && targets.Count == 1)
        {
            _i++;
            var body = ParseBody(out _, "endset");
            ExpectBlockEnd();
            return new SetBlockStmt(tag.Pos, first, body);
        }
        if (IsOp("|") && targets.Count == 1)
            throw Error("unsupported construct: filtered block set", Cur.Pos);
        ExpectOp("=");
        var v = ParseTuple();
        ExpectBlockEnd();
        return new SetStmt(tag.Pos, targets, null, v);
    }

    private List<(string, Node?)> ParseParams()
    {
        var ps = new List<(string, Node?)>();
        ExpectOp("(");
        while (!IsOp(")"))
        {
            if (ps.Count > 0) ExpectOp(",");
            if (IsOp(")")) break;
            var name = ExpectName();
            Node? def = null;
            if (SkipOp("=")) def = ParseExpression();
            ps.Add((name, def));
        }
        ExpectOp(")");
        return ps;
    }

    private Node ParseMacro(Token tag)
    {
        var name = ExpectName();
        var ps = ParseParams();
        ExpectBlockEnd();
        var body = ParseBody(out _, "endmacro");
        ExpectBlockEnd();
        return new MacroStmt(tag.Pos, name, ps, body);
    }

    private Node ParseCallBlock(Token tag)
    {
        var ps = IsOp("(") ? ParseParams() : new List<(string, Node?)>();
        var call = ParseExpression();
        if (call is not CallExpr ce) throw Error("expected a macro call in a call tag", tag.Pos);
        ExpectBlockEnd();
        var body = ParseBody(out _, "endcall");
        ExpectBlockEnd();
        return new CallBlockStmt(tag.Pos, ce, ps, body);
    }

    private Node ParseFilterBlock(Token tag)
    {
        FilterExpr? f = null;
        do f = ParseFilterCall(f, Cur.Pos);
        while (SkipOp("|"));
        ExpectBlockEnd();
        var body = ParseBody(out _, "endfilter");
        ExpectBlockEnd();
        return new FilterBlockStmt(tag.Pos, f, body);
    }

    // ---- Expressions ----

    /// <summary>An expression or an unparenthesised tuple (<c>a, b</c>).</summary>
    private Node ParseTuple()
    {
        int pos = Cur.Pos;
        var first = ParseExpression();
        if (!IsOp(",")) return first;
        var items = new List<Node> { first };
        while (SkipOp(","))
        {
            if (Cur.Kind is TokenKind.BlockEnd or TokenKind.VarEnd) break;
            items.Add(ParseExpression());
        }
        return new ListExpr(pos, items);
    }

    private Node ParseTupleNoCond()
    {
        int pos = Cur.Pos;
        var first = ParseOr();
        if (!IsOp(",")) return first;
        var items = new List<Node> { first };
        while (SkipOp(",")) items.Add(ParseOr());
        return new ListExpr(pos, items);
    }

    private Node ParseExpression()
    {
        if (++_nesting > MaxNesting) throw Error("expression nested too deeply", Cur.Pos);
        try
        {
            int pos = Cur.Pos;
            var expr = ParseOr();
            while (IsName("if"))
            {
                _i++;
                var test = ParseOr();
                Node? otherwise = null;
                if (SkipName("else")) otherwise = ParseExpression();
                expr = new CondExpr(pos, test, expr, otherwise);
            }
            return expr;
        }
        finally
        {
            _nesting--;
        }
    }

    private Node ParseOr()
    {
        var left = ParseAnd();
        while (IsName("or"))
        {
            int pos = Next().Pos;
            left = new BinaryExpr(pos, "or", left, ParseAnd());
        }
        return left;
    }

    private Node ParseAnd()
    {
        var left = ParseNot();
        while (IsName("and"))
        {
            int pos = Next().Pos;
            left = new BinaryExpr(pos, "and", left, ParseNot());
        }
        return left;
    }

    private Node ParseNot()
    {
        if (IsName("not"))
        {
            int pos = Next().Pos;
            Enter(pos);
            try
            {
                return new UnaryExpr(pos, "not", ParseNot());
            }
            finally
            {
                _nesting--;
            }
        }
        return ParseCompare();
    }

    private void Enter(int pos)
    {
        if (++_nesting > MaxNesting) throw Error("expression nested too deeply", pos);
    }

    private Node ParseCompare()
    {
        int pos = Cur.Pos;
        var first = ParseMath1();
        var rest = new List<(string, Node)>();
        while (true)
        {
            if (Cur.Kind == TokenKind.Op && Cur.Value is "==" or "!=" or "<" or ">" or "<=" or ">=")
            {
                var op = Next().Value;
                rest.Add((op, ParseMath1()));
            }
            else if (IsName("in"))
            {
                _i++;
                rest.Add(("in", ParseMath1()));
            }
            else if (IsName("not") && _tokens[_i + 1].Kind == TokenKind.Name && _tokens[_i + 1].Value == "in")
            {
                _i += 2;
                rest.Add(("notin", ParseMath1()));
            }
            else break;
        }
        return rest.Count == 0 ? first : new CompareExpr(pos, first, rest);
    }

    private Node ParseMath1()
    {
        var left = ParseConcat();
        while (Cur.Kind == TokenKind.Op && Cur.Value is "+" or "-")
        {
            var t = Next();
            left = new BinaryExpr(t.Pos, t.Value, left, ParseConcat());
        }
        return left;
    }

    private Node ParseConcat()
    {
        var left = ParseMath2();
        while (IsOp("~"))
        {
            var t = Next();
            left = new BinaryExpr(t.Pos, "~", left, ParseMath2());
        }
        return left;
    }

    private Node ParseMath2()
    {
        var left = ParsePow();
        while (Cur.Kind == TokenKind.Op && Cur.Value is "*" or "/" or "//" or "%")
        {
            var t = Next();
            left = new BinaryExpr(t.Pos, t.Value, left, ParsePow());
        }
        return left;
    }

    private Node ParsePow()
    {
        var left = ParseUnary(true);
        while (IsOp("**"))
        {
            var t = Next();
            left = new BinaryExpr(t.Pos, "**", left, ParseUnary(true));
        }
        return left;
    }

    private Node ParseUnary(bool withFilter)
    {
        Node node;
        if (Cur.Kind == TokenKind.Op && Cur.Value is "-" or "+")
        {
            var t = Next();
            Enter(t.Pos);
            try
            {
                node = new UnaryExpr(t.Pos, t.Value, ParseUnary(false));
            }
            finally
            {
                _nesting--;
            }
        }
        else
        {
            node = ParsePrimary();
        }
        node = ParsePostfix(node);
        if (withFilter) node = ParseFilterExpr(node);
        return node;
    }

    private Node ParsePrimary()
    {
        var t = Cur;
        switch (t.Kind)
        {
            case TokenKind.Name:
                _i++;
                return t.Value switch
                {
                    "true" or "True" => new ConstExpr(t.Pos, true),
                    "false" or "False" => new ConstExpr(t.Pos, false),
                    "none" or "None" => new ConstExpr(t.Pos, null),
                    _ => new NameExpr(t.Pos, t.Value),
                };
            case TokenKind.String:
            {
                _i++;
                string s = t.Value;
                while (Cur.Kind == TokenKind.String) s += Next().Value;
                return new ConstExpr(t.Pos, s);
            }
            case TokenKind.Int:
                _i++;
                if (!long.TryParse(t.Value, NumberStyles.None, CultureInfo.InvariantCulture, out long l))
                    throw Error($"integer literal out of range: {t.Value}", t.Pos);
                return new ConstExpr(t.Pos, l);
            case TokenKind.Float:
                _i++;
                return new ConstExpr(t.Pos, double.Parse(t.Value, NumberStyles.Float, CultureInfo.InvariantCulture));
            case TokenKind.Op when t.Value == "(":
            {
                _i++;
                if (SkipOp(")")) return new ListExpr(t.Pos, new List<Node>());
                var e = ParseExpression();
                if (IsOp(","))
                {
                    var items = new List<Node> { e };
                    while (SkipOp(","))
                    {
                        if (IsOp(")")) break;
                        items.Add(ParseExpression());
                    }
                    e = new ListExpr(t.Pos, items);
                }
                ExpectOp(")");
                return e;
            }
            case TokenKind.Op when t.Value == "[":
            {
                _i++;
                var items = new List<Node>();
                while (!IsOp("]"))
                {
                    if (items.Count > 0) ExpectOp(",");
                    if (IsOp("]")) break;
                    items.Add(ParseExpression());
                }
                ExpectOp("]");
                return new ListExpr(t.Pos, items);
            }
            case TokenKind.Op when t.Value == "{":
            {
                _i++;
                var items = new List<(Node, Node)>();
                while (!IsOp("}"))
                {
                    if (items.Count > 0) ExpectOp(",");
                    if (IsOp("}")) break;
                    var k = ParseExpression();
                    ExpectOp(":");
                    items.Add((k, ParseExpression()));
                }
                ExpectOp("}");
                return new DictExpr(t.Pos, items);
            }
            default:
                throw Error($"unexpected {Describe(t)} in an expression", t.Pos);
        }
    }

    private Node ParsePostfix(Node node)
    {
        while (true)
        {
            if (IsOp("."))
            {
                var dot = Next();
                if (Cur.Kind == TokenKind.Name) node = new GetAttrExpr(dot.Pos, node, Next().Value);
                else if (Cur.Kind == TokenKind.Int) node = new GetItemExpr(dot.Pos, node, new ConstExpr(Cur.Pos, long.Parse(Next().Value, CultureInfo.InvariantCulture)));
                else throw Error($"expected an attribute name after '.', found {Describe(Cur)}", Cur.Pos);
            }
            else if (IsOp("["))
            {
                var br = Next();
                node = ParseSubscript(br.Pos, node);
            }
            else if (IsOp("("))
            {
                node = ParseCall(node);
            }
            else return node;
        }
    }

    private Node ParseSubscript(int pos, Node target)
    {
        Node? start = null, stop = null, step = null;
        if (!IsOp(":")) start = ParseExpression();
        if (!SkipOp(":"))
        {
            ExpectOp("]");
            return new GetItemExpr(pos, target, start!);
        }
        if (!IsOp(":") && !IsOp("]")) stop = ParseExpression();
        if (SkipOp(":") && !IsOp("]")) step = ParseExpression();
        ExpectOp("]");
        return new SliceExpr(pos, target, start, stop, step);
    }

    private (List<Node>, List<(string, Node)>) ParseArgs()
    {
        ExpectOp("(");
        var args = new List<Node>();
        var kwargs = new List<(string, Node)>();
        while (!IsOp(")"))
        {
            if (args.Count + kwargs.Count > 0) ExpectOp(",");
            if (IsOp(")")) break;
            if (IsOp("*")) throw Error("unsupported construct: *args / **kwargs in a call", Cur.Pos);
            if (Cur.Kind == TokenKind.Name && _tokens[_i + 1].Kind == TokenKind.Op && _tokens[_i + 1].Value == "=")
            {
                var name = Next().Value;
                _i++;
                kwargs.Add((name, ParseExpression()));
            }
            else
            {
                if (kwargs.Count > 0) throw Error("positional argument after a keyword argument", Cur.Pos);
                args.Add(ParseExpression());
            }
        }
        ExpectOp(")");
        return (args, kwargs);
    }

    private Node ParseCall(Node fn)
    {
        int pos = Cur.Pos;
        var (args, kwargs) = ParseArgs();
        return new CallExpr(pos, fn, args, kwargs);
    }

    private FilterExpr ParseFilterCall(Node? target, int pos)
    {
        var name = ExpectName();
        while (SkipOp(".")) name += "." + ExpectName();
        var args = new List<Node>();
        var kwargs = new List<(string, Node)>();
        if (IsOp("(")) (args, kwargs) = ParseArgs();
        return new FilterExpr(pos, target, name, args, kwargs);
    }

    private Node ParseFilterExpr(Node node)
    {
        while (true)
        {
            if (IsOp("|"))
            {
                var bar = Next();
                node = ParseFilterCall(node, bar.Pos);
            }
            else if (IsName("is"))
            {
                var isTok = Next();
                bool negated = SkipName("not");
                var name = ExpectName();
                var args = new List<Node>();
                if (IsOp("("))
                {
                    var (a, kw) = ParseArgs();
                    if (kw.Count > 0) throw Error("unsupported construct: keyword arguments to a test", isTok.Pos);
                    args = a;
                }
                else if (Cur.Kind is TokenKind.String or TokenKind.Int or TokenKind.Float
                         || (Cur.Kind == TokenKind.Name && Cur.Value is not ("else" or "or" or "and" or "if" or "in" or "not" or "is"))
                         || IsOp("[") || IsOp("{"))
                {
                    args.Add(ParsePostfix(ParsePrimary()));
                }
                node = new TestExpr(isTok.Pos, node, name, args, negated);
            }
            else if (IsOp("("))
            {
                node = ParseCall(node);
            }
            else return node;
        }
    }
}
