#if MAMBAGEN_COMPILER
// Compiled into the generator and the analyzers only (src/Runtime also compiles src/Shared; it has no Roslyn).
namespace MambaGen.Declarations;

/// <summary>Metadata names of the runtime types the generator and the analyzers read or write against.</summary>
internal static class TypeNames
{
    public const string MambaLayerAttribute = "MambaGen.MambaLayerAttribute";
    public const string StateTensorAttribute = "MambaGen.StateTensorAttribute";
    public const string MambaBase = "MambaGen.MambaBase";
    public const string MambaAttentionBackend = "MambaGen.Backends.MambaAttentionBackend";

    /// <summary>Named argument of <c>[MambaLayer]</c> holding a custom backend type.</summary>
    public const string BackendArgument = "Backend";

    /// <summary>Named arguments of <c>[StateTensor]</c>.</summary>
    public const string DtypeArgument = "Dtype";
    public const string OrderArgument = "Order";
}
#endif
