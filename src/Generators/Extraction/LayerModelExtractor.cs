using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using MambaGen.Declarations;
using MambaGen.Diagnostics;
using MambaGen.Generators.Helpers;
using MambaGen.Generators.Model;
using MambaGen.Generators.Reporting;

namespace MambaGen.Generators.Extraction;

/// <summary>
/// Reads a <c>[MambaLayer]</c> class with the shared <see cref="LayerDeclarationReader"/>
/// (the analyzers read it with the same code) and turns the result into equatable values. A class the generator cannot
/// add a part to gets no model; one it can extend but whose declaration has problems gets a model without a spec (the
/// fallback part). The problems it reports itself (<see cref="DiagnosticIds.ReportedByGenerator"/>) come along.
/// </summary>
internal static class LayerModelExtractor
{
    /// <summary>Ending of every generated file's hint name.</summary>
    public const string HintNameSuffix = ".g.cs";

    public static LayerExtraction Extract(INamedTypeSymbol layer, AttributeData attribute, Compilation compilation, CancellationToken cancellationToken)
    {
        var declaration = LayerDeclarationReader.Read(layer, attribute, compilation, forGenerator: true, cancellationToken);
        var reports = Reports(declaration);
        if (!declaration.CanExtend)
        {
            return new LayerExtraction(null, reports);
        }

        var model = new LayerModel(
            HintName(layer),
            SymbolNames.NamespaceDeclaration(layer.ContainingNamespace),
            ContainingTypes(layer),
            new TypeDeclarationModel("class", SymbolNames.DeclarationName(layer)),
            layer.ToDisplayString(),
            HandWrittenMembers.OverridesToGenerate(layer),
            declaration.IsValid ? Spec(declaration) : null,
            declaration.IsValid ? EquatableArray<string>.Empty : BrokenRules(declaration),
            compilation is CSharpCompilation { LanguageVersion: >= LanguageVersion.CSharp8 });
        return new LayerExtraction(model, reports);
    }

    private static EquatableArray<ReportedDiagnostic> Reports(LayerDeclaration declaration)
    {
        var reports = new List<ReportedDiagnostic>();
        foreach (var problem in declaration.Problems)
        {
            if (DiagnosticIds.ReportedByGenerator.Contains(problem.Descriptor.Id))
            {
                var arguments = problem.Arguments.Select(a => System.Convert.ToString(a, CultureInfo.InvariantCulture) ?? string.Empty).ToArray();
                reports.Add(ReportedDiagnostic.Create(problem.Descriptor, problem.Location, arguments));
            }
        }

        return new EquatableArray<ReportedDiagnostic>(reports.ToArray());
    }

    // The metadata name (unique per type), with anything but letters, digits and . + ` - _ replaced: an invalid hint
    // name makes AddSource throw, which would drop every layer's output (CS8785).
    private static string HintName(INamedTypeSymbol layer)
    {
        var name = SymbolNames.MetadataName(layer).ToCharArray();
        for (int i = 0; i < name.Length; i++)
        {
            if (!char.IsLetterOrDigit(name[i]) && name[i] is not ('.' or '+' or '`' or '-' or '_'))
            {
                name[i] = '_';
            }
        }

        return new string(name) + HintNameSuffix;
    }

    private static EquatableArray<string> BrokenRules(LayerDeclaration declaration) => new(
        declaration.Problems
            .Where(p => LayerDeclarationReader.BlocksGeneration(p.Descriptor))
            .Select(p => p.Descriptor.Id)
            .Distinct()
            .OrderBy(id => id, System.StringComparer.Ordinal)
            .ToArray());

    // States in GetStateShape order: explicit Order ascending, then the rest in declaration order.
    private static LayerSpec Spec(LayerDeclaration declaration)
    {
        var ordered = LayerDeclarationReader.InStateOrder(declaration.States);
        var states = new StateTensorModel[ordered.Length];
        for (int i = 0; i < states.Length; i++)
        {
            var s = ordered[i];
            states[i] = new StateTensorModel(
                s.Member.Name, s.MemberKind, s.ShapeKind, s.TupleArity, s.Dtype, s.AccessorName, !HandWrittenMembers.IsNameTaken(declaration.Type, s.AccessorName));
        }

        return new LayerSpec(declaration.MambaType!, declaration.BackendTypeName!, new EquatableArray<StateTensorModel>(states));
    }

    private static EquatableArray<TypeDeclarationModel> ContainingTypes(INamedTypeSymbol layer)
    {
        var chain = new List<TypeDeclarationModel>();
        for (var type = layer.ContainingType; type is not null; type = type.ContainingType)
        {
            chain.Insert(0, new TypeDeclarationModel(Keyword(type), SymbolNames.DeclarationName(type)));
        }

        return new EquatableArray<TypeDeclarationModel>(chain.ToArray());
    }

    private static string Keyword(INamedTypeSymbol type) => type.TypeKind switch
    {
        TypeKind.Struct => type.IsRecord ? "record struct" : "struct",
        TypeKind.Interface => "interface",
        _ => type.IsRecord ? "record" : "class",
    };
}
