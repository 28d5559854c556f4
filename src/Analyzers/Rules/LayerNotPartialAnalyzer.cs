using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0002: the generator adds a second part to the layer, so the layer and every type around it must be partial.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class LayerNotPartialAnalyzer : MambaLayerAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.LayerNotPartial);

    private protected override void AnalyzeLayer(SymbolAnalysisContext context, MambaLayerDeclaration layer, MambaSymbols symbols)
    {
        var notPartial = new List<string>();
        for (INamedTypeSymbol? type = layer.Type; type is not null; type = type.ContainingType)
        {
            if (!IsPartialEverywhere(type, context.CancellationToken))
            {
                notPartial.Add($"'{type.Name}'");
            }
        }

        // Report on a hand-written declaration of the layer: that is where the fix starts.
        var location = GeneratedCodeDetector.FirstHandWrittenLocation(layer.Type, context.CancellationToken);
        if (notPartial.Count == 0 || location is null)
        {
            return;
        }

        var subject = notPartial.Count == 1 ? notPartial[0] + " is" : string.Join(", ", notPartial) + " are";
        context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.LayerNotPartial, location, layer.Type.Name, subject));
    }

    private static bool IsPartialEverywhere(INamedTypeSymbol type, CancellationToken cancellationToken) =>
        type.DeclaringSyntaxReferences
            .Select(r => r.GetSyntax(cancellationToken))
            .OfType<TypeDeclarationSyntax>()
            .All(d => d.Modifiers.Any(SyntaxKind.PartialKeyword));
}
