using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0016: a state Dtype cast from a number that is no StateDtype value.</summary>
/// <remarks>The check itself is in <see cref="Declarations.LayerDeclarationReader"/>, which the generator shares.</remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class UnknownStateDtypeAnalyzer : MambaLayerAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.UnknownStateDtype);
}
