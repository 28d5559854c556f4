using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0006: a [StateTensor] member the generator cannot read a shape from.</summary>
/// <remarks>The check itself is in <see cref="Declarations.LayerDeclarationReader"/>, which the generator shares.</remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnsupportedStateShapeAnalyzer : MambaLayerAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.UnsupportedStateShape);
}
