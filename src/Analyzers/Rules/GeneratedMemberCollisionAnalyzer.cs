using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0009: a hand-written member with the name of one the generator writes for the layer.</summary>
/// <remarks>The check itself is in <see cref="Declarations.LayerDeclarationReader"/>, which the generator shares.</remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class GeneratedMemberCollisionAnalyzer : MambaLayerAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.GeneratedMemberCollision);
}
