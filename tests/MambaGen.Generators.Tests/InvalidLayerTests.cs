using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;

namespace MambaGen.Generators.Tests;

/// <summary>
/// Input the generator cannot complete. It throws and reports nothing; a layer it cannot extend gets nothing, one it can
/// extend gets a fallback part of throwing overrides, so the class compiles and the analyzers' errors fail the build.
/// </summary>
public class InvalidLayerTests
{
    private const string Ctor = """
            public Layer(EngineConfig config) : base("layer", config) { }
        """;

    // The generator cannot add a part to these, and a valid layer beside them is unaffected. It reports MG0002 and MG0018
    // itself (the class keeps CS0534, so no analyzer would run in a command-line build); MG0003 is the analyzer's.
    public static IEnumerable<object?[]> NotExtendableCases() => new[]
    {
        Case("not_partial", "MG0002", $$"""
            [MambaLayer("mamba1")]
            public class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("containing_type_not_partial", "MG0002", $$"""
            public class Outer
            {
                [MambaLayer("mamba1")]
                public partial class Layer : MambaBase
                {
                {{Ctor}}
                    [StateTensor] public long[] ConvState => new long[] { 1 };
                }
            }
            """),
        Case("not_deriving_from_MambaBase", null, """
            [MambaLayer("mamba1")]
            public partial class Layer
            {
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("layer_nested_in_a_file_local_type", "MG0018", $$"""
            file static partial class Models
            {
                [MambaLayer("mamba1")]
                public partial class Layer : MambaBase
                {
                {{Ctor}}
                    [StateTensor] public long[] ConvState => new long[] { 1 };
                }
            }
            """),
        Case("file_local_layer", "MG0018", $$"""
            [MambaLayer("mamba1")]
            file partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
    };

    // The generator can add a part to these, but their declarations are invalid; each names the error that explains
    // it, reported by the analyzers or, where the code does not even bind, by the compiler.
    public static IEnumerable<object?[]> ExtendableCases() => new[]
    {
        Case("unknown_mamba_type_without_backend", "MG0004", $$"""
            [MambaLayer("mamba3")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("empty_mamba_type", "MG0004", $$"""
            [MambaLayer("")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("null_mamba_type", "MG0004", $$"""
            [MambaLayer(null!)]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("missing_attribute_argument", "CS7036", $$"""
            [MambaLayer]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("array_mamba_type", "CS1503", $$"""
            [MambaLayer(new[] { "mamba1" })]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("array_order", "CS0029", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor(Order = new[] { 0 })] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("no_state_tensor", "MG0007", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("static_state_member", "MG0005", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public static long[] ConvState => new long[] { 1 };
            }
            """),
        Case("unsupported_member_type", "MG0006", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public System.Collections.Generic.List<long> ConvState => new() { 1 };
            }
            """),
        Case("tuple_with_non_integer_element", "MG0006", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public (int, double) ConvState => (1, 2.0);
            }
            """),
        Case("two_dimensional_array", "MG0006", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[,] ConvState => new long[1, 1];
            }
            """),
        Case("method_with_parameters", "MG0006", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState(int width) => new long[] { width };
            }
            """),
        Case("duplicate_order", "MG0008", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor(Order = 0)] public long[] ConvState => new long[] { 1 };
                [StateTensor(Order = 0)] public long[] SsmState => new long[] { 1 };
            }
            """),
        Case("two_states_with_the_same_accessor_name", "MG0014", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
                [StateTensor] public long[] ConvStateShape() => new long[] { 1 };
            }
            """),
        Case("custom_backend_not_a_backend", "MG0011", $$"""
            public sealed class NotABackend { }

            [MambaLayer("custom", Backend = typeof(NotABackend))]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("custom_backend_abstract", "MG0012", $$"""
            public abstract class AbstractBackend : MambaGen.Backends.MambaAttentionBackend { }

            [MambaLayer("custom", Backend = typeof(AbstractBackend))]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("custom_backend_without_public_parameterless_constructor", "MG0012", $$"""
            public sealed class NamedBackend : MambaGen.Backends.MambaAttentionBackend
            {
                public NamedBackend(string name) => Name = name;
                public override string Name { get; }
            }

            [MambaLayer("custom", Backend = typeof(NamedBackend))]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("unresolved_member_type", "CS0246", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public UnknownShape ConvState => default!;
            }
            """),
        Case("dtype_out_of_range", "MG0016", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor(Dtype = (StateDtype)42)] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("empty_mamba_type_with_custom_backend", "MG0015", $$"""
            public sealed class MyBackend : MambaGen.Backends.MambaAttentionBackend
            {
                public override string Name => "MINE";
            }

            [MambaLayer("", Backend = typeof(MyBackend))]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("null_mamba_type_with_custom_backend", "MG0015", $$"""
            public sealed class MyBackend : MambaGen.Backends.MambaAttentionBackend
            {
                public override string Name => "MINE";
            }

            [MambaLayer(null!, Backend = typeof(MyBackend))]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("state_tensor_on_a_property_getter_next_to_another_state", "MG0017", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
                public long[] SsmState { [StateTensor] get => new long[] { 1 }; }
            }
            """),
        Case("order_not_a_constant", "CS0103", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor(Order = UnknownConstant)] public long[] ConvState => new long[] { 1 };
            }
            """),
    };

    [Theory]
    [MemberData(nameof(NotExtendableCases))]
    public void Layer_the_generator_cannot_extend_gets_no_output_and_no_exception(string name, string? reportedId, string body)
    {
        Assert.NotEmpty(name);
        var reported = GeneratorHarness.AssertNothingGenerated(Source(body));
        Assert.Equal(reportedId is null ? Array.Empty<string>() : new[] { reportedId }, reported.Select(d => d.Id));
    }

    [Theory]
    [MemberData(nameof(ExtendableCases))]
    public void Invalid_layer_the_generator_can_extend_gets_a_fallback_part_that_compiles(string name, string expectedError, string body)
    {
        Assert.NotEmpty(name);
        Assert.NotEmpty(expectedError);
        GeneratorHarness.RunFallback(Source(body));
    }

    [Theory]
    [MemberData(nameof(ExtendableCases))]
    public void Fallback_part_leaves_the_error_that_explains_the_invalid_layer_to_fail_the_build(string name, string expectedError, string body)
    {
        Assert.NotEmpty(name);
        var output = GeneratorHarness.RunFallback(Source(body));

        // A command-line build runs the analyzers only on a compilation without errors; code that does not bind
        // fails on the compiler's own error. Either way the build fails: no fallback is silent.
        var diagnostics = expectedError.StartsWith("MG", StringComparison.Ordinal)
            ? MambaAnalyzers.Diagnostics(output)
            : output.GetDiagnostics();
        var errors = diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.Id).ToArray();
        Assert.Contains(expectedError, errors);
        Assert.DoesNotContain("CS0534", errors);
    }

    [Theory]
    [MemberData(nameof(ExtendableCases))]
    public void Generator_and_analyzers_agree_on_the_rules_an_invalid_layer_breaks_and_the_fallback_names_them(string name, string expectedError, string body)
    {
        Assert.NotEmpty(name);
        var output = GeneratorHarness.RunFallback(Source(body));
        string fallback = output.SyntaxTrees.Single(t => t.FilePath.EndsWith("MyModels.Layer.g.cs", StringComparison.Ordinal)).ToString();
        var analyzerErrors = MambaAnalyzers.Diagnostics(output)
            .Where(d => d.Severity == DiagnosticSeverity.Error && d.Id.StartsWith("MG", StringComparison.Ordinal))
            .Select(d => d.Id)
            .Distinct()
            .OrderBy(id => id, StringComparer.Ordinal)
            .ToArray();

        var named = System.Text.RegularExpressions.Regex.Match(fallback, @"its declaration breaks ([^(]+) \(see those diagnostics");
        if (expectedError.StartsWith("MG", StringComparison.Ordinal))
        {
            Assert.True(named.Success, fallback);
            Assert.Equal(analyzerErrors, named.Groups[1].Value.Split(", "));
            Assert.Contains(expectedError, analyzerErrors);
        }
        else
        {
            Assert.False(named.Success, fallback);
            Assert.Contains("its declaration does not compile (see the compiler errors", fallback);
            Assert.Empty(analyzerErrors);
        }
    }

    [Fact]
    public void Unknown_mamba_type_gets_all_four_overrides_throwing_an_error_that_names_the_layer()
    {
        var run = GeneratorHarness.RunValid("""
            using MambaGen;

            namespace MyModels;

            [MambaLayer("mamba3")]
            public partial class Broken : MambaBase
            {
                public Broken(string name, EngineConfig config) : base(name, config) { }

                [StateTensor] public long[] ConvState => new long[] { 3, 8 };

                [StateTensor] public long[] SsmState => new long[] { 2, 4, 8 };
            }
            """);

        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Layer_without_states_keeps_its_hand_written_backend_and_gets_the_other_overrides_throwing()
    {
        var run = GeneratorHarness.RunValid("""
            using MambaGen;
            using MambaGen.Backends;

            namespace MyModels;

            [MambaLayer("short_conv")]
            public partial class Stateless : MambaBase
            {
                public Stateless(EngineConfig config) : base("stateless", config) { }

                public override MambaAttentionBackend GetAttnBackend() => MambaAttentionBackends.Get<ShortConvAttentionBackend>();
            }
            """);

        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Nested_generic_layer_with_duplicate_orders_gets_a_fallback_in_its_containing_types()
    {
        var run = GeneratorHarness.RunValid("""
            using MambaGen;

            namespace MyModels;

            public static partial class Hybrid<TOptions>
            {
                [MambaLayer("mamba2")]
                public partial class Mixer : MambaBase
                {
                    public Mixer(EngineConfig config) : base("mixer", config) { }

                    [StateTensor(Order = 1)] public long[] ConvState => new long[] { 3, 8 };

                    [StateTensor(Order = 1)] public long[] SsmState => new long[] { 2, 4, 8 };
                }
            }
            """);

        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Invalid_layer_whose_overrides_are_all_hand_written_gets_no_part()
    {
        GeneratorHarness.AssertNothingGenerated(Source("""
            [MambaLayer("mamba3")]
            public partial class Layer : MambaBase
            {
                public Layer(EngineConfig config) : base("layer", config) { }
                public override string MambaType => "mamba3";
                public override System.Collections.Generic.IReadOnlyList<long[]> GetStateShape() => new[] { new long[] { 1 } };
                public override System.Collections.Generic.IReadOnlyList<TorchSharp.torch.ScalarType> GetStateDtype() => new[] { TorchSharp.torch.ScalarType.Float32 };
                public override MambaGen.Backends.MambaAttentionBackend GetAttnBackend() => MambaGen.Backends.MambaAttentionBackends.Get<MambaGen.Backends.Mamba1AttentionBackend>();
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """));
    }

    [Fact]
    public void Broken_syntax_in_a_layer_does_not_make_the_generator_throw()
    {
        var driver = GeneratorHarness.CreateDriver().RunGenerators(TestCompilation.Create("""
            using MambaGen;

            [MambaLayer("mamba1"
            public partial class Layer : MambaBase
            {
                [StateTensor(Order = )] public long[] ConvState => new long[] { 1
            """));

        var run = driver.GetRunResult();
        GeneratorHarness.AssertNoException(run);
        Assert.Empty(run.Diagnostics);
    }

    [Fact]
    public void Invalid_layer_does_not_stop_a_valid_one_in_the_same_compilation()
    {
        var driver = GeneratorHarness.CreateDriver().RunGenerators(TestCompilation.Create("""
            using MambaGen;

            namespace MyModels;

            [MambaLayer("mamba3")]
            public partial class Broken : MambaBase
            {
                public Broken(EngineConfig config) : base("broken", config) { }
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }

            [MambaLayer("short_conv")]
            public partial class Fine : MambaBase
            {
                public Fine(EngineConfig config) : base("fine", config) { }
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """));

        var run = driver.GetRunResult();
        GeneratorHarness.AssertNoException(run);
        Assert.Equal(2, run.GeneratedTrees.Length);
        var fine = Assert.Single(run.GeneratedTrees, t => t.FilePath.EndsWith("MyModels.Fine.g.cs", StringComparison.Ordinal));
        Assert.Contains("base.StateAt(0)", fine.ToString());
        var broken = Assert.Single(run.GeneratedTrees, t => t.FilePath.EndsWith("MyModels.Broken.g.cs", StringComparison.Ordinal));
        Assert.DoesNotContain("StateAt(", broken.ToString());
    }

    [Fact]
    public void MambaBase_subclass_without_MambaLayer_gets_MG0001_from_the_generator_and_the_report_stays_cached()
    {
        var compilation = TestCompilation.Create(Source($$"""
            public class Layer : MambaBase
            {
            {{Ctor}}
                public override string MambaType => "mamba1";
            }
            """));
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var run = driver.GetRunResult();
        GeneratorHarness.AssertNoException(run);
        var diagnostic = Assert.Single(run.Diagnostics);
        Assert.Equal("MG0001", diagnostic.Id);
        Assert.Equal(DiagnosticSeverity.Error, diagnostic.Severity);
        Assert.Equal("'Layer' derives from MambaBase but does not implement GetStateShape(), GetStateDtype(), GetAttnBackend(); mark it [MambaLayer(\"<mamba type>\")] and partial so the generator writes them", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("Layer", diagnostic.Location.SourceTree!.GetText().ToString(diagnostic.Location.SourceSpan));

        var second = driver.RunGenerators(compilation.Clone()).GetRunResult().Results.Single();
        Assert.All(CacheAssertions.Outputs(second, TrackingNames.MissingMembersDiagnostics), o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
        Assert.All(second.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs), o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
        Assert.Single(second.Diagnostics);
    }

    [Fact]
    public void Abstract_MambaBase_subclass_and_a_look_alike_base_get_no_MG0001()
    {
        var run = GeneratorHarness.CreateDriver().RunGenerators(TestCompilation.Create(Source("""
            public abstract class LayerBase : MambaBase
            {
                protected LayerBase(EngineConfig config) : base("layer", config) { }
            }

            public class NotALayer : System.Collections.Generic.List<int> { }
            """))).GetRunResult();
        GeneratorHarness.AssertNoException(run);
        Assert.Empty(run.Diagnostics);
    }

    private static string Source(string body) => "using MambaGen;\n\nnamespace MyModels;\n\n" + body;

    private static object?[] Case(string name, string? expectedError, string body) => new object?[] { name, expectedError, body };
}
