namespace MambaGen.Analyzers;

/// <summary>Categories of MambaGen diagnostics, so a project can set their severity by category.</summary>
internal static class DiagnosticCategories
{
    /// <summary>The layer is declared in a way the generator cannot complete.</summary>
    public const string Usage = "Usage";

    /// <summary>The layer compiles but disagrees with vLLM's model of its mamba type.</summary>
    public const string Design = "Design";
}
