using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MambaGen.Analyzers.CodeFixes;

/// <summary>Makes layer declarations partial together with every type declaration around them, in one pass so
/// that two layers sharing a containing type edit it once.</summary>
internal static class PartialDeclarations
{
    public static SyntaxNode MakePartial(SyntaxNode root, IEnumerable<TypeDeclarationSyntax> layers, Func<TypeDeclarationSyntax, TypeDeclarationSyntax>? editLayer = null)
    {
        var layerSet = new HashSet<TypeDeclarationSyntax>(layers);
        var targets = new HashSet<TypeDeclarationSyntax>(layerSet);
        foreach (var layer in layerSet)
        {
            targets.UnionWith(layer.Ancestors().OfType<TypeDeclarationSyntax>());
        }

        return root.ReplaceNodes(targets, (original, rewritten) =>
        {
            var declaration = WithPartial(rewritten);
            return editLayer is not null && layerSet.Contains(original) ? editLayer(declaration) : declaration;
        });
    }

    /// <summary>The declaration at a diagnostic's span (the layer's identifier).</summary>
    public static TypeDeclarationSyntax? At(SyntaxNode root, Diagnostic diagnostic) =>
        root.FindToken(diagnostic.Location.SourceSpan.Start).Parent?.FirstAncestorOrSelf<TypeDeclarationSyntax>();

    private static TypeDeclarationSyntax WithPartial(TypeDeclarationSyntax declaration)
    {
        if (declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
        {
            return declaration;
        }

        // 'partial' must come right before 'class'; with no modifiers it also takes over the keyword's leading trivia.
        if (declaration.Modifiers.Count == 0)
        {
            var keyword = declaration.Keyword;
            var partial = SyntaxFactory.Token(keyword.LeadingTrivia, SyntaxKind.PartialKeyword, SyntaxFactory.TriviaList(SyntaxFactory.Space));
            return declaration.WithKeyword(keyword.WithLeadingTrivia(SyntaxFactory.TriviaList())).WithModifiers(SyntaxFactory.TokenList(partial));
        }

        return declaration.WithModifiers(declaration.Modifiers.Add(SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space)));
    }
}
