using System.Collections.Generic;
using MambaGen.Generators.Tests.Infrastructure;

namespace MambaGen.Generators.Tests;

/// <summary>
/// Input the generator cannot complete: it writes nothing, throws nothing and reports nothing (the analyzer explains).
/// </summary>
public class InvalidLayerTests
{
    private const string Ctor = """
            public Layer(EngineConfig config) : base("layer", config) { }
        """;

    public static IEnumerable<object[]> Cases() => new[]
    {
        Case("not_partial", $$"""
            [MambaLayer("mamba1")]
            public class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("containing_type_not_partial", $$"""
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
        Case("not_deriving_from_MambaBase", """
            [MambaLayer("mamba1")]
            public partial class Layer
            {
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("unknown_mamba_type_without_backend", $$"""
            [MambaLayer("mamba3")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("empty_mamba_type", $$"""
            [MambaLayer("")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("null_mamba_type", $$"""
            [MambaLayer(null!)]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("missing_attribute_argument", $$"""
            [MambaLayer]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("array_mamba_type", $$"""
            [MambaLayer(new[] { "mamba1" })]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("array_order", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor(Order = new[] { 0 })] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("no_state_tensor", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("static_state_member", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public static long[] ConvState => new long[] { 1 };
            }
            """),
        Case("unsupported_member_type", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public System.Collections.Generic.List<long> ConvState => new() { 1 };
            }
            """),
        Case("tuple_with_non_integer_element", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public (int, double) ConvState => (1, 2.0);
            }
            """),
        Case("two_dimensional_array", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[,] ConvState => new long[1, 1];
            }
            """),
        Case("method_with_parameters", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState(int width) => new long[] { width };
            }
            """),
        Case("duplicate_order", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor(Order = 0)] public long[] ConvState => new long[] { 1 };
                [StateTensor(Order = 0)] public long[] SsmState => new long[] { 1 };
            }
            """),
        Case("two_states_with_the_same_accessor_name", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
                [StateTensor] public long[] ConvStateShape() => new long[] { 1 };
            }
            """),
        Case("custom_backend_not_a_backend", $$"""
            public sealed class NotABackend { }

            [MambaLayer("custom", Backend = typeof(NotABackend))]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("custom_backend_abstract", $$"""
            public abstract class AbstractBackend : MambaGen.Backends.MambaAttentionBackend { }

            [MambaLayer("custom", Backend = typeof(AbstractBackend))]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("custom_backend_without_public_parameterless_constructor", $$"""
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
        Case("file_local_layer", $$"""
            [MambaLayer("mamba1")]
            file partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("unresolved_member_type", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public UnknownShape ConvState => default!;
            }
            """),
        Case("dtype_out_of_range", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor(Dtype = (StateDtype)42)] public long[] ConvState => new long[] { 1 };
            }
            """),
        Case("order_not_a_constant", $$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor(Order = UnknownConstant)] public long[] ConvState => new long[] { 1 };
            }
            """),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Invalid_layer_produces_no_output_and_no_exception(string name, string body)
    {
        Assert.NotEmpty(name);
        GeneratorHarness.AssertNothingGenerated("using MambaGen;\n\nnamespace MyModels;\n\n" + body);
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
        var tree = Assert.Single(run.GeneratedTrees);
        Assert.EndsWith("MyModels.Fine.g.cs", tree.FilePath);
    }

    private static object[] Case(string name, string body) => new object[] { name, body };
}
