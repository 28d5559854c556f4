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

    // A valid layer beside the invalid one: its output proves the run itself worked, so "nothing for the invalid
    // layer" is not an artefact of a broken setup.
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

    /// <summary>Runs the generator on a layer it must skip: it writes nothing for it, throws nothing and reports nothing.</summary>
    public static void AssertNothingGenerated(string source)
    {
        var driver = CreateDriver().RunGenerators(TestCompilation.Create(source, CompanionLayer));
        var run = driver.GetRunResult();
        AssertNoException(run);
        Assert.Empty(run.Diagnostics);
        var tree = Assert.Single(run.GeneratedTrees);
        Assert.EndsWith("Companion.CompanionLayer.g.cs", tree.FilePath);
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
