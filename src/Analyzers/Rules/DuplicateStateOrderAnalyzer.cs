using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0008: two states asking for the same position in GetStateShape().</summary>
/// <remarks>The check itself is in <see cref="Declarations.LayerDeclarationReader"/>, which the generator shares.</remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class DuplicateStateOrderAnalyzer : MambaLayerAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.DuplicateStateOrder);
}
