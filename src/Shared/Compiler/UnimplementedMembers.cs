#if MAMBAGEN_COMPILER
// Compiled into the generator and the analyzers only (src/Runtime also compiles src/Shared; it has no Roslyn).
using System.Collections.Generic;
using Microsoft.CodeAnalysis;

namespace MambaGen;

/// <summary>The abstract members a class inherits and nothing in its hierarchy overrides.</summary>
internal static class UnimplementedMembers
{
    public static List<ISymbol> Of(INamedTypeSymbol type)
    {
        // Walk from the class up: an override seen lower in the hierarchy settles the members it overrides.
        var settled = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
        var missing = new List<ISymbol>();
        for (var t = type; t is not null; t = t.BaseType)
        {
            foreach (var member in t.GetMembers())
            {
                // Accessors come with their property or event.
                if (member is IMethodSymbol { AssociatedSymbol: not null })
                {
                    continue;
                }

                if (member.IsAbstract && !settled.Contains(member))
                {
                    missing.Add(member);
                }

                if (member.IsOverride)
                {
                    for (var overridden = Overridden(member); overridden is not null; overridden = Overridden(overridden))
                    {
                        settled.Add(overridden);
                    }
                }
            }
        }

        return missing;
    }

    private static ISymbol? Overridden(ISymbol member) => member switch
    {
        IMethodSymbol method => method.OverriddenMethod,
        IPropertySymbol property => property.OverriddenProperty,
        IEventSymbol @event => @event.OverriddenEvent,
        _ => null,
    };
}
#endif
