using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MambaGen.Declarations;
using MambaGen.Diagnostics;
using MambaGen.Generators.Extraction;

namespace MambaGen.Generators.Reporting;

/// <summary>
/// MG0001, reported by the generator itself (MG0002 comes from the layer reader through <see cref="Extraction.LayerModelExtractor"/>). Both describe a class the generator cannot complete, so the
/// compiler reports CS0534 on it, and a command-line build does not run analyzers on a compilation with errors: an
/// analyzer's MG0001/MG0002 would only ever be seen in the IDE. A generator's diagnostics are reported in every build.
/// </summary>
internal static class CommandLineDiagnostics
{
    /// <summary>Cheap syntactic filter for MG0001: a non-abstract, non-static class with a base list and no attribute
    /// spelled like [MambaLayer] (those are the layer pipeline's).</summary>
    public static bool MayLackLayerMembers(SyntaxNode node) =>
        node is ClassDeclarationSyntax { BaseList: not null } declaration
        && !declaration.Modifiers.Any(SyntaxKind.AbstractKeyword)
        && !declaration.Modifiers.Any(SyntaxKind.StaticKeyword)
        && !HasAttributeNamedLikeMambaLayer(declaration);

    /// <summary>MG0001: a concrete MambaBase subclass without [MambaLayer] that leaves MambaBase members unimplemented.</summary>
    public static ReportedDiagnostic? MissingLayerMembers(GeneratorSyntaxContext context, CancellationToken cancellationToken)
    {
        var declaration = (ClassDeclarationSyntax)context.Node;
        if (context.SemanticModel.GetDeclaredSymbol(declaration, cancellationToken) is not INamedTypeSymbol { TypeKind: TypeKind.Class, IsAbstract: false } type
            || !SymbolNames.DerivesFrom(type, TypeNames.MambaBase)
            || HasLayerAttribute(type)

            // A look-alike MambaBase in a project without MambaGen's attributes is not MambaGen's.
            || context.SemanticModel.Compilation.GetTypeByMetadataName(TypeNames.MambaLayerAttribute) is null)
        {
            return null;
        }

        // One report per class: from the declaration holding its first hand-written location.
        var location = GeneratedCodeDetector.FirstHandWrittenLocation(type, cancellationToken);
        if (location is null || location.SourceTree != declaration.SyntaxTree || !declaration.Span.Contains(location.SourceSpan))
        {
            return null;
        }

        // Only MambaBase's own abstract members are the generator's to write.
        var missing = UnimplementedMembers.Of(type)
            .Where(m => SymbolNames.Is(m.ContainingType, TypeNames.MambaBase))
            .OrderBy(m => LayerDeclarationReader.OverrideNames.IndexOf(m.Name))
            .Select(m => m is IMethodSymbol ? m.Name + "()" : m.Name)
            .ToList();
        return missing.Count == 0
            ? null
            : ReportedDiagnostic.Create(DiagnosticDescriptors.MambaBaseMembersMissing, location, type.Name, string.Join(", ", missing));
    }

    private static bool HasLayerAttribute(INamedTypeSymbol type) =>
        type.GetAttributes().Any(a => SymbolNames.Is(a.AttributeClass, TypeNames.MambaLayerAttribute));

    private static bool HasAttributeNamedLikeMambaLayer(ClassDeclarationSyntax declaration)
    {
        foreach (var list in declaration.AttributeLists)
        {
            foreach (var attribute in list.Attributes)
            {
                var name = attribute.Name switch
                {
                    QualifiedNameSyntax qualified => qualified.Right.Identifier.ValueText,
                    AliasQualifiedNameSyntax alias => alias.Name.Identifier.ValueText,
                    SimpleNameSyntax simple => simple.Identifier.ValueText,
                    _ => string.Empty,
                };
                if (name is "MambaLayer" or "MambaLayerAttribute")
                {
                    return true;
                }
            }
        }

        return false;
    }
}
