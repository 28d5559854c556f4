using System.Collections.Generic;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MambaGen.Generators.Incremental;

/// <summary>
/// The syntactic facts of one syntax tree the generator needs, computed once per tree version (a tree is immutable,
/// and an edited file is a new tree): the classes whose attributes are spelled like <c>[MambaLayer]</c> (directly or
/// through a using alias), the classes with a base list and no such attribute (MG0001 candidates), its alias names
/// for MambaLayer, and whether it has global using directives (which can change how every other file binds).
/// </summary>
internal sealed class LayerCandidates
{
    private static readonly ConditionalWeakTable<SyntaxTree, LayerCandidates> Cache = new();

    private LayerCandidates(ImmutableArray<ClassDeclarationSyntax> layers, ImmutableArray<ClassDeclarationSyntax> baseListClasses, ImmutableArray<string> aliases, bool hasGlobalUsings, ImmutableArray<string> typeNames)
    {
        TypeNames = typeNames;
        Layers = layers;
        BaseListClasses = baseListClasses;
        Aliases = aliases;
        HasGlobalUsings = hasGlobalUsings;
    }

    /// <summary>Classes with an attribute named MambaLayer, MambaLayerAttribute or an alias of either in this file.</summary>
    public ImmutableArray<ClassDeclarationSyntax> Layers { get; }

    /// <summary>Non-abstract, non-static classes with a base list and no attribute that could be [MambaLayer].</summary>
    public ImmutableArray<ClassDeclarationSyntax> BaseListClasses { get; }

    /// <summary>Global using aliases of MambaLayer declared in this file (they apply to every file).</summary>
    public ImmutableArray<string> Aliases { get; }

    public bool HasGlobalUsings { get; }

    /// <summary>The simple names of the types this file declares (a type may have parts in several files).</summary>
    public ImmutableArray<string> TypeNames { get; }

    /// <summary>The facts of <paramref name="tree"/>, scanned on first use.</summary>
    public static LayerCandidates Of(SyntaxTree tree, CancellationToken cancellationToken) =>
        Cache.GetValue(tree, t => Scan(t, cancellationToken));

    /// <summary>True when <paramref name="name"/> (an attribute's name as written) can bind to MambaLayerAttribute.</summary>
    public static bool IsMambaLayerName(string name, ICollection<string>? aliases) =>
        name is "MambaLayer" or "MambaLayerAttribute" || (aliases is not null && aliases.Contains(name));

    private static LayerCandidates Scan(SyntaxTree tree, CancellationToken cancellationToken)
    {
        var root = (CompilationUnitSyntax)tree.GetRoot(cancellationToken);
        var localAliases = new HashSet<string>(System.StringComparer.Ordinal);
        var globalAliases = ImmutableArray.CreateBuilder<string>();
        bool hasGlobalUsings = false;
        foreach (var node in root.DescendantNodes(n => n is CompilationUnitSyntax or BaseNamespaceDeclarationSyntax))
        {
            if (node is not UsingDirectiveSyntax directive)
            {
                continue;
            }

            hasGlobalUsings |= directive.GlobalKeyword.IsKind(SyntaxKind.GlobalKeyword);
            if (directive.Alias is { } alias && directive.Name is { } target && IsMambaLayerName(RightmostName(target), null))
            {
                localAliases.Add(alias.Name.Identifier.ValueText);
                if (directive.GlobalKeyword.IsKind(SyntaxKind.GlobalKeyword))
                {
                    globalAliases.Add(alias.Name.Identifier.ValueText);
                }
            }
        }

        var layers = ImmutableArray.CreateBuilder<ClassDeclarationSyntax>();
        var baseListClasses = ImmutableArray.CreateBuilder<ClassDeclarationSyntax>();
        var typeNames = ImmutableArray.CreateBuilder<string>();
        foreach (var node in root.DescendantNodes(n => n is CompilationUnitSyntax or BaseNamespaceDeclarationSyntax or TypeDeclarationSyntax))
        {
            if (node is BaseTypeDeclarationSyntax type)
            {
                typeNames.Add(type.Identifier.ValueText);
            }

            if (node is not ClassDeclarationSyntax declaration)
            {
                continue;
            }

            if (HasAttributeNamed(declaration, localAliases, anyAttribute: false))
            {
                layers.Add(declaration);
            }
            else if (declaration.BaseList is not null
                && !declaration.Modifiers.Any(SyntaxKind.AbstractKeyword)
                && !declaration.Modifiers.Any(SyntaxKind.StaticKeyword))
            {
                baseListClasses.Add(declaration);
            }
        }

        return new LayerCandidates(layers.ToImmutable(), baseListClasses.ToImmutable(), globalAliases.ToImmutable(), hasGlobalUsings, typeNames.ToImmutable());
    }

    /// <summary>With <paramref name="anyAttribute"/>, any attribute at all counts (a global alias may hide behind any name).</summary>
    public static bool HasAttributeNamed(ClassDeclarationSyntax declaration, ICollection<string>? aliases, bool anyAttribute)
    {
        foreach (var list in declaration.AttributeLists)
        {
            foreach (var attribute in list.Attributes)
            {
                if (anyAttribute || IsMambaLayerName(RightmostName(attribute.Name), aliases))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static string RightmostName(NameSyntax name) => name switch
    {
        QualifiedNameSyntax qualified => qualified.Right.Identifier.ValueText,
        AliasQualifiedNameSyntax alias => alias.Name.Identifier.ValueText,
        SimpleNameSyntax simple => simple.Identifier.ValueText,
        _ => string.Empty,
    };
}
