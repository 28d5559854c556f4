using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using MambaGen.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;

namespace MambaGen.Generators.Tests;

/// <summary>
/// A seeded, bounded mutation test of the generator and the analyzers together (issue 10 found its bugs this way):
/// valid layers mutated by a few edits each. It fails on a generator or analyzer exception, on generated code that
/// does not compile when the input has no error of its own, on a fallback part with no error to explain it (a silent
/// fallback), and on a class left with only CS0534 and no MG error (what a command-line build would show).
/// </summary>
public class MutationFuzzTests
{
    private const int Seed = 20261204;
    private const int MaxCases = 300;
    private static readonly TimeSpan TimeBox = TimeSpan.FromSeconds(30);

    private static readonly string[] Seeds =
    {
        """
        using MambaGen;

        namespace MyModels;

        [MambaLayer("mamba2")]
        public partial class Mixer : MambaBase
        {
            private readonly int _inner = 256;

            public Mixer(string name, EngineConfig config) : base(name, config) { }

            [StateTensor]
            public long[] ConvState => MambaStateShapeCalculator.Mamba2(1, _inner, 1, 8, 32, 16, 4).Conv;

            [StateTensor(Dtype = StateDtype.Ssm)]
            public long[] SsmState => MambaStateShapeCalculator.Mamba2(1, _inner, 1, 8, 32, 16, 4).Ssm;
        }
        """,
        """
        using MambaGen;
        using MambaGen.Backends;

        namespace MyModels;

        public sealed class ShiftBackend : MambaAttentionBackend
        {
            public override string Name => "SHIFT";
        }

        public static partial class Blocks<TOptions>
        {
            [MambaLayer("token_shift", Backend = typeof(ShiftBackend))]
            public partial class Shift : MambaBase
            {
                public Shift(EngineConfig config) : base("shift", config) { }

                [StateTensor(Order = 0)]
                public (int, long) ConvState => (2, 64L);

                [StateTensor(Order = 1, Dtype = StateDtype.Float32)]
                public int[] SsmStateShape() => new[] { 4, 8 };
            }
        }
        """,
    };

    // Each mutation: a text in a seed, and what it may become.
    private static readonly (string Find, string[] Replacements)[] Mutations =
    {
        ("partial class Mixer", new[] { "class Mixer", "file partial class Mixer", "sealed partial class Mixer", "abstract partial class Mixer" }),
        ("partial class Blocks", new[] { "class Blocks", "file static partial class Blocks" }),
        ("\"mamba2\"", new[] { "\"\"", "null!", "\"mamba3\"", "\"Mamba2\"", "\"short_conv\"", "\"mamba2\", Backend = null" }),
        ("\"token_shift\"", new[] { "\"\"", "null!", "\"mamba1\"" }),
        ("[StateTensor]", new[] { string.Empty, "[StateTensor(Order = 0)]", "[StateTensor(Dtype = (StateDtype)9)]", "[StateTensor(Order = -1)]" }),
        ("[StateTensor(Order = 1, Dtype = StateDtype.Float32)]", new[] { "[StateTensor(Order = 0)]", string.Empty, "[StateTensor(Dtype = (StateDtype)(-1))]" }),
        ("public long[] ConvState", new[] { "public int[] ConvState", "public static long[] ConvState", "public long[] _1", "public long[] ConvStateShape", "public string ConvState", "private long[] _convShape", "public long[] SsmStateShape" }),
        ("public (int, long) ConvState", new[] { "public (int, double) ConvState", "public long[,] ConvState", "public (long, long, long) ConvState" }),
        ("public int[] SsmStateShape()", new[] { "public int[] SsmStateShape(int x)", "public int[] SsmState()", "public int[] SsmStateShape<T>()", "public int[] ConvStateShape()" }),
        ("public long[] SsmState =>", new[] { "public long[] SsmState { [StateTensor] get; } = null!; public long[] Unused =>", "long[] SsmState =>" }),
        ("public sealed class ShiftBackend", new[] { "public abstract class ShiftBackend", "file sealed class ShiftBackend", "public sealed class ShiftBackend2" }),
        ("public override string Name => \"SHIFT\";", new[] { "public override string Name => \"SHIFT\"; public required int Width { get; init; }", "public override string Name => \"SHIFT\"; private ShiftBackend() { }" }),
        ("    private readonly int _inner = 256;", new[] { "    private readonly int _inner = 256; public new string StateDtypes => \"x\";", "    private readonly int _inner = 256; public long[] ConvStateTensor => null!;", "    private readonly int _inner = 256; public override string MambaType => \"mamba2\";" }),
        ("namespace MyModels;", new[] { "namespace MyModels; public class TorchSharp { }", "namespace @checked;", "namespace MyModels.Inner;" }),
    };

    [Fact]
    public void Mutated_layers_never_crash_compile_wrongly_or_fall_back_silently()
    {
        var random = new Random(Seed);
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        int cases = 0;
        for (; cases < MaxCases && clock.Elapsed < TimeBox; cases++)
        {
            var source = Mutate(Seeds[random.Next(Seeds.Length)], random);
            var failure = Check(source);
            if (failure is not null)
            {
                failures.Add($"{failure}\n--- source ---\n{source}");
                if (failures.Count >= 3)
                {
                    break;
                }
            }
        }

        Assert.True(cases >= 50, $"Only {cases} cases ran in {TimeBox.TotalSeconds} s.");
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases} mutated layers failed:\n\n" + string.Join("\n\n", failures));
    }

    private static string Mutate(string seed, Random random)
    {
        var source = seed;
        int edits = 1 + random.Next(3);
        for (int i = 0; i < edits; i++)
        {
            var (find, replacements) = Mutations[random.Next(Mutations.Length)];
            int at = source.IndexOf(find, StringComparison.Ordinal);
            if (at >= 0)
            {
                source = source.Substring(0, at) + replacements[random.Next(replacements.Length)] + source.Substring(at + find.Length);
            }
        }

        return source;
    }

    /// <summary>What is wrong with the generator's and the analyzers' handling of <paramref name="source"/>; null when nothing.</summary>
    private static string? Check(string source)
    {
        var input = TestCompilation.Create(source);
        var driver = GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(input, out var output, out _);
        var run = driver.GetRunResult();
        if (run.Results.Single().Exception is { } generatorException)
        {
            return "The generator threw: " + generatorException;
        }

        ImmutableDiagnostics analyzed;
        try
        {
            analyzed = new ImmutableDiagnostics(MambaAnalyzers.Diagnostics(output));
        }
        catch (InvalidOperationException analyzerException)
        {
            return "An analyzer threw: " + analyzerException;
        }

        var inputErrors = input.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error && d.Id != "CS0534").ToArray();
        var generatedTrees = new HashSet<SyntaxTree>(run.GeneratedTrees);
        var outputErrors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToArray();
        var generatorErrors = run.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToArray();
        var mgErrors = analyzed.Errors.Where(d => d.Id.StartsWith("MG", StringComparison.Ordinal)).Concat(generatorErrors).ToArray();

        if (inputErrors.Length == 0)
        {
            var inGenerated = outputErrors.Where(d => d.Location.SourceTree is { } tree && generatedTrees.Contains(tree)).ToArray();
            if (inGenerated.Length > 0)
            {
                return "The generated code does not compile for an input without errors:\n" + Lines(inGenerated);
            }

            if (outputErrors.Any(d => d.Id == "CS0534") && generatorErrors.Length == 0)
            {
                return "A class is left with CS0534 and the generator reports no MG error (a command-line build would show only CS0534):\n" + Lines(outputErrors);
            }

            bool fallback = run.GeneratedTrees.Any(t => t.ToString().Contains("could not generate the state spec", StringComparison.Ordinal));
            if (fallback && mgErrors.Length == 0)
            {
                return "Silent fallback: a fallback part was written and no MG error explains it.";
            }
        }

        return null;
    }

    private static string Lines(IEnumerable<Diagnostic> diagnostics) => string.Join("\n", diagnostics.Select(d => d.ToString()));

    private sealed class ImmutableDiagnostics
    {
        public ImmutableDiagnostics(IEnumerable<Diagnostic> all) => Errors = all.Where(d => d.Severity == DiagnosticSeverity.Error).ToArray();

        public Diagnostic[] Errors { get; }
    }
}
