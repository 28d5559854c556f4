using System.Threading.Tasks;
using MambaGen.Analyzers.CodeFixes;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using MambaGen.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace MambaGen.Analyzers.Tests.Rules;

// MG0015-MG0017: declarations the generator always refused (it wrote the throwing fallback) but no rule reported, so
// the build passed and the layer threw at run time.
public sealed class SilentFallbackRuleTests
{
    private const string Backend = """
        public sealed class MyBackend : MambaGen.Backends.MambaAttentionBackend
        {
            public override string Name => "MINE";
        }
        """;

    [Theory]
    [InlineData("\"\"")]
    [InlineData("null!")]
    public async Task Empty_or_null_mamba_type_with_a_custom_backend_is_reported(string mambaType)
    {
        var test = new MambaAnalyzerTest<EmptyMambaTypeAnalyzer>($$"""
            using MambaGen;

            namespace Sample;

            {{Backend}}

            [MambaLayer({|#0:{{mambaType}}|}, Backend = typeof(MyBackend))]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "x", "ConvStateTensor"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.EmptyMambaType).WithLocation(0).WithArguments("MyLayer"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Named_mamba_type_with_a_custom_backend_is_not_reported()
    {
        await new MambaAnalyzerTest<EmptyMambaTypeAnalyzer>($$"""
            using MambaGen;

            namespace Sample;

            {{Backend}}

            [MambaLayer("token_shift", Backend = typeof(MyBackend))]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "token_shift", "ConvStateTensor")).RunAsync();
    }

    [Fact]
    public async Task Dtype_cast_from_a_number_outside_StateDtype_is_reported_on_the_argument()
    {
        var test = new MambaAnalyzerTest<UnknownStateDtypeAnalyzer>("""
            using MambaGen;

            namespace Sample;

            [MambaLayer("short_conv")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor({|#0:Dtype = (StateDtype)42|})]
                public long[] ConvStateShape => new long[] { 4, 3 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "short_conv", "ConvStateTensor"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.UnknownStateDtype).WithLocation(0).WithArguments("ConvStateShape", 42));
        await test.RunAsync();
    }

    [Fact]
    public async Task Every_named_StateDtype_is_accepted()
    {
        await new MambaAnalyzerTest<UnknownStateDtypeAnalyzer>("""
            using MambaGen;

            namespace Sample;

            [MambaLayer("custom", Backend = typeof(MambaGen.Backends.Mamba1AttentionBackend))]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor(Dtype = StateDtype.Auto)] public long[] A => new long[] { 1 };
                [StateTensor(Dtype = StateDtype.Conv)] public long[] B => new long[] { 1 };
                [StateTensor(Dtype = StateDtype.Ssm)] public long[] C => new long[] { 1 };
                [StateTensor(Dtype = StateDtype.Float32)] public long[] D => new long[] { 1 };
                [StateTensor(Dtype = StateDtype.Float16)] public long[] E => new long[] { 1 };
                [StateTensor(Dtype = StateDtype.BFloat16)] public long[] F => new long[] { 1 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "custom", "ATensor", "BTensor", "CTensor", "DTensor", "ETensor", "FTensor")).RunAsync();
    }

    [Fact]
    public async Task StateTensor_on_a_property_getter_next_to_another_state_is_reported()
    {
        var test = new MambaAnalyzerTest<StateTensorOnAccessorAnalyzer>("""
            using MambaGen;

            namespace Sample;

            [MambaLayer("mamba1")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };

                public long[] SsmStateShape { [{|#0:StateTensor|}] get => new long[] { 4, 16 }; }
            }
            """,
            GeneratedLayerPart.For("MyLayer", "mamba1", "ConvStateTensor"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.StateTensorOnAccessor).WithLocation(0).WithArguments("get", "SsmStateShape"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Fix_moves_StateTensor_from_the_getter_to_the_property()
    {
        await new MambaCodeFixTest<StateTensorOnAccessorAnalyzer, MoveStateTensorToPropertyCodeFix>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("mamba1")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };

                public long[] SsmStateShape { [{|MG0017:StateTensor(Dtype = StateDtype.Float32)|}] get => new long[] { 4, 16 }; }
            }
            """,
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("mamba1")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };

                [StateTensor(Dtype = StateDtype.Float32)]
                public long[] SsmStateShape { get => new long[] { 4, 16 }; }
            }
            """,
            GeneratedLayerPart.For("MyLayer", "mamba1", "ConvStateTensor", "SsmStateTensor")).RunAsync();
    }
}
