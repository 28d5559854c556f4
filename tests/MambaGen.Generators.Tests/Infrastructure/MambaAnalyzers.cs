using System;
using System.Collections.Immutable;
using System.Linq;
using MambaGen.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Diagnostics;

namespace MambaGen.Generators.Tests.Infrastructure;

/// <summary>Runs every MambaGen analyzer on a compilation, as a build does once the compilation has no errors.</summary>
internal static class MambaAnalyzers
{
    private static readonly ImmutableArray<DiagnosticAnalyzer> All = typeof(MambaGen.Analyzers.MambaAnalyzer).Assembly.GetTypes()
        .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t))
        .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!)
        .ToImmutableArray();

    /// <summary>The compiler's and the analyzers' diagnostics of <paramref name="compilation"/>; an analyzer that throws fails the test.</summary>
    public static ImmutableArray<Diagnostic> Diagnostics(Compilation compilation)
    {
        Assert.NotEmpty(All);
        var options = new CompilationWithAnalyzersOptions(
            new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty),
            onAnalyzerException: (exception, analyzer, _) => throw new InvalidOperationException($"Analyzer {analyzer.GetType().Name} threw.", exception),
            concurrentAnalysis: false,
            logAnalyzerExecutionTime: false);
        return compilation.WithAnalyzers(All, options).GetAllDiagnosticsAsync().GetAwaiter().GetResult();
    }
}
