using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;

namespace MambaGen.Generators.Incremental;

/// <summary>
/// Reuses the result of reading a class declaration while nothing it depends on changed: every file it was read from
/// is still in the compilation (an edited file is a new tree), no file was added or removed that declares one of the
/// types it looked at, and the <see cref="CompilationFacts"/> are equal. Keyed by the declaration node, so an entry
/// lives as long as the tree that holds it. This keeps an unrelated keystroke from re-binding every layer.
/// </summary>
internal static class SemanticCache<T>
    where T : class
{
    private static readonly ConditionalWeakTable<SyntaxNode, Box> Entries = new();

    public static T GetOrRead(SyntaxNode declaration, Compilation compilation, CompilationFacts facts, TypeDeclarationIndex index, System.Func<DependencyTrees, T> read)
    {
        var box = Entries.GetValue(declaration, static _ => new Box());
        var entry = box.Entry;
        if (entry is not null && entry.IsValid(compilation, facts, index))
        {
            return entry.Value;
        }

        var dependencies = new DependencyTrees();
        var value = read(dependencies);
        var trees = dependencies.Trees;
        var names = dependencies.TypeNames;
        box.Entry = new Entry(value, facts, trees, names, names.Select(n => index.TreesDeclaring(n).ToImmutableArray()).ToImmutableArray());
        return value;
    }

    private sealed class Box
    {
        public volatile Entry? Entry;
    }

    private sealed class Entry
    {
        private readonly CompilationFacts _facts;
        private readonly ImmutableArray<SyntaxTree> _trees;
        private readonly ImmutableArray<string> _typeNames;
        private readonly ImmutableArray<ImmutableArray<SyntaxTree>> _declaringTrees;

        public Entry(T value, CompilationFacts facts, ImmutableArray<SyntaxTree> trees, ImmutableArray<string> typeNames, ImmutableArray<ImmutableArray<SyntaxTree>> declaringTrees)
        {
            Value = value;
            _facts = facts;
            _trees = trees;
            _typeNames = typeNames;
            _declaringTrees = declaringTrees;
        }

        public T Value { get; }

        public bool IsValid(Compilation compilation, CompilationFacts facts, TypeDeclarationIndex index)
        {
            if (!_facts.Equals(facts))
            {
                return false;
            }

            foreach (var tree in _trees)
            {
                if (!compilation.ContainsSyntaxTree(tree))
                {
                    return false;
                }
            }

            for (int i = 0; i < _typeNames.Length; i++)
            {
                var current = index.TreesDeclaring(_typeNames[i]);
                var then = _declaringTrees[i];
                if (current.Count != then.Length)
                {
                    return false;
                }

                for (int k = 0; k < then.Length; k++)
                {
                    if (current[k] != then[k])
                    {
                        return false;
                    }
                }
            }

            return true;
        }
    }
}

/// <summary>Which files declare a type of each simple name, built per compilation from the per-file scans.</summary>
internal sealed class TypeDeclarationIndex
{
    private static readonly SyntaxTree[] None = System.Array.Empty<SyntaxTree>();

    private readonly Dictionary<string, List<SyntaxTree>> _trees = new(System.StringComparer.Ordinal);

    public void Add(string name, SyntaxTree tree)
    {
        if (!_trees.TryGetValue(name, out var trees))
        {
            _trees[name] = trees = new List<SyntaxTree>(1);
        }

        if (trees.Count == 0 || trees[trees.Count - 1] != tree)
        {
            trees.Add(tree);
        }
    }

    public IReadOnlyList<SyntaxTree> TreesDeclaring(string name) =>
        _trees.TryGetValue(name, out var trees) ? trees : None;
}
