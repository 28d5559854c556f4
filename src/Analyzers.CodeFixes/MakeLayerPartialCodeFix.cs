using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.CodeFixes;

/// <summary>MG0002: makes the layer and its containing types partial.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MakeLayerPartialCodeFix))]
[Shared]
public sealed class MakeLayerPartialCodeFix : CodeFixProvider
{
    public const string EquivalenceKey = DiagnosticIds.LayerNotPartial + ".MakePartial";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.LayerNotPartial);

    // Layers nested in one type all edit that type, so Fix All edits each document in one pass.
    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(
        async (fixAll, document, diagnostics) => await MakePartialAsync(document, diagnostics, fixAll.CancellationToken).ConfigureAwait(false));

    public override Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (var diagnostic in context.Diagnostics)
        {
            context.RegisterCodeFix(
                CodeAction.Create(
                    "Make the layer and its containing types partial",
                    ct => MakePartialAsync(context.Document, ImmutableArray.Create(diagnostic), ct),
                    EquivalenceKey),
                diagnostic);
        }

        return Task.CompletedTask;
    }

    private static async Task<Document> MakePartialAsync(Document document, ImmutableArray<Diagnostic> diagnostics, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root is null)
        {
            return document;
        }

        var layers = diagnostics.Select(d => PartialDeclarations.At(root, d)).OfType<TypeDeclarationSyntax>();
        return document.WithSyntaxRoot(PartialDeclarations.MakePartial(root, layers));
    }
}
