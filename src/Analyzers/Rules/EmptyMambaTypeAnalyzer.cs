using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0015: a custom Backend with an empty or null mamba type, which MambaType would return.</summary>
/// <remarks>The check itself is in <see cref="Declarations.LayerDeclarationReader"/>, which the generator shares.</remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class EmptyMambaTypeAnalyzer : MambaLayerAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.EmptyMambaType);
}
