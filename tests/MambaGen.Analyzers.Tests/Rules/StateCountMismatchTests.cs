using System.Linq;
using System.Threading.Tasks;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.Testing;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Tests.Rules;

public sealed class StateCountMismatchTests
{
    [Theory]
    [InlineData("mamba1", 2, 1)]
    [InlineData("mamba2", 2, 3)]
    [InlineData("gdn_attention", 2, 1)]
    [InlineData("short_conv", 1, 2)]
    [InlineData("linear_attention", 1, 2)]
    public async Task State_count_that_does_not_fit_the_mamba_type_is_a_warning(string mambaType, int expected, int declared)
    {
        var test = new MambaAnalyzerTest<StateCountMismatchAnalyzer>(LayerWithStates(mambaType, declared, markType: true), Generated(mambaType, declared));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.StateCountMismatch).WithLocation(0).WithArguments(mambaType, expected, "MyLayer", declared));
        await test.RunAsync();
    }

    [Theory]
    [InlineData("mamba1", 2)]
    [InlineData("mamba2", 2)]
    [InlineData("gdn_attention", 2)]
    [InlineData("short_conv", 1)]
    [InlineData("linear_attention", 1)]
    public async Task State_count_of_the_mamba_type_is_not_reported(string mambaType, int declared)
    {
        await new MambaAnalyzerTest<StateCountMismatchAnalyzer>(LayerWithStates(mambaType, declared, markType: false), Generated(mambaType, declared)).RunAsync();
    }

    [Fact]
    public async Task Layer_with_a_custom_backend_may_keep_any_number_of_states()
    {
        await new MambaAnalyzerTest<StateCountMismatchAnalyzer>(
            """
            using MambaGen;
            using MambaGen.Backends;

            namespace Sample;

            public sealed class TripleStateBackend : MambaAttentionBackend
            {
                public override string Name => "TRIPLE";
            }

            [MambaLayer("mamba2", Backend = typeof(TripleStateBackend))]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] S0Shape => new long[] { 1 };

                [StateTensor]
                public long[] S1Shape => new long[] { 1 };

                [StateTensor]
                public long[] S2Shape => new long[] { 1 };
            }
            """,
            Generated("mamba2", 3)).RunAsync();
    }

    private static string LayerWithStates(string mambaType, int count, bool markType)
    {
        var states = string.Concat(Enumerable.Range(0, count).Select(i => $"\n    [StateTensor]\n    public long[] S{i}Shape => new long[] {{ 4, {i + 1} }};\n"));
        var type = markType ? $"{{|#0:\"{mambaType}\"|}}" : $"\"{mambaType}\"";
        return $$"""
            using MambaGen;

            namespace Sample;

            [MambaLayer({{type}})]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }
            {{states}}}
            """;
    }

    private static (string, string) Generated(string mambaType, int count) =>
        GeneratedLayerPart.For("MyLayer", mambaType, Enumerable.Range(0, count).Select(i => $"S{i}Tensor").ToArray());
}
