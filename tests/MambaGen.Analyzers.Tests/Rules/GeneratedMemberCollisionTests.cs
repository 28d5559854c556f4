using System.Threading.Tasks;
using MambaGen.Analyzers.CodeFixes;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.Testing;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Tests.Rules;

// The generated part stands in for a generator that skips members the layer already has, so each source compiles.
public sealed class GeneratedMemberCollisionTests
{
    [Fact]
    public async Task Hand_written_override_of_a_generated_member_is_reported()
    {
        var test = new MambaAnalyzerTest<GeneratedMemberCollisionAnalyzer>(
            """
            using System.Collections.Generic;
            using MambaGen;
            using MambaGen.Backends;
            using TorchSharp;

            namespace Sample;

            [MambaLayer("short_conv")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };

                public override string {|#0:MambaType|} => "short_conv";

                public override IReadOnlyList<long[]> {|#1:GetStateShape|}() => new[] { ConvStateShape };

                public override IReadOnlyList<torch.ScalarType> {|#2:GetStateDtype|}() => new[] { torch.ScalarType.Float32 };

                public override MambaAttentionBackend {|#3:GetAttnBackend|}() => MambaAttentionBackends.Get<ShortConvAttentionBackend>();
            }
            """,
            GeneratedLayerPart.WithoutOverrides("MyLayer", "ConvStateTensor"));
        test.ExpectedDiagnostics.Add(Collision(0, "MambaType", "the [MambaLayer] override of MambaBase.MambaType"));
        test.ExpectedDiagnostics.Add(Collision(1, "GetStateShape", "the [MambaLayer] override of MambaBase.GetStateShape()"));
        test.ExpectedDiagnostics.Add(Collision(2, "GetStateDtype", "the [MambaLayer] override of MambaBase.GetStateDtype()"));
        test.ExpectedDiagnostics.Add(Collision(3, "GetAttnBackend", "the [MambaLayer] override of MambaBase.GetAttnBackend()"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Hand_written_member_named_like_a_state_accessor_is_reported()
    {
        var test = new MambaAnalyzerTest<GeneratedMemberCollisionAnalyzer>(
            """
            using MambaGen;
            using TorchSharp;

            namespace Sample;

            [MambaLayer("short_conv")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };

                public torch.Tensor {|#0:ConvStateTensor|} => KvCache[0];
            }
            """,
            GeneratedLayerPart.For("MyLayer", "short_conv"));
        test.ExpectedDiagnostics.Add(Collision(0, "ConvStateTensor", "the accessor of state 'ConvStateShape'"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Generated_members_and_overloads_with_another_signature_are_not_reported()
    {
        await new MambaAnalyzerTest<GeneratedMemberCollisionAnalyzer>(
            """
            using System.Collections.Generic;
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

                public IReadOnlyList<long[]> GetStateShape(int tensorParallelSize) => GetStateShape();

                public long[] ConvStateShape => ConvState;
            }
            """,
            GeneratedLayerPart.For("MyLayer", "mamba2", "ConvStateTensor", "SsmStateTensor")).RunAsync();
    }

    [Fact]
    public async Task Fix_removes_the_hand_written_accessor()
    {
        await new MambaCodeFixTest<GeneratedMemberCollisionAnalyzer, RemoveCollidingMemberCodeFix>(
            """
            using MambaGen;
            using TorchSharp;

            namespace Sample;

            [MambaLayer("mamba2")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };

                [StateTensor]
                public long[] SsmStateShape => new long[] { 2, 4, 8 };

                /// <summary>The conv state.</summary>
                public torch.Tensor {|MG0009:ConvStateTensor|} => KvCache[0];

                private torch.Tensor {|MG0009:SsmStateTensor|}, scratch;
            }
            """,
            """
            using MambaGen;
            using TorchSharp;

            namespace Sample;

            [MambaLayer("mamba2")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };

                [StateTensor]
                public long[] SsmStateShape => new long[] { 2, 4, 8 };

                private torch.Tensor scratch;
            }
            """,
            GeneratedLayerPart.For("MyLayer", "mamba2")).RunAsync();
    }

    [Fact]
    public async Task Fix_removes_a_hand_written_override()
    {
        await new MambaCodeFixTest<GeneratedMemberCollisionAnalyzer, RemoveCollidingMemberCodeFix>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("short_conv")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                public override string {|MG0009:MambaType|} => "short_conv";

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };
            }
            """,
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
            """)
        {
            // Without the generator, removing the override leaves MambaType unimplemented (CS0534).
            CompilerDiagnostics = CompilerDiagnostics.None,
        }.RunAsync();
    }

    private static DiagnosticResult Collision(int location, string member, string origin) =>
        new DiagnosticResult(DiagnosticDescriptors.GeneratedMemberCollision).WithLocation(location).WithArguments(member, origin);
}
