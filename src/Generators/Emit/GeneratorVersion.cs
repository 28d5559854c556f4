namespace MambaGen.Generators.Emit;

/// <summary>The version written into <c>[GeneratedCode]</c>: the generator assembly's own.</summary>
internal static class GeneratorVersion
{
    public const string ToolName = "MambaGen.Generators";

    public static readonly string Value = typeof(GeneratorVersion).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
