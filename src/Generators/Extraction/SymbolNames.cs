using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using MambaGen.Declarations;

namespace MambaGen.Generators.Extraction;

/// <summary>How symbols are named in the generated code and in hint names.</summary>
internal static class SymbolNames
{
    // Name plus type parameters, keywords escaped with '@': the form a partial re-declaration needs.
    private static readonly SymbolDisplayFormat DeclarationFormat = new(
        typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameOnly,
        genericsOptions: SymbolDisplayGenericsOptions.IncludeTypeParameters,
        miscellaneousOptions: SymbolDisplayMiscellaneousOptions.EscapeKeywordIdentifiers);

    private static readonly SymbolDisplayFormat NamespaceFormat = new(
        typeQualificationStyle: SymbolDisplayTypeQualificationStyle.NameAndContainingTypesAndNamespaces,
        miscellaneousOptions: SymbolDisplayMiscellaneousOptions.EscapeKeywordIdentifiers);

    /// <summary>True when <paramref name="type"/> is the type with <paramref name="metadataName"/> (e.g. <c>MambaGen.MambaBase</c>).</summary>
    public static bool Is(ITypeSymbol? type, string metadataName) => SymbolChecks.Is(type, metadataName);

    /// <summary>True when <paramref name="type"/> is <paramref name="metadataName"/> or derives from it.</summary>
    public static bool DerivesFrom(ITypeSymbol type, string metadataName) => SymbolChecks.DerivesFrom(type, metadataName);

    /// <summary>The type as a partial re-declaration names it: <c>Layer&lt;T&gt;</c>.</summary>
    public static string DeclarationName(INamedTypeSymbol type) => type.ToDisplayString(DeclarationFormat);

    /// <summary>The namespace as written in a <c>namespace</c> declaration, or null for the global namespace.</summary>
    public static string? NamespaceDeclaration(INamespaceSymbol ns) => ns.IsGlobalNamespace ? null : ns.ToDisplayString(NamespaceFormat);

    /// <summary>An identifier usable in C#: keywords get an '@'.</summary>
    public static string Identifier(string name) =>
        SyntaxFacts.GetKeywordKind(name) != SyntaxKind.None ? "@" + name : name;

    /// <summary>The fully qualified metadata name (<c>Ns.Outer+Layer`1</c>): unique per type, so unique per generated file.</summary>
    public static string MetadataName(INamedTypeSymbol type)
    {
        var builder = new StringBuilder(type.MetadataName);
        for (var outer = type.ContainingType; outer is not null; outer = outer.ContainingType)
        {
            builder.Insert(0, outer.MetadataName + "+");
        }

        string ns = SymbolChecks.NamespaceOf(type.ContainingNamespace);
        return ns.Length == 0 ? builder.ToString() : ns + "." + builder;
    }
}
