using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Simplification;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.CodeFixes;

/// <summary>MG0001: marks the class [MambaLayer("...")] and partial, one fix per known mamba type, so that the
/// generator writes the missing members. No type is a safe default, so without evidence the author picks; when the
/// class computes its states with a MambaStateShapeCalculator method, that method's type is offered first.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AddMambaLayerCodeFix))]
[Shared]
public sealed class AddMambaLayerCodeFix : CodeFixProvider
{
    private const string EquivalenceKeyPrefix = DiagnosticIds.MambaBaseMembersMissing + ".AddMambaLayer.";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.MambaBaseMembersMissing);

    /// <summary>The equivalence key of the fix that adds <c>[MambaLayer("<paramref name="mambaType"/>")]</c>.</summary>
    public static string EquivalenceKeyFor(string mambaType) => EquivalenceKeyPrefix + mambaType;

    // Layers nested in one type all make that type partial, so Fix All edits each document in one pass.
    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(async (fixAll, document, diagnostics) =>
    {
        var key = fixAll.CodeActionEquivalenceKey;
        if (key is null || !key.StartsWith(EquivalenceKeyPrefix, System.StringComparison.Ordinal))
        {
            return document;
        }

        return await AddMambaLayerAsync(document, diagnostics, key.Substring(EquivalenceKeyPrefix.Length), fixAll.CancellationToken).ConfigureAwait(false);
    });

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            // The type the class's states are computed for (MambaStateShapeCalculator.Mamba2 means mamba2) comes first:
            // that is the action an IDE offers as the default.
            string? evidence = null;
            if (root is not null && model is not null && PartialDeclarations.At(root, diagnostic) is TypeDeclarationSyntax declaration
                && model.GetDeclaredSymbol(declaration, context.CancellationToken) is { } type)
            {
                evidence = MambaTypeEvidence.For(type, context.CancellationToken);
            }

            foreach (var known in KnownMambaTypes.All.OrderBy(t => t.Name == evidence ? 0 : 1))
            {
                var title = known.Name == evidence
                    ? $"Generate the layer members with [MambaLayer(\"{known.Name}\")] (its states use MambaStateShapeCalculator's {known.Name} shapes)"
                    : $"Generate the layer members with [MambaLayer(\"{known.Name}\")]";
                context.RegisterCodeFix(
                    CodeAction.Create(
                        title,
                        ct => AddMambaLayerAsync(context.Document, ImmutableArray.Create(diagnostic), known.Name, ct),
                        EquivalenceKeyFor(known.Name)),
                    diagnostic);
            }
        }
    }

    private static async Task<Document> AddMambaLayerAsync(Document document, ImmutableArray<Diagnostic> diagnostics, string mambaType, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root is null)
        {
            return document;
        }

        var endOfLine = root.ToFullString().Contains("\r\n") ? SyntaxFactory.CarriageReturnLineFeed : SyntaxFactory.LineFeed;
        var layers = diagnostics.Select(d => PartialDeclarations.At(root, d)).OfType<TypeDeclarationSyntax>();
        return document.WithSyntaxRoot(PartialDeclarations.MakePartial(root, layers, d => WithMambaLayer(d, mambaType, endOfLine)));
    }

    private static TypeDeclarationSyntax WithMambaLayer(TypeDeclarationSyntax declaration, string mambaType, SyntaxTrivia endOfLine)
    {
        // Written qualified; the code action's cleanup shortens it where a MambaGen using is in scope.
        var name = SyntaxFactory.ParseName("MambaGen.MambaLayer").WithAdditionalAnnotations(Simplifier.Annotation);
        var argument = SyntaxFactory.AttributeArgument(SyntaxFactory.LiteralExpression(SyntaxKind.StringLiteralExpression, SyntaxFactory.Literal(mambaType)));
        var attribute = SyntaxFactory.Attribute(name, SyntaxFactory.AttributeArgumentList(SyntaxFactory.SingletonSeparatedList(argument)));

        // The attribute takes the declaration's leading trivia (comments, indentation); the declaration keeps the indentation.
        var leading = declaration.GetLeadingTrivia();
        var indentation = leading.Count > 0 && leading.Last().IsKind(SyntaxKind.WhitespaceTrivia) ? SyntaxFactory.TriviaList(leading.Last()) : SyntaxFactory.TriviaList();
        var attributeList = SyntaxFactory.AttributeList(SyntaxFactory.SingletonSeparatedList(attribute))
            .WithLeadingTrivia(leading)
            .WithTrailingTrivia(endOfLine);
        var rest = declaration.WithLeadingTrivia(indentation);
        return rest.WithAttributeLists(rest.AttributeLists.Insert(0, attributeList));
    }
}
