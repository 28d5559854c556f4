using System.Collections.Immutable;
using System.Linq;
using System.Runtime.CompilerServices;
using MambaGen.Diagnostics;
using MambaGen.Generators;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace MambaGen.Analyzers.Tests.Verification;

/// <summary>
/// Not shipped: lets the roslyn-sdk harness verify the diagnostics the generator reports itself (MG0001, MG0002) and
/// the code fixes for them, by running <see cref="MambaLayerGenerator"/> on the test compilation and reporting what it
/// reports, as the compiler does in a build.
/// </summary>
#pragma warning disable RS1001 // Only the test harness creates it; no compiler ever loads it, so it needs no [DiagnosticAnalyzer].
internal sealed class GeneratorDiagnostics : DiagnosticAnalyzer
#pragma warning restore RS1001
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(DiagnosticDescriptors.MambaBaseMembersMissing, DiagnosticDescriptors.LayerNotPartial);

    // One generator run per compilation; each document reports its own diagnostics, so code fixes see them as local.
    private static readonly ConditionalWeakTable<Compilation, Diagnostic[]> Runs = new();

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterSemanticModelAction(c =>
        {
            var diagnostics = Runs.GetValue(c.SemanticModel.Compilation, Run);
            foreach (var diagnostic in diagnostics)
            {
                if (diagnostic.Location.SourceTree == c.SemanticModel.SyntaxTree)
                {
                    c.ReportDiagnostic(diagnostic);
                }
            }
        });
    }

    private static Diagnostic[] Run(Compilation compilation)
    {
        var parseOptions = compilation.SyntaxTrees.FirstOrDefault()?.Options as CSharpParseOptions;
        return CSharpGeneratorDriver.Create(new[] { new MambaLayerGenerator().AsSourceGenerator() }, parseOptions: parseOptions)
            .RunGenerators(compilation)
            .GetRunResult()
            .Diagnostics
            .ToArray();
    }
}
