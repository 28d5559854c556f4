using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0006: a [StateTensor] member the generator cannot read a shape from.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnsupportedStateShapeAnalyzer : MambaLayerAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.UnsupportedStateShape);

    private protected override void AnalyzeLayer(SymbolAnalysisContext context, MambaLayerDeclaration layer, MambaSymbols symbols)
    {
        foreach (var state in StateTensorMember.Collect(layer.Type, symbols, context.CancellationToken))
        {
            var reason = WhyNoShape(state.Member);
            if (reason is not null)
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.UnsupportedStateShape, state.Member.Locations[0], state.Member.Name, reason));
            }
        }
    }

    /// <summary>Why the member cannot give a shape, as the end of "it ..."; null when it can.</summary>
    private static string? WhyNoShape(ISymbol member) => member switch
    {
        IFieldSymbol field => WhyNotShapeType(field.Type),
        IPropertySymbol { GetMethod: null } => "is write-only",
        IPropertySymbol { Parameters.Length: > 0 } => "is an indexer",
        IPropertySymbol property => WhyNotShapeType(property.Type),
        IMethodSymbol { MethodKind: not MethodKind.Ordinary } => "is not an ordinary method",
        IMethodSymbol { Parameters.Length: > 0 } => "takes parameters",
        IMethodSymbol { IsGenericMethod: true } => "is generic",
        IMethodSymbol method => WhyNotShapeType(method.ReturnType),
        _ => "is not a field, property or method",
    };

    private static string? WhyNotShapeType(ITypeSymbol type)
    {
        if (type.TypeKind == TypeKind.Error)
        {
            return null; // The compiler already reports the missing type.
        }

        var isShape = type switch
        {
            IArrayTypeSymbol { Rank: 1 } array => IsInteger(array.ElementType),
            INamedTypeSymbol { IsTupleType: true } tuple => tuple.TupleElements.All(e => IsInteger(e.Type)),
            _ => false,
        };
        return isShape ? null : $"has type '{type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}'";
    }

    private static bool IsInteger(ITypeSymbol type) => type.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64;
}
