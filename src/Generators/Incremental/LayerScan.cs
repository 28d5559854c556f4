using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MambaGen.Declarations;
using MambaGen.Generators.Extraction;
using MambaGen.Generators.Helpers;
using MambaGen.Generators.Model;
using MambaGen.Generators.Reporting;

namespace MambaGen.Generators.Incremental;

/// <summary>
/// The generator's reading of a compilation, made cheap for the keystroke that touches no layer: the files are
/// scanned syntactically once per version (<see cref="LayerCandidates"/>), and a class is bound and read again only
/// when a file it depends on changed (<see cref="SemanticCache{T}"/>). Everything else is dictionary look-ups.
/// </summary>
internal static class LayerScan
{
    /// <summary>Every [MambaLayer] class, in file order then position (a stable order, so that the per-layer steps after
    /// this one see an unchanged layer as unchanged).</summary>
    public static EquatableArray<LayerExtraction> Layers(Compilation compilation, CancellationToken cancellationToken)
    {
        var (facts, index, globalAliases) = Prepare(compilation, cancellationToken);
        var layers = new List<LayerExtraction>();
        foreach (var tree in compilation.SyntaxTrees)
        {
            var candidates = LayerCandidates.Of(tree, cancellationToken);
            foreach (var declaration in Candidates(candidates, globalAliases))
            {
                cancellationToken.ThrowIfCancellationRequested();
                layers.Add(SemanticCache<LayerExtraction>.GetOrRead(declaration, compilation, facts, index, deps => ReadLayer(declaration, compilation, deps, cancellationToken)));
            }
        }

        return new EquatableArray<LayerExtraction>(layers.Where(l => !ReferenceEquals(l, LayerExtraction.Nothing)).ToArray());
    }

    /// <summary>MG0001 for every concrete MambaBase subclass that lacks [MambaLayer] and the layer members.</summary>
    public static EquatableArray<ReportedDiagnostic> MissingMembers(Compilation compilation, CancellationToken cancellationToken)
    {
        var (facts, index, globalAliases) = Prepare(compilation, cancellationToken);

        // A look-alike MambaBase in a project without MambaGen's attributes is not MambaGen's.
        if (compilation.GetTypeByMetadataName(TypeNames.MambaLayerAttribute) is null)
        {
            return EquatableArray<ReportedDiagnostic>.Empty;
        }

        var reports = new List<ReportedDiagnostic>();
        foreach (var tree in compilation.SyntaxTrees)
        {
            foreach (var declaration in LayerCandidates.Of(tree, cancellationToken).BaseListClasses)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (globalAliases.Count > 0 && LayerCandidates.HasAttributeNamed(declaration, globalAliases, anyAttribute: false))
                {
                    continue;
                }

                var report = SemanticCache<Box<ReportedDiagnostic>>.GetOrRead(declaration, compilation, facts, index, deps =>
                    new Box<ReportedDiagnostic>(CommandLineDiagnostics.MissingLayerMembers(declaration, compilation, deps, cancellationToken)));
                if (report.Value is { } value)
                {
                    reports.Add(value);
                }
            }
        }

        return new EquatableArray<ReportedDiagnostic>(reports.ToArray());
    }

    // Both pipelines start from the same compilation: prepare once.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Compilation, Prepared> PreparedFor = new();

    private static (CompilationFacts Facts, TypeDeclarationIndex Index, HashSet<string> GlobalAliases) Prepare(Compilation compilation, CancellationToken cancellationToken)
    {
        var prepared = PreparedFor.GetValue(compilation, c => new Prepared(PrepareNow(c, cancellationToken)));
        return prepared.Value;
    }

    private static (CompilationFacts Facts, TypeDeclarationIndex Index, HashSet<string> GlobalAliases) PrepareNow(Compilation compilation, CancellationToken cancellationToken)
    {
        var index = new TypeDeclarationIndex();
        var globalUsingTrees = ImmutableArray.CreateBuilder<SyntaxTree>();
        var globalAliases = new HashSet<string>(System.StringComparer.Ordinal);
        foreach (var tree in compilation.SyntaxTrees)
        {
            var candidates = LayerCandidates.Of(tree, cancellationToken);
            foreach (var name in candidates.TypeNames)
            {
                index.Add(name, tree);
            }

            if (candidates.HasGlobalUsings)
            {
                globalUsingTrees.Add(tree);
            }

            globalAliases.UnionWith(candidates.Aliases);
        }

        return (CompilationFacts.Of(compilation, globalUsingTrees.ToImmutable()), index, globalAliases);
    }

    private static IEnumerable<ClassDeclarationSyntax> Candidates(LayerCandidates candidates, HashSet<string> globalAliases) =>
        globalAliases.Count == 0
            ? candidates.Layers
            : candidates.Layers.Concat(candidates.BaseListClasses.Where(c => LayerCandidates.HasAttributeNamed(c, globalAliases, anyAttribute: false)));

    private static LayerExtraction ReadLayer(ClassDeclarationSyntax declaration, Compilation compilation, DependencyTrees dependencies, CancellationToken cancellationToken)
    {
        var model = compilation.GetSemanticModel(declaration.SyntaxTree);
        if (model.GetDeclaredSymbol(declaration, cancellationToken) is not INamedTypeSymbol layer)
        {
            return LayerExtraction.Nothing;
        }

        // The [MambaLayer] written on this declaration (a partial class may carry it on another part: that part reads it).
        var attributes = layer.GetAttributes()
            .Where(a => SymbolChecks.Is(a.AttributeClass, TypeNames.MambaLayerAttribute)
                && a.ApplicationSyntaxReference is { } reference
                && reference.SyntaxTree == declaration.SyntaxTree
                && declaration.Span.Contains(reference.Span))
            .ToArray();
        if (attributes.Length == 0)
        {
            return LayerExtraction.Nothing;
        }

        dependencies.AddTypeAndBases(layer, cancellationToken);
        foreach (var attribute in attributes)
        {
            dependencies.AddAttributeArguments(attribute, compilation, cancellationToken);
        }

        foreach (var member in layer.GetMembers())
        {
            foreach (var attribute in member.GetAttributes())
            {
                if (SymbolChecks.Is(attribute.AttributeClass, TypeNames.StateTensorAttribute))
                {
                    dependencies.AddAttributeArguments(attribute, compilation, cancellationToken);
                    dependencies.AddTypeAndBases(StateType(member), cancellationToken);
                }
            }
        }

        // Two [MambaLayer] are the compiler's CS0579.
        return attributes.Length != 1 ? LayerExtraction.Nothing : LayerModelExtractor.Extract(layer, attributes[0], compilation, cancellationToken);
    }

    private static ITypeSymbol? StateType(ISymbol member) => member switch
    {
        IFieldSymbol field => field.Type,
        IPropertySymbol property => property.Type,
        IMethodSymbol method => method.ReturnType,
        _ => null,
    };
}

internal sealed class Prepared
{
    public Prepared((CompilationFacts Facts, TypeDeclarationIndex Index, HashSet<string> GlobalAliases) value) => Value = value;

    public (CompilationFacts Facts, TypeDeclarationIndex Index, HashSet<string> GlobalAliases) Value { get; }
}

/// <summary>A nullable value as a reference, for <see cref="SemanticCache{T}"/>.</summary>
internal sealed class Box<T>
    where T : class
{
    public Box(T? value) => Value = value;

    public T? Value { get; }
}
