using System.Threading.Tasks;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.Testing;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Tests.Rules;

public sealed class LayerNotMambaBaseTests
{
    [Fact]
    public async Task MambaLayer_on_a_class_outside_MambaBase_is_reported_on_the_attribute()
    {
        var test = new MambaAnalyzerTest<LayerNotMambaBaseAnalyzer>("""
            using MambaGen;

            namespace Sample;

            [{|#0:MambaLayer("mamba2")|}]
            public partial class NotALayer
            {
                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };
            }
            """);
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.LayerNotMambaBase).WithLocation(0).WithArguments("NotALayer"));
        await test.RunAsync();
    }

    [Fact]
    public async Task MambaLayer_on_an_indirect_MambaBase_subclass_is_not_reported()
    {
        await new MambaAnalyzerTest<LayerNotMambaBaseAnalyzer>(
            """
            using MambaGen;

            namespace Sample;

            public abstract class LayerBase : MambaBase
            {
                protected LayerBase(EngineConfig config) : base("layer", config) { }
            }

            [MambaLayer("short_conv")]
            public partial class MyLayer : LayerBase
            {
                public MyLayer(EngineConfig config) : base(config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "short_conv", "ConvStateTensor")).RunAsync();
    }
}
