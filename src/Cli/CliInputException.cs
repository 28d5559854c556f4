using System;

namespace MambaGen.Cli;

/// <summary>Input the command cannot work with (a missing file, an unusable option value); printed without a stack trace.</summary>
public sealed class CliInputException : Exception
{
    public CliInputException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
