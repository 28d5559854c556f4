using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MambaGen.Generators.Helpers;
using MambaGen.Generators.Model;

namespace MambaGen.Generators.Extraction;

/// <summary>
/// The pipeline's transform: turns a <c>[MambaLayer]</c> class into a <see cref="LayerModel"/>, or null when the
/// generator cannot add a part to the class (not partial, not a <c>MambaBase</c>, file-local). A class it can extend
/// but whose declaration is invalid gets a model without a spec; the analyzer reports why, the generator stays silent.
/// </summary>
internal static class LayerModelExtractor
{
    /// <summary>Ending of every generated file's hint name.</summary>
    public const string HintNameSuffix = ".g.cs";

    public static LayerModel? Extract(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        // Only a type the generator can add a part to gets one; for the others the compiler or the analyzer explains.
        if (context.TargetSymbol is not INamedTypeSymbol { TypeKind: TypeKind.Class, IsFileLocal: false } layer
            || context.Attributes.Length != 1
            || CountLayerAttributes(layer) != 1
            || !SymbolNames.DerivesFrom(layer, TypeNames.MambaBase)
            || !IsPartialWithContainingTypes(layer, cancellationToken))
        {
            return null;
        }

        return new LayerModel(
            SymbolNames.MetadataName(layer) + HintNameSuffix,
            SymbolNames.NamespaceDeclaration(layer.ContainingNamespace),
            ContainingTypes(layer),
            new TypeDeclarationModel("class", SymbolNames.DeclarationName(layer)),
            layer.ToDisplayString(),
            HandWrittenMembers.OverridesToGenerate(layer),
            ReadSpec(context.Attributes[0], layer, context.SemanticModel.Compilation, cancellationToken));
    }

    // Null when the declaration is invalid (the analyzer reports why): the layer then gets the fallback part.
    private static LayerSpec? ReadSpec(AttributeData attribute, INamedTypeSymbol layer, Compilation compilation, CancellationToken cancellationToken)
    {
        // Kind first: TypedConstant.Value throws for arrays, which broken code can produce.
        if (attribute.ConstructorArguments.Length != 1
            || attribute.ConstructorArguments[0].Kind != TypedConstantKind.Primitive
            || attribute.ConstructorArguments[0].Value is not string { Length: > 0 } mambaType)
        {
            return null;
        }

        string? backend = ResolveBackend(attribute, mambaType, layer, compilation);
        if (backend is null)
        {
            return null;
        }

        var states = ReadStates(layer, cancellationToken);
        return states is null ? null : new LayerSpec(mambaType, backend, states.Value);
    }

    private static int CountLayerAttributes(INamedTypeSymbol layer)
    {
        int count = 0;
        foreach (var attribute in layer.GetAttributes())
        {
            if (SymbolNames.Is(attribute.AttributeClass, TypeNames.MambaLayerAttribute))
            {
                count++;
            }
        }

        return count;
    }

    // Every declaration of the layer and of each type around it must be partial, or the generated part would not compile.
    private static bool IsPartialWithContainingTypes(INamedTypeSymbol layer, CancellationToken cancellationToken)
    {
        for (INamedTypeSymbol? type = layer; type is not null; type = type.ContainingType)
        {
            foreach (var reference in type.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(cancellationToken) is not TypeDeclarationSyntax declaration
                    || !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                {
                    return false;
                }
            }

            if (type.DeclaringSyntaxReferences.IsEmpty)
            {
                return false;
            }
        }

        return true;
    }

    // The attribute's custom backend when given (it must satisfy MambaAttentionBackends.Get's constraints), else vLLM's built-in one.
    private static string? ResolveBackend(AttributeData attribute, string mambaType, INamedTypeSymbol layer, Compilation compilation)
    {
        foreach (var argument in attribute.NamedArguments)
        {
            if (argument.Key != TypeNames.BackendArgument || argument.Value.IsNull)
            {
                continue;
            }

            if (argument.Value.Kind != TypedConstantKind.Type
                || argument.Value.Value is not INamedTypeSymbol { TypeKind: TypeKind.Class, IsAbstract: false, IsUnboundGenericType: false } custom
                || !SymbolNames.DerivesFrom(custom, TypeNames.MambaAttentionBackend)
                || !HasPublicParameterlessConstructor(custom)
                || !compilation.IsSymbolAccessibleWithin(custom, layer))
            {
                return null;
            }

            return custom.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
        }

        var known = KnownMambaTypes.Find(mambaType);
        if (known is null || compilation.GetTypeByMetadataName(known.BackendTypeName) is null)
        {
            return null;
        }

        return "global::" + known.BackendTypeName;
    }

    private static bool HasPublicParameterlessConstructor(INamedTypeSymbol type)
    {
        foreach (var constructor in type.InstanceConstructors)
        {
            if (constructor.Parameters.IsEmpty && constructor.DeclaredAccessibility == Accessibility.Public)
            {
                return true;
            }
        }

        return false;
    }

    // States in GetStateShape order: explicit Order ascending, then the rest in declaration order.
    private static EquatableArray<StateTensorModel>? ReadStates(INamedTypeSymbol layer, CancellationToken cancellationToken)
    {
        var ordered = new List<StateTensorDeclaration>();
        var unordered = new List<StateTensorDeclaration>();
        var members = layer.GetMembers();
        for (int i = 0; i < members.Length; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var member = members[i];
            if (member.IsImplicitlyDeclared)
            {
                continue;
            }

            AttributeData? stateAttribute = null;
            foreach (var attribute in member.GetAttributes())
            {
                if (SymbolNames.Is(attribute.AttributeClass, TypeNames.StateTensorAttribute))
                {
                    if (stateAttribute is not null)
                    {
                        return null;
                    }

                    stateAttribute = attribute;
                }
            }

            if (stateAttribute is null)
            {
                continue;
            }

            if (StateTensorReader.Read(member, stateAttribute, i) is not { } declaration)
            {
                return null;
            }

            (declaration.Order >= 0 ? ordered : unordered).Add(declaration);
        }

        if (ordered.Count + unordered.Count == 0)
        {
            return null;
        }

        // Stable sort by Order; equal Orders are ambiguous, so the layer is invalid.
        ordered.Sort(static (a, b) => a.Order != b.Order ? a.Order.CompareTo(b.Order) : a.DeclarationIndex.CompareTo(b.DeclarationIndex));
        for (int i = 1; i < ordered.Count; i++)
        {
            if (ordered[i].Order == ordered[i - 1].Order)
            {
                return null;
            }
        }

        ordered.AddRange(unordered);
        var states = new StateTensorModel[ordered.Count];
        var accessorNames = new HashSet<string>(System.StringComparer.Ordinal);
        for (int i = 0; i < states.Length; i++)
        {
            var d = ordered[i];
            string accessor = AccessorNames.For(d.MemberName);
            if (!accessorNames.Add(accessor))
            {
                return null;
            }

            states[i] = new StateTensorModel(d.MemberName, d.MemberKind, d.ShapeKind, d.TupleArity, d.Dtype, accessor, !HandWrittenMembers.IsNameTaken(layer, accessor));
        }

        return new EquatableArray<StateTensorModel>(states);
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
