using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0008: two states asking for the same position in GetStateShape().</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class DuplicateStateOrderAnalyzer : MambaLayerAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.DuplicateStateOrder);

    private protected override void AnalyzeLayer(SymbolAnalysisContext context, MambaLayerDeclaration layer, MambaSymbols symbols)
    {
        var firstByOrder = new Dictionary<int, StateTensorMember>();
        foreach (var state in StateTensorMember.Collect(layer.Type, symbols, context.CancellationToken))
        {
            if (state.Order is not { } order)
            {
                continue;
            }

            // The first state keeps its Order; every later one with the same Order is the one to change.
            if (firstByOrder.TryGetValue(order, out var first))
            {
                context.ReportDiagnostic(Diagnostic.Create(
                    DiagnosticDescriptors.DuplicateStateOrder, state.OrderLocation, new[] { first.OrderLocation }, state.Member.Name, order, first.Member.Name));
            }
            else
            {
                firstByOrder.Add(order, state);
            }
        }
    }
}
