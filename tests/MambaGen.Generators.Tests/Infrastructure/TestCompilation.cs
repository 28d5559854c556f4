using System.Collections.Generic;
using System.Linq;
using Basic.Reference.Assemblies;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MambaGen.Generators.Tests.Infrastructure;

/// <summary>Builds the compilations the generator runs on: .NET 10 reference assemblies plus MambaGen and TorchSharp.</summary>
internal static class TestCompilation
{
    public static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    // A typeof gives the assembly path without running TorchSharp's native-loading static code.
    private static readonly MetadataReference[] References = Net100.References.All
        .Concat(new[]
        {
            MetadataReference.CreateFromFile(typeof(MambaBase).Assembly.Location),
            MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location),
        })
        .ToArray();

    public static CSharpCompilation Create(params string[] sources)
    {
        var trees = sources.Select((source, i) => Parse(source, $"Source{i}.cs"));
        return CSharpCompilation.Create(
            "MambaGen.Generators.TestInput",
            trees,
            References,
            new CSharpCompilationOptions(
                OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable,
                // The strictest warning wave: generated code must not add any warning.
                warningLevel: 9999)
                // As the .NET SDK does (NoWarn 1701;1702): TorchSharp is built against System.Runtime 8.0.
                .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
                {
                    ["CS1701"] = ReportDiagnostic.Suppress,
                    ["CS1702"] = ReportDiagnostic.Suppress,
                }));
    }

    /// <summary>Parses with the same options as the original trees: different options would look like a change to the driver.</summary>
    public static SyntaxTree Parse(string source, string path) => CSharpSyntaxTree.ParseText(source, ParseOptions, path);

    public static IEnumerable<Diagnostic> WarningsAndErrors(Compilation compilation) =>
        compilation.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning);
}
