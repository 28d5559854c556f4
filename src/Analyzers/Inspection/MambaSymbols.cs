using Microsoft.CodeAnalysis;
using MambaGen.Declarations;

namespace MambaGen.Analyzers.Inspection;

/// <summary>The runtime types, resolved once per compilation; absent when the project does not reference MambaGen.</summary>
internal sealed class MambaSymbols
{
    private MambaSymbols(INamedTypeSymbol mambaBase, INamedTypeSymbol mambaLayerAttribute, INamedTypeSymbol stateTensorAttribute, INamedTypeSymbol mambaAttentionBackend)
    {
        MambaBase = mambaBase;
        MambaLayerAttribute = mambaLayerAttribute;
        StateTensorAttribute = stateTensorAttribute;
        MambaAttentionBackend = mambaAttentionBackend;
    }

    public INamedTypeSymbol MambaBase { get; }

    public INamedTypeSymbol MambaLayerAttribute { get; }

    public INamedTypeSymbol StateTensorAttribute { get; }

    public INamedTypeSymbol MambaAttentionBackend { get; }

    public static MambaSymbols? Resolve(Compilation compilation)
    {
        var mambaBase = compilation.GetTypeByMetadataName(TypeNames.MambaBase);
        var layer = compilation.GetTypeByMetadataName(TypeNames.MambaLayerAttribute);
        var state = compilation.GetTypeByMetadataName(TypeNames.StateTensorAttribute);
        var backend = compilation.GetTypeByMetadataName(TypeNames.MambaAttentionBackend);
        return mambaBase is null || layer is null || state is null || backend is null ? null : new MambaSymbols(mambaBase, layer, state, backend);
    }

    public bool DerivesFromMambaBase(ITypeSymbol type) => DerivesFrom(type, MambaBase);

    public bool DerivesFromMambaAttentionBackend(ITypeSymbol type) => DerivesFrom(type, MambaAttentionBackend);

    public AttributeData? FindMambaLayerAttribute(ISymbol symbol) => Find(symbol, MambaLayerAttribute);

    public AttributeData? FindStateTensorAttribute(ISymbol symbol) => Find(symbol, StateTensorAttribute);

    private static bool DerivesFrom(ITypeSymbol type, INamedTypeSymbol baseType)
    {
        // The definition, so that an open generic such as typeof(Backend<>) still shows its base class.
        for (var t = type.OriginalDefinition.BaseType; t is not null; t = t.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(t.OriginalDefinition, baseType))
            {
                return true;
            }
        }

        return false;
    }

    private static AttributeData? Find(ISymbol symbol, INamedTypeSymbol attributeType)
    {
        foreach (var attribute in symbol.GetAttributes())
        {
            if (SymbolEqualityComparer.Default.Equals(attribute.AttributeClass, attributeType))
            {
                return attribute;
            }
        }

        return null;
    }
}
