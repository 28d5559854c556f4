using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;
using MambaGen.Declarations;

namespace MambaGen.Analyzers;

/// <summary>
/// An analyzer of classes marked [MambaLayer]: reports, from the problems <see cref="LayerDeclarationReader"/> found
/// (the reader the generator uses), those whose IDs it supports. Each layer is read once per compilation, however many
/// analyzers look at it.
/// </summary>
public abstract class MambaLayerAnalyzer : MambaAnalyzer
{
    private static readonly ConditionalWeakTable<Compilation, ConcurrentDictionary<INamedTypeSymbol, LayerDeclaration?>> Reads = new();

    private protected sealed override void AnalyzeType(SymbolAnalysisContext context, INamedTypeSymbol type, MambaSymbols symbols)
    {
        var declaration = Read(context.Compilation, type, symbols, context.CancellationToken);
        if (declaration is null)
        {
            return;
        }

        foreach (var problem in declaration.Problems)
        {
            if (SupportedDiagnostics.Contains(problem.Descriptor))
            {
                context.ReportDiagnostic(problem.ToDiagnostic());
            }
        }
    }

    private static LayerDeclaration? Read(Compilation compilation, INamedTypeSymbol type, MambaSymbols symbols, CancellationToken cancellationToken)
    {
        var reads = Reads.GetValue(compilation, static _ => new ConcurrentDictionary<INamedTypeSymbol, LayerDeclaration?>(SymbolEqualityComparer.Default));
        if (reads.TryGetValue(type, out var declaration))
        {
            return declaration;
        }

        var attribute = symbols.FindMambaLayerAttribute(type);
        declaration = attribute is null ? null : LayerDeclarationReader.Read(type, attribute, compilation, forGenerator: false, cancellationToken);
        return reads.GetOrAdd(type, declaration);
    }
}
