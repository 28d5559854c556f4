using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0013: [StateTensor] in a class the generator never reads.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StateTensorOutsideLayerAnalyzer : MambaAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.StateTensorOutsideLayer);

    private protected override void AnalyzeType(SymbolAnalysisContext context, INamedTypeSymbol type, MambaSymbols symbols)
    {
        if (symbols.FindMambaLayerAttribute(type) is not null)
        {
            return;
        }

        foreach (var state in StateTensorMember.Collect(type, symbols, context.CancellationToken))
        {
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.StateTensorOutsideLayer, state.Member.Locations[0], state.Member.Name, type.Name));
        }
    }
}
