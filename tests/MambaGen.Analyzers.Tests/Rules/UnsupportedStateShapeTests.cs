using System.Threading.Tasks;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.Testing;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Tests.Rules;

public sealed class UnsupportedStateShapeTests
{
    [Theory]
    [InlineData("public float[] {|#0:StateShape|} = { 4f, 3f };", "has type 'float[]'")]
    [InlineData("public long[,] {|#0:StateShape|} = new long[1, 2];", "has type 'long[,]'")]
    [InlineData("public System.Collections.Generic.List<long> {|#0:StateShape|} => new() { 4, 3 };", "has type 'List<long>'")]
    [InlineData("public (int, double) {|#0:StateShape|} => (4, 3.0);", "has type '(int, double)'")]
    [InlineData("public void {|#0:StateShape|}() { }", "has type 'void'")]
    [InlineData("public long[] {|#0:StateShape|}(int heads) => new long[] { heads, 3 };", "takes parameters")]
    [InlineData("public long[] {|#0:StateShape|}<T>() => new long[] { 4, 3 };", "is generic")]
    [InlineData("public long[] {|#0:StateShape|} { set { } }", "is write-only")]
    [InlineData("public long[] {|#0:this|}[int i] => new long[] { i, 3 };", "is an indexer")]
    public async Task State_member_that_cannot_give_a_shape_is_reported_with_the_reason(string member, string reason)
    {
        var test = new MambaAnalyzerTest<UnsupportedStateShapeAnalyzer>(
            $$"""
            using MambaGen;

            namespace Sample;

            [MambaLayer("short_conv")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                {{member}}
            }
            """,
            GeneratedLayerPart.For("MyLayer", "short_conv"));
        var name = member.Contains("this") ? "this[]" : "StateShape";
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.UnsupportedStateShape).WithLocation(0).WithArguments(name, reason));
        await test.RunAsync();
    }

    [Theory]
    [InlineData("public long[] StateShape => new long[] { 4, 3 };")]
    [InlineData("public int[] StateShape => new[] { 4, 3 };")]
    [InlineData("public readonly long[] StateShape = { 4, 3 };")]
    [InlineData("public (int, long) StateShape => (4, 3L);")]
    [InlineData("public (int Heads, int HeadDim, int StateSize) StateShape => (4, 8, 16);")]
    [InlineData("public long[] StateShape() => new long[] { 4, 3 };")]
    [InlineData("public long[] StateShape { get; private set; } = { 4, 3 };")]
    public async Task Supported_state_members_are_not_reported(string member)
    {
        await new MambaAnalyzerTest<UnsupportedStateShapeAnalyzer>(
            $$"""
            using MambaGen;

            namespace Sample;

            [MambaLayer("short_conv")]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                {{member}}
            }
            """,
            GeneratedLayerPart.For("MyLayer", "short_conv", "StateTensor")).RunAsync();
    }
}
