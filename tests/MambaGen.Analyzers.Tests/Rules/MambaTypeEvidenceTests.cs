using System.Threading.Tasks;
using MambaGen.Analyzers.CodeFixes;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using MambaGen.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace MambaGen.Analyzers.Tests.Rules;

// What a layer's states call (MambaStateShapeCalculator.Mamba2 means mamba2) picks MG0001's first fix and breaks
// MG0004's ties.
public sealed class MambaTypeEvidenceTests
{
    [Theory]
    [InlineData("Mamba2(1, 256, 1, 8, 32, 16, 4)", "mamba2")]
    [InlineData("ShortConv(1, 256, 4)", "short_conv")]
    [InlineData("GatedDeltaNet(1, 4, 8, 32, 32, 4)", "gdn_attention")]
    public async Task MG0001_first_fix_uses_the_mamba_type_of_the_calculator_the_states_call(string call, string mambaType)
    {
        await new MambaCodeFixTest<GeneratorDiagnostics, AddMambaLayerCodeFix>(
            $$"""
            using MambaGen;

            namespace Sample;

            public class {|MG0001:MyLayer|} : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                public object Shapes => MambaStateShapeCalculator.{{call}};
            }
            """,
            $$"""
            using MambaGen;

            namespace Sample;

            [MambaLayer("{{mambaType}}")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                public object Shapes => MambaStateShapeCalculator.{{call}};
            }
            """)
        {
            CompilerDiagnostics = CompilerDiagnostics.None,
            CodeActionIndex = 0,
        }.RunAsync();
    }

    [Fact]
    public async Task MG0001_first_fix_without_calculator_calls_stays_the_first_type_in_vllm_order()
    {
        await new MambaCodeFixTest<GeneratorDiagnostics, AddMambaLayerCodeFix>(
            """
            using MambaGen;

            namespace Sample;

            public class {|MG0001:MyLayer|} : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }
            }
            """,
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("mamba1")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }
            }
            """)
        {
            CompilerDiagnostics = CompilerDiagnostics.None,
            CodeActionIndex = 0,
        }.RunAsync();
    }

    [Theory]
    [InlineData("Mamba2(1, 256, 1, 8, 32, 16, 4)", "mamba2")]
    [InlineData("Mamba1(1, 256, 16, 4)", "mamba1")]
    [InlineData("ShortConv(1, 256, 4)", "mamba1")] // not one of the nearest: vLLM's order decides
    public async Task MG0004_breaks_a_tie_between_equally_near_types_by_the_calculator_the_states_call(string call, string suggestion)
    {
        var test = new MambaAnalyzerTest<UnknownMambaTypeAnalyzer>(
            $$"""
            using MambaGen;

            namespace Sample;

            [MambaLayer({|#0:"mamba3"|})]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public object Shapes => MambaStateShapeCalculator.{{call}};
            }
            """,
            GeneratedLayerPart.For("MyLayer", "mamba3", "ShapesTensor"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.UnknownMambaType)
            .WithLocation(0)
            .WithArguments("mamba3", suggestion, "mamba1, mamba2, short_conv, linear_attention, gdn_attention"));
        await test.RunAsync();
    }
}
