#if MAMBAGEN_COMPILER
// Compiled into the generator and the analyzers only (src/Runtime also compiles src/Shared; it has no Roslyn).
using Microsoft.CodeAnalysis;

namespace MambaGen.Declarations;

/// <summary>Recognises MambaGen's runtime types by metadata name, without resolving them from the compilation.</summary>
internal static class SymbolChecks
{
    /// <summary>True when <paramref name="type"/> is the type with <paramref name="metadataName"/> (e.g. <c>MambaGen.MambaBase</c>).</summary>
    public static bool Is(ITypeSymbol? type, string metadataName)
    {
        if (type is null || type.ContainingType is not null)
        {
            return false;
        }

        int dot = metadataName.LastIndexOf('.');
        string ns = dot < 0 ? string.Empty : metadataName.Substring(0, dot);
        string name = metadataName.Substring(dot + 1);
        return type.MetadataName == name && NamespaceOf(type.ContainingNamespace) == ns;
    }

    /// <summary>True when <paramref name="type"/> (its definition, for an open generic) is <paramref name="metadataName"/> or derives from it.</summary>
    public static bool DerivesFrom(ITypeSymbol type, string metadataName)
    {
        for (ITypeSymbol? t = type.OriginalDefinition; t is not null; t = t.BaseType?.OriginalDefinition)
        {
            if (Is(t, metadataName))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The dotted namespace name, empty for the global namespace.</summary>
    public static string NamespaceOf(INamespaceSymbol? ns)
    {
        if (ns is null || ns.IsGlobalNamespace)
        {
            return string.Empty;
        }

        string parent = NamespaceOf(ns.ContainingNamespace);
        return parent.Length == 0 ? ns.MetadataName : parent + "." + ns.MetadataName;
    }
}
#endif
