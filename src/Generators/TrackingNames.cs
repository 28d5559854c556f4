namespace MambaGen.Generators;

/// <summary>Names of the generator's pipeline steps, so tests can check each step's run reasons.</summary>
internal static class TrackingNames
{
    /// <summary>The whole compilation's [MambaLayer] classes, read again only where a file they depend on changed.</summary>
    public const string ScanningLayers = nameof(ScanningLayers);

    /// <summary>The transform of every <c>[MambaLayer]</c> class into a <see cref="Model.LayerExtraction"/>: its model (null when the generator cannot extend it) and its reports.</summary>
    public const string InitialExtraction = nameof(InitialExtraction);

    /// <summary>The layers the generator can extend (partial, deriving from <c>MambaBase</c>); the others are left to the compiler and the analyzer.</summary>
    public const string RemovingNulls = nameof(RemovingNulls);

    /// <summary>The extendable layers again, one by one, with hint names unique ignoring case.</summary>
    public const string AssigningHintNames = nameof(AssigningHintNames);

    /// <summary>The diagnostics the generator reports itself for <c>[MambaLayer]</c> classes (MG0002), one by one.</summary>
    public const string LayerDiagnostics = nameof(LayerDiagnostics);

    /// <summary>MG0001 per class with a base list (null unless it is a MambaBase lacking members and [MambaLayer]).</summary>
    public const string MissingMembersDiagnostics = nameof(MissingMembersDiagnostics);
}
