using System.Threading.Tasks;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.Testing;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Tests.Rules;

public sealed class StateTensorOutsideLayerTests
{
    [Fact]
    public async Task StateTensor_in_a_hand_written_layer_without_MambaLayer_is_a_warning()
    {
        var test = new MambaAnalyzerTest<StateTensorOutsideLayerAnalyzer>("""
            using System.Collections.Generic;
            using MambaGen;
            using MambaGen.Backends;
            using TorchSharp;

            namespace Sample;

            public class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] {|#0:ConvStateShape|} => new long[] { 4, 3 };

                public override string MambaType => "short_conv";

                public override IReadOnlyList<long[]> GetStateShape() => new[] { ConvStateShape };

                public override IReadOnlyList<torch.ScalarType> GetStateDtype() => new[] { torch.ScalarType.Float32 };

                public override MambaAttentionBackend GetAttnBackend() => MambaAttentionBackends.Get<ShortConvAttentionBackend>();
            }
            """);
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.StateTensorOutsideLayer).WithLocation(0).WithArguments("ConvStateShape", "MyLayer"));
        await test.RunAsync();
    }

    [Fact]
    public async Task StateTensor_in_a_MambaLayer_class_is_not_reported()
    {
        await new MambaAnalyzerTest<StateTensorOutsideLayerAnalyzer>(
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
