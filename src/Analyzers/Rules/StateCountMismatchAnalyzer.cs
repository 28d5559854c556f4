using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0010: a layer whose number of states differs from what its built-in backend expects.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StateCountMismatchAnalyzer : MambaLayerAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.StateCountMismatch);

    private protected override void AnalyzeLayer(SymbolAnalysisContext context, MambaLayerDeclaration layer, MambaSymbols symbols)
    {
        // A custom backend defines its own states; no states at all is MG0007.
        if (layer.Backend is not null || layer.KnownType is not { } known)
        {
            return;
        }

        var count = StateTensorMember.Collect(layer.Type, symbols, context.CancellationToken).Length;
        if (count > 0 && count != known.StateCount)
        {
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.StateCountMismatch, layer.MambaTypeLocation, known.Name, known.StateCount, layer.Type.Name, count));
        }
    }
}
