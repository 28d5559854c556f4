#if MAMBAGEN_COMPILER
// Compiled into the generator and the analyzers only (src/Runtime also compiles src/Shared; it has no Roslyn).
namespace MambaGen.Diagnostics;

/// <summary>Categories of MambaGen diagnostics, so a project can set their severity by category.</summary>
internal static class DiagnosticCategories
{
    /// <summary>The layer is declared in a way the generator cannot complete.</summary>
    public const string Usage = "Usage";

    /// <summary>The layer compiles but disagrees with vLLM's model of its mamba type.</summary>
    public const string Design = "Design";
}
#endif
