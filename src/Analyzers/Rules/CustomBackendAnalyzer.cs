using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0011 and MG0012: a custom Backend the generated GetAttnBackend() cannot return or create.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CustomBackendAnalyzer : MambaLayerAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.BackendNotMambaAttentionBackend, DiagnosticDescriptors.BackendNotConstructible);

    private protected override void AnalyzeLayer(SymbolAnalysisContext context, MambaLayerDeclaration layer, MambaSymbols symbols)
    {
        if (layer.Backend is not { TypeKind: not TypeKind.Error } backend)
        {
            return;
        }

        var backendName = backend.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
        if (!symbols.DerivesFromMambaAttentionBackend(backend))
        {
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.BackendNotMambaAttentionBackend, layer.BackendLocation, backendName, layer.Type.Name));
            return;
        }

        var reason = WhyNotConstructible(backend);
        if (reason is not null)
        {
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.BackendNotConstructible, layer.BackendLocation, backendName, layer.Type.Name, reason));
        }
    }

    /// <summary>Why <c>new T()</c> fails for the backend, as the end of "Backend 'T' ..."; null when it works.</summary>
    private static string? WhyNotConstructible(ITypeSymbol backend)
    {
        if (backend.IsAbstract)
        {
            return "is abstract";
        }

        if (backend is INamedTypeSymbol { IsUnboundGenericType: true })
        {
            return "is an open generic type";
        }

        var hasPublicParameterless = backend is INamedTypeSymbol named
            && named.InstanceConstructors.Any(c => c.Parameters.IsEmpty && c.DeclaredAccessibility == Accessibility.Public);
        return hasPublicParameterless ? null : "has no public parameterless constructor";
    }
}
