using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Analyzers.Inspection;

namespace MambaGen.Analyzers.Rules;

/// <summary>MG0001: a concrete MambaBase subclass that neither implements the layer members nor asks the generator to.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class MissingLayerMembersAnalyzer : MambaAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.MambaBaseMembersMissing);

    private protected override void AnalyzeType(SymbolAnalysisContext context, INamedTypeSymbol type, MambaSymbols symbols)
    {
        if (type.TypeKind != TypeKind.Class || type.IsAbstract || !symbols.DerivesFromMambaBase(type) || symbols.FindMambaLayerAttribute(type) is not null)
        {
            return;
        }

        // Only MambaBase's own abstract members are the generator's to write.
        var missing = UnimplementedMembers.Of(type)
            .Where(m => SymbolEqualityComparer.Default.Equals(m.ContainingType, symbols.MambaBase))
            .OrderBy(m => GeneratedMemberNames.InWrittenOrder.IndexOf(m.Name))
            .Select(m => m is IMethodSymbol ? m.Name + "()" : m.Name)
            .ToList();
        var location = GeneratedCodeDetector.FirstHandWrittenLocation(type, context.CancellationToken);
        if (missing.Count == 0 || location is null)
        {
            return;
        }

        context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.MambaBaseMembersMissing, location, type.Name, string.Join(", ", missing)));
    }
}
