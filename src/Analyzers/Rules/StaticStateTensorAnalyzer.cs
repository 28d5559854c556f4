using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0005: a static [StateTensor] member cannot read the layer's sizes.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StaticStateTensorAnalyzer : MambaLayerAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.StaticStateTensor);

    private protected override void AnalyzeLayer(SymbolAnalysisContext context, MambaLayerDeclaration layer, MambaSymbols symbols)
    {
        foreach (var state in StateTensorMember.Collect(layer.Type, symbols, context.CancellationToken))
        {
            if (state.Member.IsStatic)
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.StaticStateTensor, state.Member.Locations[0], state.Member.Name));
            }
        }
    }
}
