using System;

namespace MambaGen.ChatTemplates;

/// <summary>
/// A chat template that cannot be parsed or rendered: a syntax error, an unsupported Jinja construct, a sandbox limit,
/// a runtime type error, or the template's own <c>raise_exception(msg)</c>. <see cref="Line"/> and
/// <see cref="Column"/> (1-based) point into the template source when known (0 otherwise).
/// </summary>
public class ChatTemplateException : Exception
{
    public ChatTemplateException(string message, int line = 0, int column = 0)
        : base(line > 0 ? $"{message} (line {line}, column {column})" : message)
    {
        Reason = message;
        Line = line;
        Column = column;
    }

    /// <summary>The message without the position.</summary>
    public string Reason { get; }

    public int Line { get; }

    public int Column { get; }
}

/// <summary>The template called <c>raise_exception(msg)</c>; <see cref="ChatTemplateException.Reason"/> is its message.</summary>
public sealed class ChatTemplateRaisedException : ChatTemplateException
{
    public ChatTemplateRaisedException(string message, int line, int column) : base(message, line, column) { }
}
