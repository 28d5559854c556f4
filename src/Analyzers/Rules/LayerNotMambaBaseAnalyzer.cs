using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0003: [MambaLayer] on a class that has no MambaBase members to override.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class LayerNotMambaBaseAnalyzer : MambaLayerAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.LayerNotMambaBase);

    private protected override void AnalyzeLayer(SymbolAnalysisContext context, MambaLayerDeclaration layer, MambaSymbols symbols)
    {
        if (layer.Type.TypeKind == TypeKind.Class && !symbols.DerivesFromMambaBase(layer.Type))
        {
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.LayerNotMambaBase, layer.AttributeLocation, layer.Type.Name));
        }
    }
}
