using System.Threading.Tasks;
using MambaGen.Analyzers.CodeFixes;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.Testing;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Tests.Rules;

public sealed class StaticStateTensorTests
{
    [Fact]
    public async Task Static_state_member_is_reported()
    {
        var test = new MambaAnalyzerTest<StaticStateTensorAnalyzer>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("short_conv")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public static long[] {|#0:ConvStateShape|} => new long[] { 4, 3 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "short_conv", "ConvStateTensor"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.StaticStateTensor).WithLocation(0).WithArguments("ConvStateShape"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Instance_state_members_are_not_reported()
    {
        await new MambaAnalyzerTest<StaticStateTensorAnalyzer>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("mamba2")]
            public partial class MyLayer : MambaBase
            {
                private static readonly long[] Shared = { 4, 3 };

                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => Shared;

                [StateTensor]
                public long[] SsmStateShape() => new long[] { 2, 4, 8 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "mamba2", "ConvStateTensor", "SsmStateTensor")).RunAsync();
    }

    [Fact]
    public async Task Fix_makes_static_states_instance_members()
    {
        await new MambaCodeFixTest<StaticStateTensorAnalyzer, MakeStateInstanceCodeFix>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("mamba2")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public static long[] {|MG0005:ConvStateShape|} => new long[] { 4, 3 };

                [StateTensor]
                static long[] {|MG0005:SsmStateShape|}() => new long[] { 2, 4, 8 };
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
                long[] SsmStateShape() => new long[] { 2, 4, 8 };
            }
            """,
            GeneratedLayerPart.For("MyLayer", "mamba2", "ConvStateTensor", "SsmStateTensor")).RunAsync();
    }
}
