using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0009: a hand-written member with the name of one the generator writes for the layer.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class GeneratedMemberCollisionAnalyzer : MambaLayerAnalyzer
{
    private const string OverrideOrigin = "the [MambaLayer] override of MambaBase.";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.GeneratedMemberCollision);

    private protected override void AnalyzeLayer(SymbolAnalysisContext context, MambaLayerDeclaration layer, MambaSymbols symbols)
    {
        var accessorOwners = new Dictionary<string, string>();
        foreach (var state in StateTensorMember.Collect(layer.Type, symbols, context.CancellationToken))
        {
            if (!accessorOwners.ContainsKey(state.AccessorName))
            {
                accessorOwners.Add(state.AccessorName, state.Member.Name);
            }
        }

        foreach (var member in layer.Type.GetMembers())
        {
            if (member.IsImplicitlyDeclared || member is INamedTypeSymbol || member is IMethodSymbol { MethodKind: not MethodKind.Ordinary })
            {
                continue;
            }

            var origin = GeneratedOrigin(member, accessorOwners);
            if (origin is null || GeneratedCodeDetector.IsGenerated(member, context.CancellationToken))
            {
                continue;
            }

            var location = GeneratedCodeDetector.FirstHandWrittenLocation(member, context.CancellationToken);
            if (location is not null)
            {
                context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.GeneratedMemberCollision, location, member.Name, origin));
            }
        }
    }

    /// <summary>Which generated member <paramref name="member"/> would clash with, in words; null when none.</summary>
    private static string? GeneratedOrigin(ISymbol member, Dictionary<string, string> accessorOwners)
    {
        if (member.Name == GeneratedMemberNames.MambaType)
        {
            return OverrideOrigin + member.Name;
        }

        // An overload with parameters or type parameters has another signature and does not clash.
        if (GeneratedMemberNames.OverriddenMethods.Contains(member.Name)
            && member is not IMethodSymbol { Parameters.Length: > 0 } and not IMethodSymbol { IsGenericMethod: true })
        {
            return OverrideOrigin + member.Name + "()";
        }

        return accessorOwners.TryGetValue(member.Name, out var state) ? $"the accessor of state '{state}'" : null;
    }
}
