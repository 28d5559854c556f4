namespace MambaGen.Analyzers.Inspection;

/// <summary>Metadata names of the runtime types the analyzers look for.</summary>
internal static class MambaMetadataNames
{
    public const string MambaBase = "MambaGen.MambaBase";
    public const string MambaLayerAttribute = "MambaGen.MambaLayerAttribute";
    public const string StateTensorAttribute = "MambaGen.StateTensorAttribute";
    public const string MambaAttentionBackend = "MambaGen.Backends.MambaAttentionBackend";
}
