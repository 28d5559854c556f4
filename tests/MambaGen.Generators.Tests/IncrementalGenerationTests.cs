using System.Linq;
using Microsoft.CodeAnalysis;
using MambaGen.Generators.Tests.Infrastructure;

namespace MambaGen.Generators.Tests;

/// <summary>
/// What the generator recomputes after an edit: nothing for edits that do not change a layer's declaration, the
/// edited layer only for edits that do.
/// </summary>
public class IncrementalGenerationTests
{
    private const string LayerSource = """
        using MambaGen;

        namespace MyModels;

        [MambaLayer("mamba2")]
        public partial class Mixer : MambaBase
        {
            public Mixer(EngineConfig config)
                : base("mixer", config)
            {
            }

            [StateTensor]
            public long[] ConvState => new long[] { 3, 256 };

            [StateTensor]
            public long[] SsmState => new long[] { 4, 64, 16 };
        }
        """;

    private const string SecondLayerSource = """
        using MambaGen;

        namespace MyModels;

        [MambaLayer("short_conv")]
        public partial class ShortConv : MambaBase
        {
            public ShortConv(EngineConfig config)
                : base("conv", config)
            {
            }

            [StateTensor]
            public long[] ConvState => new long[] { 128, 2 };
        }
        """;

    [Fact]
    public void Adding_an_unrelated_file_keeps_the_layer_output_cached()
    {
        var (driver, compilation, firstText) = FirstRun(LayerSource);

        var edited = compilation.AddSyntaxTrees(TestCompilation.Parse("namespace MyModels; public class Tokenizer { }", "Tokenizer.cs"));
        var second = Rerun(driver, edited);

        AssertReasons(second, TrackingNames.InitialExtraction, IncrementalStepRunReason.Cached);
        AssertReasons(second, TrackingNames.RemovingNulls, IncrementalStepRunReason.Cached);
        AssertOutputReasons(second, IncrementalStepRunReason.Cached);
        Assert.Equal(firstText, GeneratedText(second, "MyModels.Mixer.g.cs"));
    }

    [Fact]
    public void Adding_an_unrelated_member_to_the_layer_file_leaves_the_output_unchanged()
    {
        var (driver, compilation, firstText) = FirstRun(LayerSource);

        var edited = ReplaceSource(compilation, LayerSource.Replace(
            "    [StateTensor]\n    public long[] ConvState",
            "    public int HeadCount => 8;\n\n    [StateTensor]\n    public long[] ConvState"));
        var second = Rerun(driver, edited);

        AssertReasons(second, TrackingNames.InitialExtraction, IncrementalStepRunReason.Cached);
        AssertReasons(second, TrackingNames.RemovingNulls, IncrementalStepRunReason.Cached);
        AssertOutputReasons(second, IncrementalStepRunReason.Cached);
        Assert.Equal(firstText, GeneratedText(second, "MyModels.Mixer.g.cs"));
    }

    [Fact]
    public void Editing_the_expression_of_a_state_shape_leaves_the_output_unchanged()
    {
        var (driver, compilation, firstText) = FirstRun(LayerSource);

        // The generated code reads the member; its body is not part of the model.
        var edited = ReplaceSource(compilation, LayerSource.Replace("new long[] { 3, 256 }", "new long[] { 3, 512 }"));
        var second = Rerun(driver, edited);

        AssertReasons(second, TrackingNames.InitialExtraction, IncrementalStepRunReason.Cached);
        AssertOutputReasons(second, IncrementalStepRunReason.Cached);
        Assert.Equal(firstText, GeneratedText(second, "MyModels.Mixer.g.cs"));
    }

    [Fact]
    public void Changing_a_state_tensor_shape_member_regenerates_the_layer()
    {
        var (driver, compilation, firstText) = FirstRun(LayerSource);

        var edited = ReplaceSource(compilation, LayerSource.Replace(
            "public long[] SsmState => new long[] { 4, 64, 16 };",
            "public (int, int, int) SsmState => (4, 64, 16);"));
        var second = Rerun(driver, edited);

        AssertReasons(second, TrackingNames.InitialExtraction, IncrementalStepRunReason.Modified);
        AssertReasons(second, TrackingNames.RemovingNulls, IncrementalStepRunReason.Modified);
        AssertOutputReasons(second, IncrementalStepRunReason.Modified);
        string secondText = GeneratedText(second, "MyModels.Mixer.g.cs");
        Assert.NotEqual(firstText, secondText);
        Assert.Contains("new long[] { shape1.Item1, shape1.Item2, shape1.Item3 }", secondText);
    }

    [Fact]
    public void Fixing_an_invalid_mamba_type_replaces_the_fallback_part_with_the_full_one()
    {
        var broken = LayerSource.Replace("[MambaLayer(\"mamba2\")]", "[MambaLayer(\"mamba3\")]");
        var (driver, compilation, firstText) = FirstRun(broken);
        Assert.Contains("throw new global::System.InvalidOperationException(", firstText);

        var second = Rerun(driver, ReplaceSource(compilation, LayerSource));

        AssertReasons(second, TrackingNames.InitialExtraction, IncrementalStepRunReason.Modified);
        AssertOutputReasons(second, IncrementalStepRunReason.Modified);
        string secondText = GeneratedText(second, "MyModels.Mixer.g.cs");
        Assert.DoesNotContain("InvalidOperationException", secondText);
        Assert.Contains("public override string MambaType => \"mamba2\";", secondText);
        Assert.Contains("base.StateAt(1)", secondText);
    }

    [Fact]
    public void Changing_a_state_in_the_other_partial_file_regenerates_the_layer()
    {
        const string statesPart = """
            using MambaGen;

            namespace MyModels;

            public partial class Mixer
            {
                [StateTensor]
                public long[] ExtraState => new long[] { 1 };
            }
            """;
        var (driver, compilation, firstText) = FirstRun(LayerSource, statesPart);

        var oldTree = compilation.SyntaxTrees.Single(t => t.FilePath == "Source1.cs");
        var edited = compilation.ReplaceSyntaxTree(oldTree, TestCompilation.Parse(statesPart.Replace("[StateTensor]", "[StateTensor(Dtype = StateDtype.Float32)]"), oldTree.FilePath));
        var second = Rerun(driver, edited);

        AssertReasons(second, TrackingNames.InitialExtraction, IncrementalStepRunReason.Modified);
        AssertOutputReasons(second, IncrementalStepRunReason.Modified);
        Assert.Contains("global::TorchSharp.torch.ScalarType.Float32", GeneratedText(second, "MyModels.Mixer.g.cs"));
        Assert.DoesNotContain("ScalarType.Float32", firstText);
    }

    [Fact]
    public void Adding_a_second_layer_leaves_the_first_unchanged()
    {
        var (driver, compilation, firstText) = FirstRun(LayerSource);

        var edited = compilation.AddSyntaxTrees(TestCompilation.Parse(SecondLayerSource, "ShortConv.cs"));
        var second = Rerun(driver, edited);

        var extraction = CacheAssertions.Outputs(second, TrackingNames.InitialExtraction).Select(o => o.Reason).OrderBy(r => r).ToArray();
        Assert.Equal(new[] { IncrementalStepRunReason.New, IncrementalStepRunReason.Unchanged }, extraction);
        var outputs = second.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).Select(o => o.Reason).OrderBy(r => r).ToArray();
        Assert.Equal(new[] { IncrementalStepRunReason.New, IncrementalStepRunReason.Cached }, outputs);
        Assert.Equal(firstText, GeneratedText(second, "MyModels.Mixer.g.cs"));
        Assert.Contains("ShortConvAttentionBackend", GeneratedText(second, "MyModels.ShortConv.g.cs"));
    }

    [Fact]
    public void Editing_an_unrelated_file_reads_no_layer_again()
    {
        var (driver, compilation, _) = FirstRun(LayerSource, "namespace MyModels; public static class Settings { public const int Width = 1; }");
        var first = CacheAssertions.Outputs(driver.GetRunResult().Results.Single(), TrackingNames.InitialExtraction).Single().Value;

        var settings = compilation.SyntaxTrees.Single(t => t.FilePath == "Source1.cs");
        var edited = compilation.ReplaceSyntaxTree(settings, TestCompilation.Parse("namespace MyModels; public static class Settings { public const int Width = 2; }", "Source1.cs"));
        var second = Rerun(driver, edited);

        // The very object of the first run: the layer was not bound or read again, only looked up.
        Assert.Same(first, CacheAssertions.Outputs(second, TrackingNames.InitialExtraction).Single().Value);
    }

    [Fact]
    public void Editing_a_constant_in_another_file_that_a_state_Order_uses_regenerates_the_layer()
    {
        const string orders = "namespace MyModels; public static class Orders { public const int Conv = 0; public const int Ssm = 1; }";
        var (driver, compilation, firstText) = FirstRun(LayerSource.Replace("[StateTensor]\n    public long[] ConvState", "[StateTensor(Order = Orders.Conv)]\n    public long[] ConvState").Replace("[StateTensor]\n    public long[] SsmState", "[StateTensor(Order = Orders.Ssm)]\n    public long[] SsmState"), orders);
        Assert.Contains("Orders.Conv", compilation.SyntaxTrees.First().ToString());
        Assert.True(firstText.IndexOf("this.ConvState,", System.StringComparison.Ordinal) < firstText.IndexOf("this.SsmState,", System.StringComparison.Ordinal));

        var tree = compilation.SyntaxTrees.Single(t => t.FilePath == "Source1.cs");
        var edited = compilation.ReplaceSyntaxTree(tree, TestCompilation.Parse(orders.Replace("Conv = 0", "Conv = 2"), "Source1.cs"));
        var secondText = GeneratedText(Rerun(driver, edited), "MyModels.Mixer.g.cs");

        Assert.True(secondText.IndexOf("this.SsmState,", System.StringComparison.Ordinal) < secondText.IndexOf("this.ConvState,", System.StringComparison.Ordinal), secondText);
    }

    [Fact]
    public void Giving_the_custom_backend_in_another_file_a_required_member_turns_the_layer_into_a_fallback()
    {
        const string backend = "namespace MyModels; public sealed class MyBackend : MambaGen.Backends.MambaAttentionBackend { public override string Name => \"MINE\"; }";
        var (driver, compilation, firstText) = FirstRun(LayerSource.Replace("[MambaLayer(\"mamba2\")]", "[MambaLayer(\"mine\", Backend = typeof(MyBackend))]"), backend);
        Assert.Contains("MambaAttentionBackends.Get<global::MyModels.MyBackend>()", firstText);

        var tree = compilation.SyntaxTrees.Single(t => t.FilePath == "Source1.cs");
        var edited = compilation.ReplaceSyntaxTree(tree, TestCompilation.Parse(backend.Replace("public override", "public required int Width { get; init; } public override"), "Source1.cs"));
        var secondText = GeneratedText(Rerun(driver, edited), "MyModels.Mixer.g.cs");

        Assert.Contains("its declaration breaks MG0012", secondText);
    }

    [Fact]
    public void Adding_a_partial_file_with_another_state_regenerates_the_layer()
    {
        var (driver, compilation, firstText) = FirstRun(LayerSource);
        Assert.DoesNotContain("ExtraState", firstText);

        var edited = compilation.AddSyntaxTrees(TestCompilation.Parse("""
            namespace MyModels;

            public partial class Mixer
            {
                [MambaGen.StateTensor]
                public long[] ExtraState => new long[] { 1 };
            }
            """, "MixerExtra.cs"));
        var secondText = GeneratedText(Rerun(driver, edited), "MyModels.Mixer.g.cs");

        Assert.Contains("ExtraStateTensor => base.StateAt(2)", secondText);
    }

    [Fact]
    public void Adding_a_global_TorchSharp_type_in_another_file_stops_the_generated_part()
    {
        var (driver, compilation, _) = FirstRun(LayerSource);

        var edited = compilation.AddSyntaxTrees(TestCompilation.Parse("public class TorchSharp { }", "TorchSharp.cs"));
        var second = driver.RunGenerators(edited).GetRunResult();

        Assert.Empty(second.GeneratedTrees);
        Assert.Equal("MG0020", Assert.Single(second.Diagnostics).Id);
    }

    private static (GeneratorDriver Driver, Compilation Compilation, string Text) FirstRun(params string[] sources)
    {
        var compilation = TestCompilation.Create(sources);
        var driver = GeneratorHarness.CreateDriver().RunGenerators(compilation);
        var result = driver.GetRunResult().Results.Single();
        Assert.Null(result.Exception);
        return (driver, compilation, GeneratedText(result, "MyModels.Mixer.g.cs"));
    }

    private static GeneratorRunResult Rerun(GeneratorDriver driver, Compilation edited)
    {
        var result = driver.RunGenerators(edited).GetRunResult().Results.Single();
        Assert.Null(result.Exception);
        return result;
    }

    private static Compilation ReplaceSource(Compilation compilation, string newSource)
    {
        var oldTree = compilation.SyntaxTrees.Single(t => t.FilePath == "Source0.cs");
        Assert.NotEqual(oldTree.ToString(), newSource.ReplaceLineEndings("\n"));
        return compilation.ReplaceSyntaxTree(oldTree, TestCompilation.Parse(newSource, oldTree.FilePath));
    }

    private static string GeneratedText(GeneratorRunResult result, string hintName) =>
        result.GeneratedSources.Single(s => s.HintName == hintName).SourceText.ToString();

    private static void AssertReasons(GeneratorRunResult result, string stepName, IncrementalStepRunReason expected)
    {
        var outputs = CacheAssertions.Outputs(result, stepName);
        Assert.NotEmpty(outputs);
        Assert.All(outputs, o => Assert.Equal(expected, o.Reason));
    }

    private static void AssertOutputReasons(GeneratorRunResult result, IncrementalStepRunReason expected)
    {
        var outputs = result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).ToArray();
        Assert.NotEmpty(outputs);
        Assert.All(outputs, o => Assert.Equal(expected, o.Reason));
    }
}
