using System;
using System.Collections.Generic;
using System.Text;

namespace MambaGen.ChatTemplates;

internal enum TokenKind { Text, VarBegin, VarEnd, BlockBegin, BlockEnd, Name, String, Int, Float, Op, Eof }

internal readonly record struct Token(TokenKind Kind, string Value, int Pos);

/// <summary>
/// Splits a template into text and tag tokens with Jinja's whitespace rules as transformers configures them:
/// trim_blocks (the first newline after a block or comment tag is removed), lstrip_blocks (spaces and tabs from the
/// start of a line up to a block or comment tag are removed), <c>-</c> on a tag side strips all whitespace on that
/// side, <c>+</c> disables lstrip/trim; newlines are normalised to \n and one trailing newline is dropped
/// (keep_trailing_newline=False).
/// </summary>
internal sealed class Lexer
{
    private static readonly string[] Operators =
    {
        "**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "|", ".", ",", ":", "(", ")", "[", "]", "{", "}",
    };

    private readonly string _src;
    private readonly List<Token> _tokens = new();
    private readonly int[] _lineStarts;

    private Lexer(string source)
    {
        var s = source.Replace("\r\n", "\n").Replace('\r', '\n');
        if (s.EndsWith('\n')) s = s.Substring(0, s.Length - 1);
        _src = s;
        var starts = new List<int> { 0 };
        for (int i = 0; i < s.Length; i++)
            if (s[i] == '\n') starts.Add(i + 1);
        _lineStarts = starts.ToArray();
    }

    public string Source => _src;

    public static (List<Token> Tokens, Lexer Lexer) Tokenize(string source)
    {
        var lx = new Lexer(source);
        lx.Run();
        return (lx._tokens, lx);
    }

    public (int Line, int Column) Position(int pos)
    {
        int idx = Array.BinarySearch(_lineStarts, pos);
        if (idx < 0) idx = ~idx - 1;
        return (idx + 1, pos - _lineStarts[idx] + 1);
    }

    private ChatTemplateException Error(string message, int pos)
    {
        var (l, c) = Position(pos);
        return new ChatTemplateException(message, l, c);
    }

    private void Run()
    {
        int pos = 0;
        while (pos < _src.Length)
        {
            int tag = FindTag(pos);
            int textEnd = tag < 0 ? _src.Length : tag;
            string text = _src.Substring(pos, textEnd - pos);
            if (tag >= 0)
            {
                char kind = _src[tag + 1];
                char sign = tag + 2 < _src.Length ? _src[tag + 2] : '\0';
                if (sign == '-')
                {
                    text = text.TrimEnd();
                }
                else if (sign != '+' && kind != '{')
                {
                    // lstrip_blocks: whitespace between the line's start and the tag goes.
                    int lpos = text.LastIndexOf('\n') + 1;
                    bool lineStarting = pos == 0 || _src[pos - 1] == '\n';
                    if (lpos > 0 || lineStarting)
                    {
                        bool allWs = true;
                        for (int i = lpos; i < text.Length; i++)
                            if (!char.IsWhiteSpace(text[i])) { allWs = false; break; }
                        if (allWs) text = text.Substring(0, lpos);
                    }
                }
            }
            if (text.Length > 0) _tokens.Add(new Token(TokenKind.Text, text, pos));
            if (tag < 0) break;
            pos = LexTag(tag);
        }
        _tokens.Add(new Token(TokenKind.Eof, "", _src.Length));
    }

    private int FindTag(int from)
    {
        for (int i = from; i + 1 < _src.Length; i++)
        {
            if (_src[i] != '{') continue;
            char n = _src[i + 1];
            if (n == '{' || n == '%' || n == '#') return i;
        }
        return -1;
    }

    /// <summary>Lexes the tag at <paramref name="start"/>; returns the position after it (after trim_blocks / '-' stripping).</summary>
    private int LexTag(int start)
    {
        char kind = _src[start + 1];
        int p = start + 2;
        if (p < _src.Length && (_src[p] == '-' || _src[p] == '+')) p++;
        if (kind == '#')
        {
            int end = _src.IndexOf("#}", p, StringComparison.Ordinal);
            if (end < 0) throw Error("unterminated comment: '{#' without '#}'", start);
            char before = _src[end - 1];
            int after = end + 2;
            if (before == '-' && end - 1 >= p) return SkipWhitespace(after);
            if (before == '+' && end - 1 >= p) return after;
            return TrimNewline(after);
        }

        if (kind == '%' && TryRaw(start, p, out int rawEnd)) return rawEnd;

        _tokens.Add(new Token(kind == '{' ? TokenKind.VarBegin : TokenKind.BlockBegin, kind == '{' ? "{{" : "{%", start));
        int depth = 0;
        while (true)
        {
            while (p < _src.Length && char.IsWhiteSpace(_src[p])) p++;
            if (p >= _src.Length)
                throw Error(kind == '{' ? "unterminated expression: '{{' without '}}'" : "unterminated tag: '{%' without '%}'", start);
            // Tag end, optionally with a '-' or '+' modifier.
            if (depth == 0)
            {
                int e = p;
                char mod = '\0';
                if (_src[e] == '-' || _src[e] == '+')
                {
                    mod = _src[e];
                    e++;
                }
                string close = kind == '{' ? "}}" : "%}";
                if (string.CompareOrdinal(_src, e, close, 0, 2) == 0 && (mod != '+' || kind == '%'))
                {
                    _tokens.Add(new Token(kind == '{' ? TokenKind.VarEnd : TokenKind.BlockEnd, close, p));
                    int after = e + 2;
                    if (mod == '-') return SkipWhitespace(after);
                    if (kind == '%' && mod != '+') return TrimNewline(after);
                    return after;
                }
            }
            p = LexExpressionToken(p, ref depth);
        }
    }

    private bool TryRaw(int start, int p, out int end)
    {
        end = 0;
        int q = p;
        while (q < _src.Length && char.IsWhiteSpace(_src[q])) q++;
        if (string.CompareOrdinal(_src, q, "raw", 0, 3) != 0) return false;
        q += 3;
        if (q < _src.Length && (char.IsLetterOrDigit(_src[q]) || _src[q] == '_')) return false;
        while (q < _src.Length && char.IsWhiteSpace(_src[q])) q++;
        char mod = '\0';
        if (q < _src.Length && (_src[q] == '-' || _src[q] == '+')) mod = _src[q++];
        if (string.CompareOrdinal(_src, q, "%}", 0, 2) != 0) throw Error("malformed 'raw' tag", start);
        int bodyStart = mod == '-' ? SkipWhitespace(q + 2) : mod == '+' ? q + 2 : TrimNewline(q + 2);
        // Find {% endraw %}.
        int search = bodyStart;
        while (true)
        {
            int t = _src.IndexOf("{%", search, StringComparison.Ordinal);
            if (t < 0) throw Error("'raw' block without 'endraw'", start);
            int r = t + 2;
            char openMod = '\0';
            if (r < _src.Length && (_src[r] == '-' || _src[r] == '+')) openMod = _src[r++];
            while (r < _src.Length && char.IsWhiteSpace(_src[r])) r++;
            if (string.CompareOrdinal(_src, r, "endraw", 0, 6) == 0)
            {
                r += 6;
                while (r < _src.Length && char.IsWhiteSpace(_src[r])) r++;
                char closeMod = '\0';
                if (r < _src.Length && (_src[r] == '-' || _src[r] == '+')) closeMod = _src[r++];
                if (string.CompareOrdinal(_src, r, "%}", 0, 2) != 0) throw Error("malformed 'endraw' tag", t);
                string body = _src.Substring(bodyStart, t - bodyStart);
                if (openMod == '-') body = body.TrimEnd();
                if (body.Length > 0) _tokens.Add(new Token(TokenKind.Text, body, bodyStart));
                end = closeMod == '-' ? SkipWhitespace(r + 2) : closeMod == '+' ? r + 2 : TrimNewline(r + 2);
                return true;
            }
            search = t + 2;
        }
    }

    private int SkipWhitespace(int p)
    {
        while (p < _src.Length && char.IsWhiteSpace(_src[p])) p++;
        return p;
    }

    private int TrimNewline(int p) => p < _src.Length && _src[p] == '\n' ? p + 1 : p;

    private int LexExpressionToken(int p, ref int depth)
    {
        char c = _src[p];
        if (char.IsLetter(c) || c == '_')
        {
            int s = p;
            while (p < _src.Length && (char.IsLetterOrDigit(_src[p]) || _src[p] == '_')) p++;
            _tokens.Add(new Token(TokenKind.Name, _src.Substring(s, p - s), s));
            return p;
        }
        if (char.IsDigit(c))
        {
            int s = p;
            bool isFloat = false;
            while (p < _src.Length && (char.IsDigit(_src[p]) || _src[p] == '_')) p++;
            if (p + 1 < _src.Length && _src[p] == '.' && char.IsDigit(_src[p + 1]))
            {
                isFloat = true;
                p++;
                while (p < _src.Length && char.IsDigit(_src[p])) p++;
            }
            if (p < _src.Length && (_src[p] == 'e' || _src[p] == 'E'))
            {
                int q = p + 1;
                if (q < _src.Length && (_src[q] == '+' || _src[q] == '-')) q++;
                if (q < _src.Length && char.IsDigit(_src[q]))
                {
                    isFloat = true;
                    p = q;
                    while (p < _src.Length && char.IsDigit(_src[p])) p++;
                }
            }
            _tokens.Add(new Token(isFloat ? TokenKind.Float : TokenKind.Int, _src.Substring(s, p - s).Replace("_", ""), s));
            return p;
        }
        if (c == '\'' || c == '"') return LexString(p);
        foreach (var op in Operators)
        {
            if (string.CompareOrdinal(_src, p, op, 0, op.Length) != 0) continue;
            if (op is "(" or "[" or "{") depth++;
            else if (op is ")" or "]" or "}") depth = Math.Max(0, depth - 1);
            _tokens.Add(new Token(TokenKind.Op, op, p));
            return p + op.Length;
        }
        throw Error($"unexpected character '{c}' in a tag", p);
    }

    private int LexString(int p)
    {
        char q = _src[p];
        int s = p++;
        var sb = new StringBuilder();
        while (true)
        {
            if (p >= _src.Length) throw Error("unterminated string literal", s);
            char c = _src[p];
            if (c == q) { p++; break; }
            if (c == '\\' && p + 1 < _src.Length)
            {
                char e = _src[p + 1];
                p += 2;
                switch (e)
                {
                    case 'n': sb.Append('\n'); break;
                    case 't': sb.Append('\t'); break;
                    case 'r': sb.Append('\r'); break;
                    case '0': sb.Append('\0'); break;
                    case 'b': sb.Append('\b'); break;
                    case 'f': sb.Append('\f'); break;
                    case '\\': sb.Append('\\'); break;
                    case '\'': sb.Append('\''); break;
                    case '"': sb.Append('"'); break;
                    case '\n': break;
                    case 'x': sb.Append((char)Hex(p, 2)); p += 2; break;
                    case 'u': sb.Append((char)Hex(p, 4)); p += 4; break;
                    case 'U': sb.Append(char.ConvertFromUtf32(Hex(p, 8))); p += 8; break;
                    default: sb.Append('\\').Append(e); break;
                }
                continue;
            }
            sb.Append(c);
            p++;
        }
        _tokens.Add(new Token(TokenKind.String, sb.ToString(), s));
        return p;
    }

    private int Hex(int p, int n)
    {
        if (p + n > _src.Length) throw Error("truncated escape in a string literal", p);
        try
        {
            return Convert.ToInt32(_src.Substring(p, n), 16);
        }
        catch (FormatException)
        {
            throw Error("bad escape in a string literal", p);
        }
    }
}
