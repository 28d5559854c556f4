#if MAMBAGEN_COMPILER
// Compiled into the generator and the analyzers only (src/Runtime also compiles src/Shared; it has no Roslyn).
namespace MambaGen.Diagnostics;

/// <summary>Keys of <see cref="Microsoft.CodeAnalysis.Diagnostic.Properties"/> that analyzers pass to code fixes.</summary>
internal static class DiagnosticPropertyKeys
{
    /// <summary>MG0004: the known mamba type nearest to the unknown one.</summary>
    public const string SuggestedMambaType = "SuggestedMambaType";
}
#endif
