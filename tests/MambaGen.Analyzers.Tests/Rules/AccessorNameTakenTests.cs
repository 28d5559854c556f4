using System.Threading.Tasks;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using MambaGen.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace MambaGen.Analyzers.Tests.Rules;

public sealed class AccessorNameTakenTests
{
    [Fact]
    public async Task A_state_whose_accessor_is_the_class_name_is_reported_as_getting_none()
    {
        var test = new MambaAnalyzerTest<AccessorNameTakenAnalyzer>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("mamba1")]
            public partial class ConvTensor : MambaBase
            {
                public ConvTensor(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] {|#0:Conv|} => new long[] { 3, 8 };

                [StateTensor]
                public long[] Ssm => new long[] { 8, 4 };
            }
            """,
            GeneratedLayerPart.For("ConvTensor", "mamba1", "SsmTensor"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.AccessorNameTaken)
            .WithLocation(0)
            .WithArguments("Conv", "ConvTensor", "the class 'ConvTensor'"));
        await test.RunAsync();
    }

    [Fact]
    public async Task A_state_with_an_accessor_of_its_own_name_is_not_reported()
    {
        var test = new MambaAnalyzerTest<AccessorNameTakenAnalyzer>(
            """
            using MambaGen;

            namespace Sample;

            [MambaLayer("mamba1")]
            public partial class Layer : MambaBase
            {
                public Layer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] Conv => new long[] { 3, 8 };

                [StateTensor]
                public long[] Ssm => new long[] { 8, 4 };
            }
            """,
            GeneratedLayerPart.For("Layer", "mamba1", "ConvTensor", "SsmTensor"));
        await test.RunAsync();
    }
}
