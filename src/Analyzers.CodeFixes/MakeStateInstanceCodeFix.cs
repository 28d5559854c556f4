using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.CodeFixes;

/// <summary>MG0005: removes <c>static</c> from a [StateTensor] member.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MakeStateInstanceCodeFix))]
[Shared]
public sealed class MakeStateInstanceCodeFix : CodeFixProvider
{
    public const string EquivalenceKey = DiagnosticIds.StaticStateTensor + ".MakeInstance";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.StaticStateTensor);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (var diagnostic in context.Diagnostics)
        {
            context.RegisterCodeFix(
                CodeAction.Create("Make the state an instance member", ct => MakeInstanceAsync(context.Document, diagnostic, ct), EquivalenceKey),
                diagnostic);
        }

        return Task.CompletedTask;
    }

    private static async Task<Document> MakeInstanceAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var member = root?.FindToken(diagnostic.Location.SourceSpan.Start).Parent?.FirstAncestorOrSelf<MemberDeclarationSyntax>();
        if (root is null || member is null)
        {
            return document;
        }

        var index = member.Modifiers.IndexOf(SyntaxKind.StaticKeyword);
        if (index < 0)
        {
            return document;
        }

        // The token after 'static' inherits its leading trivia (the indentation when 'static' came first).
        var staticToken = member.Modifiers[index];
        var next = staticToken.GetNextToken();
        var edited = member.ReplaceToken(next, next.WithLeadingTrivia(staticToken.LeadingTrivia.AddRange(next.LeadingTrivia)));
        edited = edited.WithModifiers(edited.Modifiers.RemoveAt(index));
        return document.WithSyntaxRoot(root.ReplaceNode(member, edited));
    }
}
