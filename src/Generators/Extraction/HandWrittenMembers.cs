using MambaGen.Declarations;
using System.Linq;
using Microsoft.CodeAnalysis;
using MambaGen.Generators.Model;

namespace MambaGen.Generators.Extraction;

/// <summary>
/// Finds members the user already wrote, so the generator leaves them out instead of emitting a duplicate
/// (CS0111/CS0102) or overriding a sealed member (CS0239); the analyzer warns about them.
/// </summary>
internal static class HandWrittenMembers
{
    /// <summary>The <c>MambaBase</c> overrides still to generate for <paramref name="layer"/>.</summary>
    public static GeneratedOverrides OverridesToGenerate(INamedTypeSymbol layer)
    {
        var overrides = GeneratedOverrides.All;
        if (IsTaken(layer, "MambaType", isMethod: false))
        {
            overrides &= ~GeneratedOverrides.MambaType;
        }

        if (IsTaken(layer, "GetStateShape", isMethod: true))
        {
            overrides &= ~GeneratedOverrides.GetStateShape;
        }

        if (IsTaken(layer, "GetStateDtype", isMethod: true))
        {
            overrides &= ~GeneratedOverrides.GetStateDtype;
        }

        if (IsTaken(layer, "GetAttnBackend", isMethod: true))
        {
            overrides &= ~GeneratedOverrides.GetAttnBackend;
        }

        if (IsTaken(layer, "GetStateNames", isMethod: true))
        {
            overrides &= ~GeneratedOverrides.GetStateNames;
        }

        return overrides;
    }

    /// <summary>True when a member named <paramref name="name"/> exists in the layer or a visible one in its bases,
    /// so a generated property of that name would clash with or hide it; or when the layer or one of its type
    /// parameters has that name, which no member may take (CS0542, CS0102).</summary>
    public static bool IsNameTaken(INamedTypeSymbol layer, string name)
    {
        if (!layer.GetMembers(name).IsEmpty || layer.Name == name || layer.TypeParameters.Any(p => p.Name == name))
        {
            return true;
        }

        for (var type = layer.BaseType; type is not null; type = type.BaseType)
        {
            foreach (var member in type.GetMembers(name))
            {
                if (member.DeclaredAccessibility != Accessibility.Private)
                {
                    return true;
                }
            }
        }

        return false;
    }

    // An override is taken when the layer declares the name itself (a parameterless method for methods), or a base
    // between the layer and MambaBase sealed it.
    private static bool IsTaken(INamedTypeSymbol layer, string name, bool isMethod)
    {
        foreach (var member in layer.GetMembers(name))
        {
            if (!isMethod || member is not IMethodSymbol method || (method.Parameters.IsEmpty && method.TypeParameters.IsEmpty))
            {
                return true;
            }
        }

        for (var type = layer.BaseType; type is not null && !SymbolNames.Is(type, TypeNames.MambaBase); type = type.BaseType)
        {
            foreach (var member in type.GetMembers(name))
            {
                if (member.IsSealed && member.IsOverride)
                {
                    return true;
                }
            }
        }

        return false;
    }
}
