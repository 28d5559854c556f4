using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MambaGen.Declarations;
using MambaGen.Diagnostics;
using MambaGen.Generators.Extraction;
using MambaGen.Generators.Incremental;

namespace MambaGen.Generators.Reporting;

/// <summary>
/// MG0001, reported by the generator itself (MG0002 and MG0018-MG0020 come from the layer reader, through
/// <see cref="Extraction.LayerModelExtractor"/>). Each describes a class the generator cannot complete, so the compiler
/// reports CS0534 on it, and a command-line build does not run analyzers on a compilation with errors: an analyzer's
/// report would only ever be seen in the IDE. A generator's diagnostics are reported in every build.
/// </summary>
internal static class CommandLineDiagnostics
{
    /// <summary>MG0001 for <paramref name="declaration"/> (a non-abstract class with a base list and no attribute spelled
    /// like [MambaLayer]): a concrete MambaBase subclass without [MambaLayer] that leaves MambaBase members unimplemented.</summary>
    public static ReportedDiagnostic? MissingLayerMembers(ClassDeclarationSyntax declaration, Compilation compilation, DependencyTrees dependencies, CancellationToken cancellationToken)
    {
        var model = compilation.GetSemanticModel(declaration.SyntaxTree);
        if (model.GetDeclaredSymbol(declaration, cancellationToken) is not INamedTypeSymbol { TypeKind: TypeKind.Class } type)
        {
            return null;
        }

        dependencies.AddTypeAndBases(type, cancellationToken);
        if (type.IsAbstract || !SymbolNames.DerivesFrom(type, TypeNames.MambaBase) || HasLayerAttribute(type))
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
}
