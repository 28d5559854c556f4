using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MambaGen.Generators.Incremental;

/// <summary>
/// Collects the syntax trees a read of a class depends on: while none of them changes (an edited file is a new tree),
/// reading the class again would give the same result, so the generator reuses it. Metadata, the language version and
/// the global names are checked per compilation by <see cref="CompilationFacts"/>.
/// </summary>
internal sealed class DependencyTrees
{
    private const int ConstantDepth = 4;

    private readonly HashSet<SyntaxTree> _trees = new();
    private readonly HashSet<string> _typeNames = new(System.StringComparer.Ordinal);
    private readonly HashSet<ISymbol> _seen = new(SymbolEqualityComparer.Default);

    public ImmutableArray<SyntaxTree> Trees => ImmutableArray.CreateRange(_trees);

    /// <summary>The names of the source types depended on: a file that adds a part to one of them is a dependency too.</summary>
    public ImmutableArray<string> TypeNames => ImmutableArray.CreateRange(_typeNames);

    /// <summary>The type's own declarations, those of the types around it, and of every base type (whose members and
    /// sealed overrides the reader looks at).</summary>
    public void AddTypeAndBases(ITypeSymbol? type, CancellationToken cancellationToken)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            for (ITypeSymbol? outer = t; outer is not null; outer = outer.ContainingType)
            {
                if (!_seen.Add(outer.OriginalDefinition))
                {
                    break;
                }

                if (!outer.DeclaringSyntaxReferences.IsEmpty)
                {
                    _typeNames.Add(outer.Name);
                }

                AddDeclarations(outer);
            }

            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>The declarations of the symbols an attribute's arguments name (a constant, a typeof), and, a few levels
    /// deep, of the constants those constants are computed from.</summary>
    public void AddAttributeArguments(AttributeData attribute, Compilation compilation, CancellationToken cancellationToken)
    {
        if (attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) is not AttributeSyntax { ArgumentList: { } arguments } syntax)
        {
            return;
        }

        var model = compilation.GetSemanticModel(syntax.SyntaxTree);
        foreach (var argument in arguments.Arguments)
        {
            AddNamedSymbols(argument.Expression, model, compilation, ConstantDepth, cancellationToken);
        }
    }

    private void AddNamedSymbols(ExpressionSyntax expression, SemanticModel model, Compilation compilation, int depth, CancellationToken cancellationToken)
    {
        foreach (var node in expression.DescendantNodesAndSelf())
        {
            if (node is not SimpleNameSyntax name || model.GetSymbolInfo(name, cancellationToken).Symbol is not { } symbol)
            {
                continue;
            }

            if (symbol is ITypeSymbol type)
            {
                AddTypeAndBases(type, cancellationToken);
                continue;
            }

            if (!_seen.Add(symbol))
            {
                continue;
            }

            AddDeclarations(symbol);
            AddTypeAndBases(symbol.ContainingType, cancellationToken);
            if (depth > 0 && symbol is IFieldSymbol { IsConst: true })
            {
                foreach (var reference in symbol.DeclaringSyntaxReferences)
                {
                    if (reference.GetSyntax(cancellationToken) is VariableDeclaratorSyntax { Initializer.Value: { } value })
                    {
                        AddNamedSymbols(value, compilation.GetSemanticModel(value.SyntaxTree), compilation, depth - 1, cancellationToken);
                    }
                }
            }
        }
    }

    private void AddDeclarations(ISymbol symbol)
    {
        foreach (var reference in symbol.DeclaringSyntaxReferences)
        {
            _trees.Add(reference.SyntaxTree);
        }
    }
}
