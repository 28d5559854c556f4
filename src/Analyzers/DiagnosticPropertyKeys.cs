namespace MambaGen.Analyzers;

/// <summary>Keys of <see cref="Microsoft.CodeAnalysis.Diagnostic.Properties"/> that analyzers pass to code fixes.</summary>
public static class DiagnosticPropertyKeys
{
    /// <summary>MG0004: the known mamba type nearest to the unknown one.</summary>
    public const string SuggestedMambaType = "SuggestedMambaType";
}
