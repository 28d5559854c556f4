using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0004: a mamba type with no built-in backend and no custom one.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnknownMambaTypeAnalyzer : MambaLayerAnalyzer
{
    private static readonly string KnownNames = string.Join(", ", KnownMambaTypes.All.Select(t => t.Name));

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.UnknownMambaType);

    private protected override void AnalyzeLayer(SymbolAnalysisContext context, MambaLayerDeclaration layer, MambaSymbols symbols)
    {
        if (layer.Backend is not null || layer.KnownType is not null)
        {
            return;
        }

        var suggestion = EditDistance.NearestKnownMambaType(layer.MambaType);
        var properties = ImmutableDictionary<string, string?>.Empty.Add(DiagnosticPropertyKeys.SuggestedMambaType, suggestion);
        context.ReportDiagnostic(Diagnostic.Create(
            DiagnosticDescriptors.UnknownMambaType, layer.MambaTypeLocation, properties, layer.MambaType ?? "null", suggestion, KnownNames));
    }
}
