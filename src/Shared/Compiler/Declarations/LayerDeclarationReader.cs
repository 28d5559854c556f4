#if MAMBAGEN_COMPILER
// Compiled into the generator and the analyzers only (src/Runtime also compiles src/Shared; it has no Roslyn).
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MambaGen.Diagnostics;

namespace MambaGen.Declarations;

/// <summary>
/// The one reader of <c>[MambaLayer]</c> declarations. The generator writes a layer's members when the result has no
/// problem that blocks generation (and the fallback otherwise); each analyzer reports its own IDs from the same list.
/// </summary>
internal static class LayerDeclarationReader
{
    private const string OverrideOrigin = "the [MambaLayer] override of MambaBase.";

    /// <summary>The overrides in the order the generator writes them, which is the order diagnostics list them in.</summary>
    public static readonly ImmutableArray<string> OverrideNames = ImmutableArray.Create("MambaType", "GetStateShape", "GetStateDtype", "GetAttnBackend");

    private static readonly string KnownNames = string.Join(", ", KnownMambaTypes.All.Select(t => t.Name));

    /// <summary>False for the problems the generator works around (it leaves a hand-written member out; a state count is
    /// advice): everything else makes it write the fallback.</summary>
    public static bool BlocksGeneration(DiagnosticDescriptor descriptor) =>
        descriptor.Id is not (DiagnosticIds.GeneratedMemberCollision or DiagnosticIds.StateCountMismatch or DiagnosticIds.AccessorNameTaken);

    /// <summary>Reads <paramref name="type"/>, which carries <paramref name="attribute"/> (<c>[MambaLayer]</c>).
    /// <paramref name="forGenerator"/> skips the problems that do not block generation, which the generator ignores.</summary>
    public static LayerDeclaration Read(INamedTypeSymbol type, AttributeData attribute, Compilation compilation, bool forGenerator, CancellationToken cancellationToken)
    {
        var problems = ImmutableArray.CreateBuilder<LayerProblem>();
        var syntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
        var attributeLocation = syntax?.GetLocation() ?? type.Locations[0];
        var (mambaTypeLocation, backendLocation) = ArgumentLocations(syntax, attributeLocation);

        bool isLayerClass = type.TypeKind == TypeKind.Class && SymbolChecks.DerivesFrom(type, TypeNames.MambaBase);
        bool canExtend = isLayerClass
            && IsPartialChain(type, problems, cancellationToken)
            && IsOutsideFileLocalTypes(type, problems, cancellationToken)
            && GeneratedCodeCanCompile(type, attributeLocation, compilation, problems);

        // An argument that does not bind to one string constant is the compiler's error to report, not a mamba type.
        if (attribute.ConstructorArguments.Length != 1 || attribute.ConstructorArguments[0].Kind != TypedConstantKind.Primitive)
        {
            return new LayerDeclaration(type, canExtend, bindsCleanly: false, null, null, ImmutableArray<StateDeclaration>.Empty, problems.ToImmutable());
        }

        if (type.TypeKind == TypeKind.Class && !isLayerClass)
        {
            problems.Add(new LayerProblem(DiagnosticDescriptors.LayerNotMambaBase, attributeLocation, null, null, type.Name));
        }

        bool bindsCleanly = true;
        string? mambaType = attribute.ConstructorArguments[0].Value as string;
        string? backendTypeName = ReadBackend(attribute, type, mambaType, mambaTypeLocation, backendLocation, compilation, forGenerator, problems, ref bindsCleanly, cancellationToken);

        var states = ReadStates(type, problems, ref bindsCleanly, cancellationToken);
        if (states.IsEmpty && GeneratedCodeDetector.FirstHandWrittenLocation(type, cancellationToken) is { } typeLocation)
        {
            problems.Add(new LayerProblem(DiagnosticDescriptors.LayerWithoutStates, typeLocation, null, null, type.Name));
        }

        ReportDuplicateOrders(states, problems);
        ReportDuplicateAccessors(states, problems);
        if (!forGenerator)
        {
            ReportStateCountMismatch(type, attribute, mambaType, mambaTypeLocation, states, problems);
            ReportCollisions(type, states, problems, cancellationToken);
            ReportAccessorsNamedLikeTheType(type, states, problems);
        }

        return new LayerDeclaration(type, canExtend, bindsCleanly, string.IsNullOrEmpty(mambaType) ? null : mambaType, backendTypeName, states, problems.ToImmutable());
    }

    /// <summary>The states in GetStateShape() order: explicit Order ascending, then the rest in declaration order.</summary>
    public static ImmutableArray<StateDeclaration> InStateOrder(ImmutableArray<StateDeclaration> states) =>
        states.Where(s => s.Order is not null).OrderBy(s => s.Order).ThenBy(s => s.DeclarationIndex)
            .Concat(states.Where(s => s.Order is null))
            .ToImmutableArray();

    private static (Location MambaType, Location Backend) ArgumentLocations(AttributeSyntax? syntax, Location attributeLocation)
    {
        var mambaTypeLocation = attributeLocation;
        var backendLocation = attributeLocation;
        if (syntax?.ArgumentList is { } arguments)
        {
            foreach (var argument in arguments.Arguments)
            {
                if (argument.NameEquals is null)
                {
                    mambaTypeLocation = argument.Expression.GetLocation();
                }
                else if (argument.NameEquals.Name.Identifier.ValueText == TypeNames.BackendArgument)
                {
                    backendLocation = argument.Expression.GetLocation();
                }
            }
        }

        return (mambaTypeLocation, backendLocation);
    }

    // MG0002: every declaration of the layer and of each type around it must be partial, or a second part cannot exist.
    private static bool IsPartialChain(INamedTypeSymbol layer, ImmutableArray<LayerProblem>.Builder problems, CancellationToken cancellationToken)
    {
        var notPartial = new List<string>();
        for (INamedTypeSymbol? type = layer; type is not null; type = type.ContainingType)
        {
            bool partial = !type.DeclaringSyntaxReferences.IsEmpty;
            foreach (var reference in type.DeclaringSyntaxReferences)
            {
                if (reference.GetSyntax(cancellationToken) is TypeDeclarationSyntax declaration && !declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
                {
                    partial = false;
                }
            }

            if (!partial)
            {
                notPartial.Add($"'{type.Name}'");
            }
        }

        if (notPartial.Count == 0)
        {
            return true;
        }

        // Reported on a hand-written declaration of the layer: that is where the fix starts.
        if (GeneratedCodeDetector.FirstHandWrittenLocation(layer, cancellationToken) is { } location)
        {
            var subject = notPartial.Count == 1 ? notPartial[0] + " is" : string.Join(", ", notPartial) + " are";
            problems.Add(new LayerProblem(DiagnosticDescriptors.LayerNotPartial, location, null, null, layer.Name, subject));
        }

        return false;
    }

    // MG0018: a part of a file-local type can only be in its own file; the generated part is another file.
    private static bool IsOutsideFileLocalTypes(INamedTypeSymbol layer, ImmutableArray<LayerProblem>.Builder problems, CancellationToken cancellationToken)
    {
        var fileLocal = new List<string>();
        for (INamedTypeSymbol? type = layer; type is not null; type = type.ContainingType)
        {
            if (type.IsFileLocal)
            {
                fileLocal.Add($"'{type.Name}'");
            }
        }

        if (fileLocal.Count == 0)
        {
            return true;
        }

        if (GeneratedCodeDetector.FirstHandWrittenLocation(layer, cancellationToken) is { } location)
        {
            var subject = fileLocal.Count == 1 ? fileLocal[0] + " is" : string.Join(", ", fileLocal) + " are";
            problems.Add(new LayerProblem(DiagnosticDescriptors.FileLocalLayer, location, null, null, layer.Name, subject));
        }

        return false;
    }

    /// <summary>The lowest C# version the generated members compile under (expression bodies, throw expressions).</summary>
    public const LanguageVersion MinimumLanguageVersion = LanguageVersion.CSharp7;

    /// <summary>The namespaces the generated members name from <c>global::</c>.</summary>
    private static readonly string[] NamespacesNamed = { "System", "MambaGen", "TorchSharp" };

    // MG0019, MG0020: project settings or a user type that no generated code could compile under.
    private static bool GeneratedCodeCanCompile(INamedTypeSymbol layer, Location attributeLocation, Compilation compilation, ImmutableArray<LayerProblem>.Builder problems)
    {
        if (compilation is CSharpCompilation { LanguageVersion: var version } && version < MinimumLanguageVersion)
        {
            problems.Add(new LayerProblem(DiagnosticDescriptors.LanguageVersionTooLow, attributeLocation, null, null, layer.Name, MinimumLanguageVersion.ToDisplayString(), version.ToDisplayString()));
            return false;
        }

        foreach (var name in NamespacesNamed)
        {
            if (compilation.GlobalNamespace.GetTypeMembers(name, 0).Any(t => t.Locations.Any(l => l.IsInSource)))
            {
                problems.Add(new LayerProblem(DiagnosticDescriptors.NamespaceHiddenByType, attributeLocation, null, null, layer.Name, name));
                return false;
            }
        }

        return true;
    }

    // MG0004, MG0011, MG0012: the custom backend when given, else vLLM's built-in one for the mamba type.
    private static string? ReadBackend(
        AttributeData attribute,
        INamedTypeSymbol layer,
        string? mambaType,
        Location mambaTypeLocation,
        Location backendLocation,
        Compilation compilation,
        bool forGenerator,
        ImmutableArray<LayerProblem>.Builder problems,
        ref bool bindsCleanly,
        CancellationToken cancellationToken)
    {
        foreach (var argument in attribute.NamedArguments)
        {
            if (argument.Key != TypeNames.BackendArgument || argument.Value.IsNull)
            {
                continue;
            }

            if (argument.Value.Kind != TypedConstantKind.Type || argument.Value.Value is not ITypeSymbol backend || backend.TypeKind == TypeKind.Error)
            {
                bindsCleanly = false;
                return null;
            }

            var backendName = backend.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat);
            if (!SymbolChecks.DerivesFrom(backend, TypeNames.MambaAttentionBackend) || SymbolChecks.Is(backend, TypeNames.MambaAttentionBackend))
            {
                problems.Add(new LayerProblem(DiagnosticDescriptors.BackendNotMambaAttentionBackend, backendLocation, null, null, backendName, layer.Name));
                return null;
            }

            if (WhyNotConstructible(backend, layer, compilation) is { } reason)
            {
                problems.Add(new LayerProblem(DiagnosticDescriptors.BackendNotConstructible, backendLocation, null, null, backendName, layer.Name, reason));
                return null;
            }

            // MambaType returns the name: with a custom backend it can be any name, but not none.
            if (string.IsNullOrEmpty(mambaType))
            {
                problems.Add(new LayerProblem(DiagnosticDescriptors.EmptyMambaType, mambaTypeLocation, null, null, layer.Name));
                return null;
            }

            return backend.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
        }

        var known = KnownMambaTypes.Find(mambaType);
        if (known is null)
        {
            var suggestion = EditDistance.NearestKnownMambaType(mambaType, forGenerator ? null : MambaTypeEvidence.For(layer, cancellationToken));
            var properties = ImmutableDictionary<string, string?>.Empty.Add(DiagnosticPropertyKeys.SuggestedMambaType, suggestion);
            problems.Add(new LayerProblem(DiagnosticDescriptors.UnknownMambaType, mambaTypeLocation, null, properties, mambaType ?? "null", suggestion, KnownNames));
            return null;
        }

        return compilation.GetTypeByMetadataName(known.BackendTypeName) is null ? null : "global::" + known.BackendTypeName;
    }

    /// <summary>Why the generated <c>MambaAttentionBackends.Get&lt;T&gt;()</c> cannot create the backend, as the end of
    /// "Backend 'T' ..."; null when it can.</summary>
    private static string? WhyNotConstructible(ITypeSymbol backend, INamedTypeSymbol layer, Compilation compilation)
    {
        if (backend.IsAbstract)
        {
            return "is abstract";
        }

        if (backend is INamedTypeSymbol { IsUnboundGenericType: true })
        {
            return "is an open generic type";
        }

        if (backend is not INamedTypeSymbol named
            || !named.InstanceConstructors.Any(c => c.Parameters.IsEmpty && c.DeclaredAccessibility == Accessibility.Public))
        {
            return "has no public parameterless constructor";
        }

        // new() refuses a type with required members (CS9040), even with [SetsRequiredMembers] on its constructor.
        for (var type = named; type is not null; type = type.BaseType)
        {
            if (type.GetMembers().Any(m => m is IPropertySymbol { IsRequired: true } or IFieldSymbol { IsRequired: true }))
            {
                return "has required members, which new() cannot set";
            }
        }

        // The generated part is another file, which cannot name a file-local type.
        for (var type = named; type is not null; type = type.ContainingType)
        {
            if (type.IsFileLocal)
            {
                return "is file-local, so the generated part (another file) cannot name it";
            }
        }

        if (!compilation.IsSymbolAccessibleWithin(backend, layer))
        {
            return "is not accessible from the layer";
        }

        return null;
    }

    // MG0005, MG0006: each [StateTensor] member of the layer itself, in declaration order.
    private static ImmutableArray<StateDeclaration> ReadStates(
        INamedTypeSymbol layer,
        ImmutableArray<LayerProblem>.Builder problems,
        ref bool bindsCleanly,
        CancellationToken cancellationToken)
    {
        var states = ImmutableArray.CreateBuilder<StateDeclaration>();
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
                if (SymbolChecks.Is(attribute.AttributeClass, TypeNames.StateTensorAttribute))
                {
                    // A second one is the compiler's CS0579.
                    bindsCleanly &= stateAttribute is null;
                    stateAttribute = attribute;
                }
            }

            if (stateAttribute is null)
            {
                continue;
            }

            // MG0017: a property's (or event's) accessor is not a state of its own, and the generator cannot read it.
            if (member is IMethodSymbol { AssociatedSymbol: { } owner } accessor)
            {
                problems.Add(new LayerProblem(DiagnosticDescriptors.StateTensorOnAccessor, AccessorLocation(accessor, stateAttribute, cancellationToken), null, null, AccessorKeyword(accessor), owner.Name));
                continue;
            }

            bool readable = true;
            if (member.IsStatic)
            {
                problems.Add(new LayerProblem(DiagnosticDescriptors.StaticStateTensor, member.Locations[0], null, null, member.Name));
                readable = false;
            }

            var (memberKind, type, notAMemberReason) = MemberKindOf(member);
            if (notAMemberReason is not null)
            {
                problems.Add(new LayerProblem(DiagnosticDescriptors.UnsupportedStateShape, member.Locations[0], null, null, member.Name, notAMemberReason));
                readable = false;
            }

            var shapeKind = StateShapeKind.LongArray;
            int tupleArity = 0;
            if (type is not null)
            {
                if (type.TypeKind == TypeKind.Error)
                {
                    bindsCleanly = false; // The compiler reports the missing type.
                    readable = false;
                }
                else if (!TryGetShapeKind(type, out shapeKind, out tupleArity))
                {
                    var reason = $"has type '{type.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)}'";
                    problems.Add(new LayerProblem(DiagnosticDescriptors.UnsupportedStateShape, member.Locations[0], null, null, member.Name, reason));
                    readable = false;
                }
            }

            var dtype = StateDtypeRule.Auto;
            int? order = null;
            foreach (var argument in stateAttribute.NamedArguments)
            {
                // Kind first: TypedConstant.Value throws for arrays, which broken code can produce.
                if (argument.Value.Kind is not (TypedConstantKind.Enum or TypedConstantKind.Primitive) || argument.Value.Value is not int value)
                {
                    bindsCleanly = false;
                    continue;
                }

                switch (argument.Key)
                {
                    case TypeNames.DtypeArgument:
                        if (value < (int)StateDtypeRule.Auto || value > (int)StateDtypeRule.BFloat16)
                        {
                            var dtypeLocation = ArgumentLocation(stateAttribute, TypeNames.DtypeArgument, member, cancellationToken);
                            problems.Add(new LayerProblem(DiagnosticDescriptors.UnknownStateDtype, dtypeLocation, null, null, member.Name, value));
                            readable = false;
                        }

                        dtype = (StateDtypeRule)value;
                        break;
                    case TypeNames.OrderArgument:
                        order = value >= 0 ? value : null;
                        break;
                }
            }

            states.Add(new StateDeclaration(
                member, memberKind, shapeKind, tupleArity, dtype, order, OrderLocation(stateAttribute, member, cancellationToken), i, AccessorNames.For(member.Name), readable));
        }

        return states.ToImmutable();
    }

    /// <summary>How the generator reads the member, its type, or why it cannot read it (the end of "it ...").</summary>
    private static (StateMemberKind Kind, ITypeSymbol? Type, string? Reason) MemberKindOf(ISymbol member) => member switch
    {
        IFieldSymbol field => (StateMemberKind.Field, field.Type, null),
        IPropertySymbol { GetMethod: null } => (default, null, "is write-only"),
        IPropertySymbol { Parameters.Length: > 0 } => (default, null, "is an indexer"),
        IPropertySymbol { ExplicitInterfaceImplementations.Length: > 0 } => (default, null, "is an explicit interface implementation, which the layer cannot read by name"),
        IPropertySymbol property => (StateMemberKind.Property, property.Type, null),
        IMethodSymbol { MethodKind: not MethodKind.Ordinary } => (default, null, "is not an ordinary method"),
        IMethodSymbol { Parameters.Length: > 0 } => (default, null, "takes parameters"),
        IMethodSymbol { IsGenericMethod: true } => (default, null, "is generic"),
        IMethodSymbol method => (StateMemberKind.Method, method.ReturnType, null),
        _ => (default, null, "is not a field, property or method"),
    };

    private static bool TryGetShapeKind(ITypeSymbol type, out StateShapeKind kind, out int tupleArity)
    {
        tupleArity = 0;
        kind = default;
        if (type is IArrayTypeSymbol { Rank: 1 } array)
        {
            switch (array.ElementType.SpecialType)
            {
                case SpecialType.System_Int64:
                    kind = StateShapeKind.LongArray;
                    return true;
                case SpecialType.System_Int32:
                    kind = StateShapeKind.IntArray;
                    return true;
                default:
                    return false;
            }
        }

        if (type is INamedTypeSymbol { IsTupleType: true } tuple)
        {
            foreach (var element in tuple.TupleElements)
            {
                if (element.Type.SpecialType is not (SpecialType.System_Int32 or SpecialType.System_Int64))
                {
                    return false;
                }
            }

            kind = StateShapeKind.Tuple;
            tupleArity = tuple.TupleElements.Length;
            return tupleArity > 0;
        }

        return false;
    }

    private static Location OrderLocation(AttributeData attribute, ISymbol member, CancellationToken cancellationToken) =>
        ArgumentLocation(attribute, TypeNames.OrderArgument, member, cancellationToken);

    /// <summary>Where the named argument is written; the attribute when it is not, the member without syntax.</summary>
    private static Location ArgumentLocation(AttributeData attribute, string name, ISymbol member, CancellationToken cancellationToken)
    {
        if (attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) is AttributeSyntax syntax)
        {
            foreach (var argument in syntax.ArgumentList?.Arguments ?? default)
            {
                if (argument.NameEquals?.Name.Identifier.ValueText == name)
                {
                    return argument.GetLocation();
                }
            }

            return syntax.GetLocation();
        }

        return member.Locations[0];
    }

    // The attribute on the accessor is where the mistake is; the accessor keyword when there is no syntax.
    private static Location AccessorLocation(IMethodSymbol accessor, AttributeData attribute, CancellationToken cancellationToken) =>
        attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) is AttributeSyntax syntax ? syntax.GetLocation() : accessor.Locations[0];

    private static string AccessorKeyword(IMethodSymbol accessor) => accessor.MethodKind switch
    {
        MethodKind.PropertyGet => "get",
        MethodKind.PropertySet => accessor.IsInitOnly ? "init" : "set",
        MethodKind.EventAdd => "add",
        MethodKind.EventRemove => "remove",
        _ => accessor.Name,
    };

    // MG0008: the first state keeps its Order; every later one with the same Order is the one to change.
    private static void ReportDuplicateOrders(ImmutableArray<StateDeclaration> states, ImmutableArray<LayerProblem>.Builder problems)
    {
        var firstByOrder = new Dictionary<int, StateDeclaration>();
        foreach (var state in states)
        {
            if (state.Order is not { } order)
            {
                continue;
            }

            if (firstByOrder.TryGetValue(order, out var first))
            {
                problems.Add(new LayerProblem(DiagnosticDescriptors.DuplicateStateOrder, state.OrderLocation, new[] { first.OrderLocation }, null, state.Member.Name, order, first.Member.Name));
            }
            else
            {
                firstByOrder.Add(order, state);
            }
        }
    }

    // MG0021: no member may take the name of its class or of a type parameter (CS0542), so such an accessor is left out: say so.
    private static void ReportAccessorsNamedLikeTheType(INamedTypeSymbol type, ImmutableArray<StateDeclaration> states, ImmutableArray<LayerProblem>.Builder problems)
    {
        foreach (var state in states)
        {
            string? owner = type.Name == state.AccessorName ? $"the class '{type.Name}'"
                : type.TypeParameters.Any(p => p.Name == state.AccessorName) ? $"a type parameter of '{type.Name}'"
                : null;
            if (owner is not null)
            {
                problems.Add(new LayerProblem(DiagnosticDescriptors.AccessorNameTaken, state.Member.Locations[0], null, null,
                    state.Member.Name, state.AccessorName, owner));
            }
        }
    }

    // MG0014: two states whose names differ only by a trailing "Shape" (or leading underscores) would get one accessor twice.
    private static void ReportDuplicateAccessors(ImmutableArray<StateDeclaration> states, ImmutableArray<LayerProblem>.Builder problems)
    {
        var firstByAccessor = new Dictionary<string, StateDeclaration>(System.StringComparer.Ordinal);
        foreach (var state in states)
        {
            if (firstByAccessor.TryGetValue(state.AccessorName, out var first))
            {
                problems.Add(new LayerProblem(
                    DiagnosticDescriptors.DuplicateStateAccessor, state.Member.Locations[0], new[] { first.Member.Locations[0] }, null, state.Member.Name, first.Member.Name, state.AccessorName));
            }
            else
            {
                firstByAccessor.Add(state.AccessorName, state);
            }
        }
    }

    // MG0010: a custom backend defines its own states; no states at all is MG0007.
    private static void ReportStateCountMismatch(
        INamedTypeSymbol layer, AttributeData attribute, string? mambaType, Location mambaTypeLocation, ImmutableArray<StateDeclaration> states, ImmutableArray<LayerProblem>.Builder problems)
    {
        bool hasBackend = attribute.NamedArguments.Any(a => a.Key == TypeNames.BackendArgument && a.Value.Value is ITypeSymbol);
        if (hasBackend || KnownMambaTypes.Find(mambaType) is not { } known)
        {
            return;
        }

        if (states.Length > 0 && states.Length != known.StateCount)
        {
            problems.Add(new LayerProblem(DiagnosticDescriptors.StateCountMismatch, mambaTypeLocation, null, null, known.Name, known.StateCount, layer.Name, states.Length));
        }
    }

    // MG0009: a hand-written member with the name of one the generator writes.
    private static void ReportCollisions(INamedTypeSymbol layer, ImmutableArray<StateDeclaration> states, ImmutableArray<LayerProblem>.Builder problems, CancellationToken cancellationToken)
    {
        var accessorOwners = new Dictionary<string, string>(System.StringComparer.Ordinal);
        foreach (var state in states)
        {
            if (!accessorOwners.ContainsKey(state.AccessorName))
            {
                accessorOwners.Add(state.AccessorName, state.Member.Name);
            }
        }

        foreach (var member in layer.GetMembers())
        {
            if (member.IsImplicitlyDeclared || member is INamedTypeSymbol || member is IMethodSymbol { MethodKind: not MethodKind.Ordinary })
            {
                continue;
            }

            var origin = GeneratedOrigin(member, accessorOwners);
            if (origin is null || GeneratedCodeDetector.IsGenerated(member, cancellationToken))
            {
                continue;
            }

            if (GeneratedCodeDetector.FirstHandWrittenLocation(member, cancellationToken) is { } location)
            {
                problems.Add(new LayerProblem(DiagnosticDescriptors.GeneratedMemberCollision, location, null, null, member.Name, origin));
            }
        }
    }

    /// <summary>Which generated member <paramref name="member"/> would clash with, in words; null when none.</summary>
    private static string? GeneratedOrigin(ISymbol member, Dictionary<string, string> accessorOwners)
    {
        if (member.Name == OverrideNames[0])
        {
            return OverrideOrigin + member.Name;
        }

        // An overload with parameters or type parameters has another signature and does not clash.
        if (OverrideNames.Contains(member.Name)
            && member is not IMethodSymbol { Parameters.Length: > 0 } and not IMethodSymbol { IsGenericMethod: true })
        {
            return OverrideOrigin + member.Name + "()";
        }

        return accessorOwners.TryGetValue(member.Name, out var state) ? $"the accessor of state '{state}'" : null;
    }
}
#endif
