using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;

namespace MambaGen.Analyzers;

/// <summary>An analyzer that only looks at classes marked [MambaLayer].</summary>
public abstract class MambaLayerAnalyzer : MambaAnalyzer
{
    private protected sealed override void AnalyzeType(SymbolAnalysisContext context, INamedTypeSymbol type, MambaSymbols symbols)
    {
        var layer = MambaLayerDeclaration.Find(type, symbols, context.CancellationToken);
        if (layer is not null)
        {
            AnalyzeLayer(context, layer, symbols);
        }
    }

    private protected abstract void AnalyzeLayer(SymbolAnalysisContext context, MambaLayerDeclaration layer, MambaSymbols symbols);
}
