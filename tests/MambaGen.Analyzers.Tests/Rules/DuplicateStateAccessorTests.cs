using System.Threading.Tasks;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.Testing;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Tests.Rules;

public sealed class DuplicateStateAccessorTests
{
    [Fact]
    public async Task States_differing_only_by_a_trailing_Shape_are_reported()
    {
        var test = new MambaAnalyzerTest<DuplicateStateAccessorAnalyzer>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("mamba2")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] {|#1:ConvState|} => new long[] { 4, 3 };

                [StateTensor]
                public long[] {|#0:ConvStateShape|}() => new long[] { 2, 4, 8 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "mamba2", "ConvStateTensor"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.DuplicateStateAccessor)
            .WithLocation(0)
            .WithLocation(1)
            .WithArguments("ConvStateShape", "ConvState", "ConvStateTensor"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Underscore_field_and_property_that_the_generator_names_alike_are_reported()
    {
        // The generator drops leading underscores and capitalises: _convShape and ConvShape both give ConvTensor.
        var test = new MambaAnalyzerTest<DuplicateStateAccessorAnalyzer>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("mamba2")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                private readonly long[] {|#1:_convShape|} = new long[] { 4, 3 };

                [StateTensor]
                public long[] {|#0:ConvShape|} => new long[] { 2, 4, 8 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "mamba2", "ConvTensor"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.DuplicateStateAccessor)
            .WithLocation(0)
            .WithLocation(1)
            .WithArguments("ConvShape", "_convShape", "ConvTensor"));
        await test.RunAsync();
    }

    [Fact]
    public async Task States_with_distinct_accessors_are_not_reported()
    {
        await new MambaAnalyzerTest<DuplicateStateAccessorAnalyzer>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("mamba2")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvState => new long[] { 4, 3 };

                [StateTensor]
                public long[] SsmStateShape => new long[] { 2, 4, 8 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "mamba2", "ConvStateTensor", "SsmStateTensor")).RunAsync();
    }
}
