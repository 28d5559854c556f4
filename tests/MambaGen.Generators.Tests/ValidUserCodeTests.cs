using System;
using System.Linq;
using MambaGen.Generators.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MambaGen.Generators.Tests;

/// <summary>
/// Valid user code on which the generated part once did not compile (found by mutating layer sources). Each now gets
/// generated code that compiles without warnings, or a clear MG diagnostic instead of a compiler error in generated code.
/// </summary>
public class ValidUserCodeTests
{
    private const string Ctor = """
            public Layer(EngineConfig config) : base("layer", config) { }
        """;

    [Fact]
    public void State_named_with_an_underscore_and_a_digit_gets_an_accessor_that_is_an_identifier()
    {
        var run = GeneratorHarness.RunValid(Source($$"""
            [MambaLayer("short_conv")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] private long[] _1 => new long[] { 1 };
            }
            """));
        Assert.Contains("public global::TorchSharp.torch.Tensor _1Tensor => base.StateAt(0);", Generated(run));
    }

    [Fact]
    public void User_members_named_StateDtypes_and_StateAt_do_not_change_what_the_generated_code_reads()
    {
        var run = GeneratorHarness.RunValid(Source($$"""
            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                public new string StateDtypes => "mine";
                public static int StateAt(string name) => name.Length;
                [StateTensor] public long[] ConvState => new long[] { 1 };
                [StateTensor] public long[] SsmState => new long[] { 1 };
            }
            """));
        var generated = Generated(run);
        Assert.Contains("base.StateDtypes.Conv", generated);
        Assert.Contains("base.StateAt(1)", generated);
    }

    [Fact]
    public void Accessor_named_like_the_layer_or_one_of_its_type_parameters_is_left_out()
    {
        var run = GeneratorHarness.RunValid(Source($$"""
            [MambaLayer("mamba1")]
            public partial class ConvTensor<SsmTensor> : MambaBase
            {
                public ConvTensor(EngineConfig config) : base("layer", config) { }
                [StateTensor] public long[] Conv => new long[] { 1 };
                [StateTensor] public long[] Ssm => new long[] { 1 };
            }
            """));
        var generated = Generated(run);
        Assert.DoesNotContain("Tensor ConvTensor =>", generated);
        Assert.DoesNotContain("Tensor SsmTensor =>", generated);
        Assert.Contains("GetStateShape()", generated);
    }

    [Theory]
    [InlineData("explicit_interface_state", "MG0006", """
        public interface IShapes { long[] ConvState { get; } }

        [MambaLayer("short_conv")]
        public partial class Layer : MambaBase, IShapes
        {
            public Layer(EngineConfig config) : base("layer", config) { }
            [StateTensor] long[] IShapes.ConvState => new long[] { 1 };
        }
        """)]
    [InlineData("backend_with_required_members", "MG0012", """
        public sealed class RequiredBackend : MambaGen.Backends.MambaAttentionBackend
        {
            public override string Name => "REQ";
            public required int Width { get; init; }
        }

        [MambaLayer("custom", Backend = typeof(RequiredBackend))]
        public partial class Layer : MambaBase
        {
            public Layer(EngineConfig config) : base("layer", config) { }
            [StateTensor] public long[] ConvState => new long[] { 1 };
        }
        """)]
    [InlineData("file_local_backend", "MG0012", """
        file sealed class FileBackend : MambaGen.Backends.MambaAttentionBackend
        {
            public override string Name => "FILE";
        }

        [MambaLayer("custom", Backend = typeof(FileBackend))]
        public partial class Layer : MambaBase
        {
            public Layer(EngineConfig config) : base("layer", config) { }
            [StateTensor] public long[] ConvState => new long[] { 1 };
        }
        """)]
    public void Declaration_the_generated_code_cannot_serve_gets_a_fallback_and_an_MG_error_instead_of_broken_code(string name, string expectedError, string body)
    {
        Assert.NotEmpty(name);
        var output = GeneratorHarness.RunFallback(Source(body));
        var errors = MambaAnalyzers.Diagnostics(output).Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.Id);
        Assert.Equal(new[] { expectedError }, errors.Distinct());
    }

    [Theory]
    [InlineData("TorchSharp")]
    [InlineData("System")]
    public void Global_type_hiding_a_namespace_the_generated_code_names_gets_MG0020_and_no_part(string name)
    {
        // Every layer of the compilation is affected: the generated code of none could compile.
        var run = GeneratorHarness.CreateDriver().RunGenerators(TestCompilation.Create("public class " + name + " { }", Source($$"""
            [MambaLayer("short_conv")]
            public partial class Layer : MambaBase
            {
            {{Ctor}}
                [StateTensor] public long[] ConvState => new long[] { 1 };
            }
            """))).GetRunResult();
        GeneratorHarness.AssertNoException(run);
        Assert.Empty(run.GeneratedTrees);
        var diagnostic = Assert.Single(run.Diagnostics);
        Assert.Equal("MG0020", diagnostic.Id);
        Assert.Contains($"the type '{name}' in the global namespace hides it", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void CSharp_7_3_project_gets_generated_code_without_the_nullable_directive_that_compiles()
    {
        var options = new CSharpParseOptions(LanguageVersion.CSharp7_3);
        var empty = TestCompilation.Create();
        var compilation = empty.WithOptions(empty.Options.WithNullableContextOptions(NullableContextOptions.Disable)).AddSyntaxTrees(CSharpSyntaxTree.ParseText("""
            using MambaGen;

            namespace MyModels
            {
                [MambaLayer("mamba1")]
                public partial class Layer : MambaBase
                {
                    public Layer(EngineConfig config) : base("layer", config) { }
                    [StateTensor] public long[] ConvState => new long[] { 1 };
                    [StateTensor] public (int, long) SsmState => (1, 2L);
                }
            }
            """, options, "Layer.cs"));
        var driver = CSharpGeneratorDriver.Create(new[] { new MambaLayerGenerator().AsSourceGenerator() }, parseOptions: options)
            .RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        var run = driver.GetRunResult();
        GeneratorHarness.AssertNoException(run);
        Assert.Empty(run.Diagnostics);
        var generated = Assert.Single(run.GeneratedTrees).ToString();
        Assert.DoesNotContain("#nullable", generated);
        Assert.Contains("base.StateAt(1)", generated);
        Assert.Empty(TestCompilation.WarningsAndErrors(output));
    }

    [Fact]
    public void CSharp_6_project_gets_MG0019_instead_of_generated_code_it_cannot_compile()
    {
        var options = new CSharpParseOptions(LanguageVersion.CSharp6);
        var compilation = TestCompilation.Create().AddSyntaxTrees(CSharpSyntaxTree.ParseText("""
            using MambaGen;

            namespace MyModels
            {
                [MambaLayer("short_conv")]
                public partial class Layer : MambaBase
                {
                    public Layer(EngineConfig config) : base("layer", config) { }
                    [StateTensor] public long[] ConvState => new long[] { 1 };
                }
            }
            """, options, "Layer.cs"));
        var run = CSharpGeneratorDriver.Create(new[] { new MambaLayerGenerator().AsSourceGenerator() }, parseOptions: options)
            .RunGenerators(compilation)
            .GetRunResult();
        GeneratorHarness.AssertNoException(run);
        Assert.Empty(run.GeneratedTrees);
        var diagnostic = Assert.Single(run.Diagnostics);
        Assert.Equal("MG0019", diagnostic.Id);
        Assert.Equal("The generated members of 'Layer' need C# 7.0 or later, but the project uses C# 6; raise LangVersion", diagnostic.GetMessage(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static string Generated(GeneratorDriverRunResult run) => string.Join("\n", run.GeneratedTrees.Select(t => t.ToString()));

    private static string Source(string body) => "using MambaGen;\n\nnamespace MyModels;\n\n" + body;
}
