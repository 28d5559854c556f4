using System.Threading.Tasks;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.Testing;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Tests.Rules;

public sealed class LayerWithoutStatesTests
{
    [Fact]
    public async Task Layer_without_StateTensor_members_is_reported()
    {
        var test = new MambaAnalyzerTest<LayerWithoutStatesAnalyzer>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("mamba2")]
            public partial class {|#0:MyLayer|} : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                public long[] ConvStateShape => new long[] { 4, 3 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "mamba2"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.LayerWithoutStates).WithLocation(0).WithArguments("MyLayer"));
        await test.RunAsync();
    }

    [Fact]
    public async Task States_inherited_from_a_base_class_do_not_count_as_the_layer_s_own()
    {
        var test = new MambaAnalyzerTest<LayerWithoutStatesAnalyzer>(
            """
            using MambaGen;

            namespace Sample;

            public abstract class LayerBase : MambaBase
            {
                protected LayerBase(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };
            }

            [MambaLayer("short_conv")]
            public partial class {|#0:MyLayer|} : LayerBase
            {
                public MyLayer(EngineConfig config) : base(config) { }
            }
            """,
            GeneratedLayerPart.For("MyLayer", "short_conv"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.LayerWithoutStates).WithLocation(0).WithArguments("MyLayer"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Layer_with_a_state_is_not_reported()
    {
        await new MambaAnalyzerTest<LayerWithoutStatesAnalyzer>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("short_conv")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "short_conv", "ConvStateTensor")).RunAsync();
    }
}
