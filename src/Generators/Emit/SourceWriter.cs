using System;
using System.Text;

namespace MambaGen.Generators.Emit;

/// <summary>A small indent-aware text builder: cheaper than building syntax trees and normalising whitespace.</summary>
internal sealed class SourceWriter
{
    private const string IndentUnit = "    ";

    private readonly StringBuilder _builder = new();
    private int _indentation;

    public void WriteLine(string line)
    {
        for (int i = 0; i < _indentation; i++)
        {
            _builder.Append(IndentUnit);
        }

        // Always '\n', so the output is the same on every OS.
        _builder.Append(line).Append('\n');
    }

    public void WriteLine() => _builder.Append('\n');

    /// <summary>Writes <c>{</c> and indents what follows.</summary>
    public void OpenBlock()
    {
        WriteLine("{");
        _indentation++;
    }

    /// <summary>Unindents and writes <c>}</c> plus <paramref name="suffix"/> (e.g. <c>;</c>).</summary>
    public void CloseBlock(string suffix = "")
    {
        if (_indentation == 0)
        {
            throw new InvalidOperationException("SourceWriter: CloseBlock without a matching OpenBlock.");
        }

        _indentation--;
        WriteLine("}" + suffix);
    }

    public override string ToString()
    {
        if (_indentation != 0)
        {
            throw new InvalidOperationException($"SourceWriter: {_indentation} block(s) left open.");
        }

        return _builder.ToString();
    }
}
