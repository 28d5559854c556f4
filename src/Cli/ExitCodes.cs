namespace MambaGen.Cli;

/// <summary>What mambagen's exit status means.</summary>
public static class ExitCodes
{
    /// <summary>The command did what it was asked (for check: every comparison passed).</summary>
    public const int Success = 0;

    /// <summary>check: the model disagrees with the reference beyond the tolerance.</summary>
    public const int CheckFailed = 1;

    /// <summary>Bad input: unknown or invalid options, a missing folder or file, a broken checkpoint, an unavailable device.</summary>
    public const int BadInput = 2;

    /// <summary>Anything else went wrong (a bug or an out-of-memory): the message says what.</summary>
    public const int InternalError = 3;
}
