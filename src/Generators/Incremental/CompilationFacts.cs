using System;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MambaGen.Generators.Incremental;

/// <summary>
/// What every layer's read depends on beyond its own files, taken once per compilation: the metadata references, the
/// language version, the global names that could hide a namespace the generated code names (MG0020), and the files
/// with global usings (which change how every file binds). A cached read is reused only under equal facts.
/// </summary>
internal sealed class CompilationFacts : IEquatable<CompilationFacts>
{
    private static readonly string[] GlobalNames = { "System", "MambaGen", "TorchSharp" };

    private CompilationFacts(ImmutableArray<MetadataReference> references, LanguageVersion languageVersion, string hiddenNames, ImmutableArray<SyntaxTree> globalUsingTrees)
    {
        References = references;
        LanguageVersion = languageVersion;
        HiddenNames = hiddenNames;
        GlobalUsingTrees = globalUsingTrees;
    }

    public ImmutableArray<MetadataReference> References { get; }

    public LanguageVersion LanguageVersion { get; }

    public string HiddenNames { get; }

    public ImmutableArray<SyntaxTree> GlobalUsingTrees { get; }

    // The facts of the previous compilation: while they stay equal the same instance is handed out, so each cached
    // read compares them by reference instead of comparing every metadata reference again.
    private static CompilationFacts? _last;

    public static CompilationFacts Of(Compilation compilation, ImmutableArray<SyntaxTree> globalUsingTrees)
    {
        // Only source types: GetTypeMembers realises just these names of the global namespace.
        var hidden = string.Join(",", GlobalNames.Where(n => compilation.GlobalNamespace.GetTypeMembers(n, 0).Any(t => t.Locations.Any(l => l.IsInSource))));
        var version = compilation is CSharpCompilation csharp ? csharp.LanguageVersion : LanguageVersion.Default;
        var facts = new CompilationFacts(compilation.References.ToImmutableArray(), version, hidden, globalUsingTrees);
        var last = _last;
        if (last is not null && last.Equals(facts))
        {
            return last;
        }

        _last = facts;
        return facts;
    }

    // References by identity: a project that changes one gets new reference objects.
    public bool Equals(CompilationFacts? other) =>
        ReferenceEquals(this, other)
        || (other is not null
        && LanguageVersion == other.LanguageVersion
        && HiddenNames == other.HiddenNames
        && References.SequenceEqual(other.References)
        && GlobalUsingTrees.SequenceEqual(other.GlobalUsingTrees));

    public override bool Equals(object? obj) => Equals(obj as CompilationFacts);

    public override int GetHashCode() => HiddenNames.GetHashCode() ^ (int)LanguageVersion ^ References.Length;
}
