using System.Threading.Tasks;
using MambaGen.Analyzers.CodeFixes;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.Testing;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Tests.Rules;

// The generator writes nothing for a layer it cannot extend, so the compiler's CS0534 joins in; these tests leave it out.
public sealed class LayerNotPartialTests
{
    [Fact]
    public async Task Layer_that_is_not_partial_is_reported()
    {
        var test = new MambaAnalyzerTest<GeneratorDiagnostics>("""
            using MambaGen;

            namespace Sample;

            [MambaLayer("short_conv")]
            public class {|#0:MyLayer|} : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] ConvStateShape => new long[] { 4, 3 };
            }
            """)
        {
            CompilerDiagnostics = CompilerDiagnostics.None,
        };
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.LayerNotPartial).WithLocation(0).WithArguments("MyLayer", "'MyLayer' is"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Partial_layer_in_a_type_that_is_not_partial_is_reported_naming_that_type()
    {
        var test = new MambaAnalyzerTest<GeneratorDiagnostics>("""
            using MambaGen;

            namespace Sample;

            public class Model
            {
                [MambaLayer("short_conv")]
                public partial class {|#0:MyLayer|} : MambaBase
                {
                    public MyLayer(EngineConfig config) : base("layer", config) { }

                    [StateTensor]
                    public long[] ConvStateShape => new long[] { 4, 3 };
                }
            }
            """)
        {
            CompilerDiagnostics = CompilerDiagnostics.None,
        };
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.LayerNotPartial).WithLocation(0).WithArguments("MyLayer", "'Model' is"));
        await test.RunAsync();
    }

    [Fact]
    public async Task Partial_layer_is_not_reported()
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
            """,
            GeneratedLayerPart.For("MyLayer", "short_conv", "ConvStateTensor")).RunAsync();
    }

    [Fact]
    public async Task Fix_makes_the_layer_and_every_containing_type_partial()
    {
        await new MambaCodeFixTest<GeneratorDiagnostics, MakeLayerPartialCodeFix>(
            """
            using MambaGen;

            namespace Sample;

            public static class Model
            {
                internal class Blocks
                {
                    [MambaLayer("short_conv")]
                    public sealed class {|MG0002:MyLayer|} : MambaBase
                    {
                        public MyLayer(EngineConfig config) : base("layer", config) { }

                        [StateTensor]
                        public long[] ConvStateShape => new long[] { 4, 3 };
                    }
                }
            }
            """,
            """
            using MambaGen;

            namespace Sample;

            public static partial class Model
            {
                internal partial class Blocks
                {
                    [MambaLayer("short_conv")]
                    public sealed partial class MyLayer : MambaBase
                    {
                        public MyLayer(EngineConfig config) : base("layer", config) { }

                        [StateTensor]
                        public long[] ConvStateShape => new long[] { 4, 3 };
                    }
                }
            }
            """)
        {
            CompilerDiagnostics = CompilerDiagnostics.None,
        }.RunAsync();
    }

    [Fact]
    public async Task Fix_all_makes_two_layers_and_their_shared_containing_type_partial()
    {
        await new MambaCodeFixTest<GeneratorDiagnostics, MakeLayerPartialCodeFix>(
            """
            using MambaGen;

            namespace Sample;

            class Model
            {
                [MambaLayer("short_conv")]
                class {|MG0002:First|} : MambaBase
                {
                    public First(EngineConfig config) : base("first", config) { }

                    [StateTensor]
                    public long[] ConvStateShape => new long[] { 4, 3 };
                }

                [MambaLayer("short_conv")]
                class {|MG0002:Second|} : MambaBase
                {
                    public Second(EngineConfig config) : base("second", config) { }

                    [StateTensor]
                    public long[] ConvStateShape => new long[] { 4, 3 };
                }
            }
            """,
            """
            using MambaGen;

            namespace Sample;

            partial class Model
            {
                [MambaLayer("short_conv")]
                partial class First : MambaBase
                {
                    public First(EngineConfig config) : base("first", config) { }

                    [StateTensor]
                    public long[] ConvStateShape => new long[] { 4, 3 };
                }

                [MambaLayer("short_conv")]
                partial class Second : MambaBase
                {
                    public Second(EngineConfig config) : base("second", config) { }

                    [StateTensor]
                    public long[] ConvStateShape => new long[] { 4, 3 };
                }
            }
            """)
        {
            CompilerDiagnostics = CompilerDiagnostics.None,
        }.RunAsync();
    }
}
