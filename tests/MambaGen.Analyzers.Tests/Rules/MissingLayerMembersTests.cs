using System.Threading.Tasks;
using MambaGen.Analyzers.CodeFixes;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.Testing;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Tests.Rules;

// The compiler's CS0534 says the same thing MG0001 explains, so these tests leave compiler diagnostics out.
public sealed class MissingLayerMembersTests
{
    [Fact]
    public async Task MambaBase_subclass_without_MambaLayer_is_told_every_missing_member()
    {
        var test = new MambaAnalyzerTest<GeneratorDiagnostics>("""
            using MambaGen;

            namespace Sample;

            public class {|#0:MyLayer|} : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }
            }
            """)
        {
            CompilerDiagnostics = CompilerDiagnostics.None,
        };
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.MambaBaseMembersMissing)
            .WithLocation(0)
            .WithArguments("MyLayer", "MambaType, GetStateShape(), GetStateDtype(), GetAttnBackend()"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Partly_hand_written_layer_is_told_only_the_members_it_lacks()
    {
        var test = new MambaAnalyzerTest<GeneratorDiagnostics>("""
            using System.Collections.Generic;
            using MambaGen;

            namespace Sample;

            public class {|#0:MyLayer|} : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                public override string MambaType => "mamba2";

                public override IReadOnlyList<long[]> GetStateShape() => new[] { new long[] { 4, 3 } };
            }
            """)
        {
            CompilerDiagnostics = CompilerDiagnostics.None,
        };
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.MambaBaseMembersMissing)
            .WithLocation(0)
            .WithArguments("MyLayer", "GetStateDtype(), GetAttnBackend()"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Fully_hand_written_layer_is_not_reported()
    {
        await new MambaAnalyzerTest<GeneratorDiagnostics>("""
            using System.Collections.Generic;
            using MambaGen;
            using MambaGen.Backends;
            using TorchSharp;

            namespace Sample;

            public class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                public override string MambaType => "mamba2";

                public override IReadOnlyList<long[]> GetStateShape() => new[] { new long[] { 4, 3 } };

                public override IReadOnlyList<torch.ScalarType> GetStateDtype() => new[] { torch.ScalarType.Float32 };

                public override MambaAttentionBackend GetAttnBackend() => MambaAttentionBackends.Get<Mamba2AttentionBackend>();
            }
            """).RunAsync();
    }

    [Fact]
    public async Task Abstract_subclass_is_not_reported()
    {
        await new MambaAnalyzerTest<GeneratorDiagnostics>("""
            using MambaGen;

            namespace Sample;

            public abstract class LayerBase : MambaBase
            {
                protected LayerBase(EngineConfig config) : base("layer", config) { }
            }
            """).RunAsync();
    }

    [Fact]
    public async Task MambaLayer_class_is_left_to_the_generator()
    {
        await new MambaAnalyzerTest<GeneratorDiagnostics>(
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

    [Fact]
    public async Task Subclass_of_a_generated_layer_is_not_reported()
    {
        await new MambaAnalyzerTest<GeneratorDiagnostics>(
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

            public class Derived : MyLayer
            {
                public Derived(EngineConfig config) : base(config) { }
            }
            """,
            GeneratedLayerPart.For("MyLayer", "short_conv", "ConvStateTensor")).RunAsync();
    }

    [Fact]
    public async Task Fix_marks_the_class_MambaLayer_of_the_chosen_type_and_partial()
    {
        await new MambaCodeFixTest<GeneratorDiagnostics, AddMambaLayerCodeFix>(
            """
            using MambaGen;

            namespace Sample;

            /// <summary>A layer.</summary>
            public sealed class {|MG0001:MyLayer|} : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }
            }
            """,
            """
            using MambaGen;

            namespace Sample;

            /// <summary>A layer.</summary>
            [MambaLayer("short_conv")]
            public sealed partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }
            }
            """)
        {
            CompilerDiagnostics = CompilerDiagnostics.None,
            CodeActionEquivalenceKey = AddMambaLayerCodeFix.EquivalenceKeyFor("short_conv"),
        }.RunAsync();
    }

    [Fact]
    public async Task Fix_all_marks_two_nested_layers_and_their_shared_containing_type_once()
    {
        await new MambaCodeFixTest<GeneratorDiagnostics, AddMambaLayerCodeFix>(
            """
            using MambaGen;

            namespace Sample;

            public static class Model
            {
                public class {|MG0001:Mixer|} : MambaBase
                {
                    public Mixer(EngineConfig config) : base("mixer", config) { }
                }

                public class {|MG0001:Conv|} : MambaBase
                {
                    public Conv(EngineConfig config) : base("conv", config) { }
                }
            }
            """,
            """
            using MambaGen;

            namespace Sample;

            public static partial class Model
            {
                [MambaLayer("mamba2")]
                public partial class Mixer : MambaBase
                {
                    public Mixer(EngineConfig config) : base("mixer", config) { }
                }

                [MambaLayer("mamba2")]
                public partial class Conv : MambaBase
                {
                    public Conv(EngineConfig config) : base("conv", config) { }
                }
            }
            """)
        {
            CompilerDiagnostics = CompilerDiagnostics.None,
            CodeActionEquivalenceKey = AddMambaLayerCodeFix.EquivalenceKeyFor("mamba2"),
        }.RunAsync();
    }

    [Fact]
    public async Task Fix_writes_the_attribute_qualified_in_a_file_without_a_MambaGen_using()
    {
        await new MambaCodeFixTest<GeneratorDiagnostics, AddMambaLayerCodeFix>(
            """
            namespace Sample;

            public class {|MG0001:MyLayer|} : MambaGen.MambaBase
            {
                public MyLayer(MambaGen.EngineConfig config) : base("layer", config) { }
            }
            """,
            """
            namespace Sample;

            [MambaGen.MambaLayer("mamba1")]
            public partial class MyLayer : MambaGen.MambaBase
            {
                public MyLayer(MambaGen.EngineConfig config) : base("layer", config) { }
            }
            """)
        {
            CompilerDiagnostics = CompilerDiagnostics.None,
            CodeActionEquivalenceKey = AddMambaLayerCodeFix.EquivalenceKeyFor("mamba1"),
        }.RunAsync();
    }
}
