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

/// <summary>MG0017: moves [StateTensor] from a property's accessor to the property itself.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MoveStateTensorToPropertyCodeFix))]
[Shared]
public sealed class MoveStateTensorToPropertyCodeFix : CodeFixProvider
{
    public const string EquivalenceKey = DiagnosticIds.StateTensorOnAccessor + ".MoveToProperty";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.StateTensorOnAccessor);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            // Only a property's accessor: an event's has no state to move to.
            if (root?.FindNode(diagnostic.Location.SourceSpan) is AttributeSyntax attribute
                && attribute.FirstAncestorOrSelf<AccessorDeclarationSyntax>()?.Parent?.Parent is PropertyDeclarationSyntax)
            {
                context.RegisterCodeFix(
                    CodeAction.Create("Put [StateTensor] on the property", ct => MoveAsync(context.Document, diagnostic, ct), EquivalenceKey),
                    diagnostic);
            }
        }
    }

    private static async Task<Document> MoveAsync(Document document, Diagnostic diagnostic, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        if (root?.FindNode(diagnostic.Location.SourceSpan) is not AttributeSyntax attribute
            || attribute.Parent is not AttributeListSyntax list
            || list.Parent is not AccessorDeclarationSyntax accessor
            || accessor.Parent?.Parent is not PropertyDeclarationSyntax property)
        {
            return document;
        }

        // Off the accessor: the whole list when it held only this attribute (with the space after it), else the attribute.
        var editedAccessor = list.Attributes.Count == 1
            ? accessor.WithAttributeLists(accessor.AttributeLists.Remove(list)).WithLeadingTrivia(list.GetLeadingTrivia())
            : accessor.ReplaceNode(list, list.WithAttributes(list.Attributes.Remove(attribute)));
        var editedProperty = property.ReplaceNode(accessor, editedAccessor);

        // On the property, on a line of its own above it, indented like the property.
        var leading = editedProperty.GetLeadingTrivia();
        var indentation = leading.Count > 0 && leading[leading.Count - 1].IsKind(SyntaxKind.WhitespaceTrivia) ? leading[leading.Count - 1] : SyntaxFactory.Whitespace(string.Empty);
        var endOfLine = root.ToFullString().Contains("\r\n") ? SyntaxFactory.CarriageReturnLineFeed : SyntaxFactory.LineFeed;
        var moved = SyntaxFactory.AttributeList(SyntaxFactory.SingletonSeparatedList(attribute.WithoutTrivia()))
            .WithLeadingTrivia(leading)
            .WithTrailingTrivia(endOfLine);
        editedProperty = editedProperty
            .WithLeadingTrivia(indentation)
            .WithAttributeLists(editedProperty.AttributeLists.Insert(0, moved));
        return document.WithSyntaxRoot(root.ReplaceNode(property, editedProperty));
    }
}
