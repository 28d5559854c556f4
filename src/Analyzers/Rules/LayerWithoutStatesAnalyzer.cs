using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0007: a layer with no [StateTensor] member has nothing to cache.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class LayerWithoutStatesAnalyzer : MambaLayerAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.LayerWithoutStates);

    private protected override void AnalyzeLayer(SymbolAnalysisContext context, MambaLayerDeclaration layer, MambaSymbols symbols)
    {
        if (StateTensorMember.Collect(layer.Type, symbols, context.CancellationToken).IsEmpty
            && GeneratedCodeDetector.FirstHandWrittenLocation(layer.Type, context.CancellationToken) is { } location)
        {
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.LayerWithoutStates, location, layer.Type.Name));
        }
    }
}
