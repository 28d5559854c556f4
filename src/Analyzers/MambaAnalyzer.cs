using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;

namespace MambaGen.Analyzers;

/// <summary>The shared frame of every MambaGen analyzer: resolve the runtime types once per compilation, skip
/// projects without MambaGen, and look at each named type.</summary>
public abstract class MambaAnalyzer : DiagnosticAnalyzer
{
    public sealed override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var symbols = MambaSymbols.Resolve(start.Compilation);
            if (symbols is null)
            {
                return;
            }

            start.RegisterSymbolAction(c => AnalyzeType(c, (INamedTypeSymbol)c.Symbol, symbols), SymbolKind.NamedType);
        });
    }

    private protected abstract void AnalyzeType(SymbolAnalysisContext context, INamedTypeSymbol type, MambaSymbols symbols);
}
