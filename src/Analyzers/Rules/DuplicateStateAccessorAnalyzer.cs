using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0014: two states whose names differ only by a trailing "Shape" would get one accessor twice.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class DuplicateStateAccessorAnalyzer : MambaLayerAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.DuplicateStateAccessor);

    private protected override void AnalyzeLayer(SymbolAnalysisContext context, MambaLayerDeclaration layer, MambaSymbols symbols)
    {
        var firstByAccessor = new Dictionary<string, StateTensorMember>();
        foreach (var state in StateTensorMember.Collect(layer.Type, symbols, context.CancellationToken))
        {
            if (firstByAccessor.TryGetValue(state.AccessorName, out var first))
            {
                context.ReportDiagnostic(Diagnostic.Create(
                    DiagnosticDescriptors.DuplicateStateAccessor, state.Member.Locations[0], new[] { first.Member.Locations[0] }, state.Member.Name, first.Member.Name, state.AccessorName));
            }
            else
            {
                firstByAccessor.Add(state.AccessorName, state);
            }
        }
    }
}
