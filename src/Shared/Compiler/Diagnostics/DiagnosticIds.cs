#if MAMBAGEN_COMPILER
// Compiled into the generator and the analyzers only (src/Runtime also compiles src/Shared; it has no Roslyn).
namespace MambaGen.Diagnostics;

/// <summary>The IDs of every MambaGen diagnostic; each has a page at docs/diagnostics/{ID}.md.</summary>
internal static class DiagnosticIds
{
    public const string MambaBaseMembersMissing = "MG0001";
    public const string LayerNotPartial = "MG0002";
    public const string LayerNotMambaBase = "MG0003";
    public const string UnknownMambaType = "MG0004";
    public const string StaticStateTensor = "MG0005";
    public const string UnsupportedStateShape = "MG0006";
    public const string LayerWithoutStates = "MG0007";
    public const string DuplicateStateOrder = "MG0008";
    public const string GeneratedMemberCollision = "MG0009";
    public const string StateCountMismatch = "MG0010";
    public const string BackendNotMambaAttentionBackend = "MG0011";
    public const string BackendNotConstructible = "MG0012";
    public const string StateTensorOutsideLayer = "MG0013";
    public const string DuplicateStateAccessor = "MG0014";
    public const string EmptyMambaType = "MG0015";
    public const string UnknownStateDtype = "MG0016";
    public const string StateTensorOnAccessor = "MG0017";
    public const string FileLocalLayer = "MG0018";
    public const string LanguageVersionTooLow = "MG0019";
    public const string NamespaceHiddenByType = "MG0020";
    public const string AccessorNameTaken = "MG0021";

    /// <summary>The IDs the generator reports itself rather than an analyzer: each leaves the class with CS0534, and a
    /// command-line build runs no analyzer on a compilation with errors.</summary>
    public static readonly string[] ReportedByGenerator = { MambaBaseMembersMissing, LayerNotPartial, FileLocalLayer, LanguageVersionTooLow, NamespaceHiddenByType };
}
#endif
