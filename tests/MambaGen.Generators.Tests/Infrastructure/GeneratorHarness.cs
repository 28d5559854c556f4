using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MambaGen.Generators.Tests.Infrastructure;

/// <summary>Runs <see cref="MambaLayerGenerator"/> with step tracking on, the way every test needs it.</summary>
internal static class GeneratorHarness
{
    public static GeneratorDriver CreateDriver() => CSharpGeneratorDriver.Create(
        new[] { new MambaLayerGenerator().AsSourceGenerator() },
        parseOptions: TestCompilation.ParseOptions,
        driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    /// <summary>
    /// Runs the generator on <paramref name="sources"/> and proves the run is sound: no generator exception or
    /// diagnostic, an output compilation without warnings or errors, and a fully cached second run.
    /// </summary>
    public static GeneratorDriverRunResult RunValid(params string[] sources)
    {
        var compilation = TestCompilation.Create(sources);
        var inputProblems = TestCompilation.WarningsAndErrors(compilation)
            .Where(d => d.Id != "CS0534") // the abstract members the generator is about to write
            .ToArray();
        Assert.True(inputProblems.Length == 0, "The test input itself has problems:\n" + string.Join("\n", inputProblems.Select(d => d.ToString())));

        var driver = CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        var run = driver.GetRunResult();

        AssertNoException(run);
        Assert.Empty(generatorDiagnostics);
        Assert.Empty(run.Diagnostics);
        Assert.NotEmpty(run.GeneratedTrees);

        var problems = TestCompilation.WarningsAndErrors(output).ToArray();
        Assert.True(problems.Length == 0, "The generated code does not compile cleanly:\n" + string.Join("\n", problems.Select(d => d.ToString())));

        CacheAssertions.SecondRunIsFullyCached(driver, compilation);
        return run;
    }

    // A valid layer beside the invalid one: its output proves the run itself worked, so what is (not) written for the
    // invalid layer is not an artefact of a broken setup.
    private const string CompanionLayer = """
        namespace Companion
        {
            [global::MambaGen.MambaLayer("short_conv")]
            public partial class CompanionLayer : global::MambaGen.MambaBase
            {
                public CompanionLayer(global::MambaGen.EngineConfig config) : base("companion", config) { }

                [global::MambaGen.StateTensor]
                public long[] ConvState => new long[] { 1 };
            }
        }
        """;

    /// <summary>Runs the generator on a layer it cannot extend: it writes nothing for it and throws nothing. Returns
    /// the diagnostics it reports (MG0001 and MG0002 are its own).</summary>
    public static System.Collections.Immutable.ImmutableArray<Diagnostic> AssertNothingGenerated(params string[] sources)
    {
        var driver = CreateDriver().RunGenerators(TestCompilation.Create(sources.Append(CompanionLayer).ToArray()));
        var run = driver.GetRunResult();
        AssertNoException(run);
        var tree = Assert.Single(run.GeneratedTrees);
        Assert.EndsWith("Companion.CompanionLayer.g.cs", tree.FilePath);
        return run.Diagnostics;
    }

    /// <summary>
    /// Runs the generator on an invalid layer it can extend, named <c>MyModels.Layer</c>: it writes a fallback part for
    /// it (throwing overrides, no state accessors), throws and reports nothing, and the part adds no diagnostic to the
    /// compilation but removes the CS0534 the missing overrides caused. Returns the compilation with the part.
    /// </summary>
    public static Compilation RunFallback(string source)
    {
        var compilation = TestCompilation.Create(source, CompanionLayer);
        var driver = CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        var run = driver.GetRunResult();
        AssertNoException(run);
        Assert.Empty(generatorDiagnostics);
        Assert.Empty(run.Diagnostics);

        var names = run.GeneratedTrees.Select(t => System.IO.Path.GetFileName(t.FilePath)).OrderBy(n => n, StringComparer.Ordinal);
        Assert.Equal(new[] { "Companion.CompanionLayer.g.cs", "MyModels.Layer.g.cs" }, names);
        string fallback = run.GeneratedTrees.Single(t => t.FilePath.EndsWith("MyModels.Layer.g.cs", StringComparison.Ordinal)).ToString();
        Assert.Contains("throw new global::System.InvalidOperationException(", fallback);
        Assert.Contains("'MyModels.Layer'", fallback);
        Assert.DoesNotContain("StateAt(", fallback);

        // The part only removes CS0534: every other diagnostic of the input stays, none is added.
        var expected = TestCompilation.WarningsAndErrors(compilation).Where(d => d.Id != "CS0534").Select(d => d.ToString()).OrderBy(d => d, StringComparer.Ordinal);
        var actual = TestCompilation.WarningsAndErrors(output).Select(d => d.ToString()).OrderBy(d => d, StringComparer.Ordinal);
        Assert.Equal(expected, actual);

        CacheAssertions.SecondRunIsFullyCached(driver, compilation);
        return output;
    }

    public static void AssertNoException(GeneratorDriverRunResult run)
    {
        var exception = run.Results.Select(r => r.Exception).FirstOrDefault(e => e is not null);
        if (exception is not null)
        {
            throw new InvalidOperationException("The generator threw.", exception);
        }
    }
}
