using System.Threading.Tasks;
using MambaGen.Analyzers.CodeFixes;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.Testing;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Tests.Rules;

public sealed class UnknownMambaTypeTests
{
    private const string KnownTypes = "mamba1, mamba2, short_conv, linear_attention, gdn_attention";

    [Theory]
    [InlineData("mambo2", "mamba2")]
    [InlineData("mamba3", "mamba1")] // as near to mamba1 as to mamba2: the tie goes to the first in vLLM's order
    [InlineData("Mamba1", "mamba1")]
    [InlineData("shortconv", "short_conv")]
    [InlineData("gdn", "mamba1")]
    [InlineData("linear_attn", "linear_attention")]
    public async Task Unknown_mamba_type_is_reported_with_the_nearest_known_one(string mambaType, string suggestion)
    {
        var test = new MambaAnalyzerTest<UnknownMambaTypeAnalyzer>(
            $$"""
            using MambaGen;

            namespace Sample;

            [MambaLayer({|#0:"{{mambaType}}"|})]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", mambaType, "ConvStateTensor"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.UnknownMambaType).WithLocation(0).WithArguments(mambaType, suggestion, KnownTypes));
        await test.RunAsync();
    }

    [Fact]
    public async Task Array_argument_leaves_the_rule_silent_instead_of_crashing_the_analyzer()
    {
        // The compiler reports the bad argument (CS1503); the analyzer must not throw on the array constant.
        var test = new MambaAnalyzerTest<UnknownMambaTypeAnalyzer>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer(new[] { "mamba1" })]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "mamba1", "ConvStateTensor"));
        test.CompilerDiagnostics = CompilerDiagnostics.None;
        await test.RunAsync();
    }

    [Fact]
    public async Task Known_mamba_type_is_not_reported()
    {
        await new MambaAnalyzerTest<UnknownMambaTypeAnalyzer>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("linear_attention")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] StateShape => new long[] { 4, 8, 8 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "linear_attention", "StateTensor")).RunAsync();
    }

    [Fact]
    public async Task Custom_type_name_with_a_custom_backend_is_not_reported()
    {
        await new MambaAnalyzerTest<UnknownMambaTypeAnalyzer>(
            """
            using MambaGen;
            using MambaGen.Backends;

            namespace Sample;

            public sealed class RetNetBackend : MambaAttentionBackend
            {
                public override string Name => "RETNET_ATTN";
            }

            [MambaLayer("retnet", Backend = typeof(RetNetBackend))]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] StateShape => new long[] { 4, 8, 8 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "retnet", "StateTensor")).RunAsync();
    }

    [Fact]
    public async Task Fix_replaces_the_unknown_type_with_the_suggestion()
    {
        await new MambaCodeFixTest<UnknownMambaTypeAnalyzer, ReplaceMambaTypeCodeFix>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer({|MG0004:"mamba_2"|})]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };

                [StateTensor]
                public long[] SsmStateShape => new long[] { 2, 4, 8 };
            }
            """,
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("mamba2")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };

                [StateTensor]
                public long[] SsmStateShape => new long[] { 2, 4, 8 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "mamba2", "ConvStateTensor", "SsmStateTensor")).RunAsync();
    }
}
