using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.CodeFixes;

/// <summary>MG0009: removes a hand-written member that the generator writes too.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RemoveCollidingMemberCodeFix))]
[Shared]
public sealed class RemoveCollidingMemberCodeFix : CodeFixProvider
{
    public const string EquivalenceKey = DiagnosticIds.GeneratedMemberCollision + ".RemoveMember";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.GeneratedMemberCollision);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (var diagnostic in context.Diagnostics)
        {
            context.RegisterCodeFix(
                CodeAction.Create("Remove the hand-written member", ct => RemoveAsync(context.Document, diagnostic, ct), EquivalenceKey),
                diagnostic);
        }

        return Task.CompletedTask;
    }

    private static async Task<Document> RemoveAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var node = root?.FindToken(diagnostic.Location.SourceSpan.Start).Parent;
        if (root is null || node is null)
        {
            return document;
        }

        // A field declaring several variables loses only the colliding one.
        SyntaxNode? target = node is VariableDeclaratorSyntax { Parent: VariableDeclarationSyntax { Variables.Count: > 1 } } declarator
            ? declarator
            : node.FirstAncestorOrSelf<MemberDeclarationSyntax>();
        var newRoot = target is null ? null : root.RemoveNode(target, SyntaxRemoveOptions.KeepNoTrivia);
        return newRoot is null ? document : document.WithSyntaxRoot(newRoot);
    }
}
