using System.Threading.Tasks;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.Testing;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Tests.Rules;

public sealed class DuplicateStateOrderTests
{
    [Fact]
    public async Task Second_state_with_the_same_Order_is_reported_pointing_at_the_first()
    {
        var test = new MambaAnalyzerTest<DuplicateStateOrderAnalyzer>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("mamba2")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor({|#1:Order = 0|})]
                public long[] ConvStateShape => new long[] { 4, 3 };

                [StateTensor(Dtype = StateDtype.Ssm, {|#0:Order = 0|})]
                public long[] SsmStateShape => new long[] { 2, 4, 8 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "mamba2", "ConvStateTensor", "SsmStateTensor"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.DuplicateStateOrder)
            .WithLocation(0)
            .WithLocation(1)
            .WithArguments("SsmStateShape", 0, "ConvStateShape"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Distinct_Orders_and_declaration_order_states_are_not_reported()
    {
        await new MambaAnalyzerTest<DuplicateStateOrderAnalyzer>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("mamba2")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor(Order = 1)]
                public long[] SsmStateShape => new long[] { 2, 4, 8 };

                [StateTensor(Order = 0)]
                public long[] ConvStateShape => new long[] { 4, 3 };

                [StateTensor(Order = -1)]
                public long[] ExtraShape => new long[] { 1 };

                [StateTensor(Order = -1)]
                public long[] OtherShape => new long[] { 1 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "mamba2", "SsmStateTensor", "ConvStateTensor", "ExtraTensor", "OtherTensor")).RunAsync();
    }
}
