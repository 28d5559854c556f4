using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;

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

        var generator = SyntaxGenerator.GetGenerator(document);
        var instance = generator.WithModifiers(member, generator.GetModifiers(member).WithIsStatic(false));
        return document.WithSyntaxRoot(root.ReplaceNode(member, instance));
    }
}
