using System.Threading.Tasks;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis.Testing;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Tests.Rules;

public sealed class CustomBackendTests
{
    [Fact]
    public async Task Backend_outside_MambaAttentionBackend_is_reported()
    {
        var test = new MambaAnalyzerTest<CustomBackendAnalyzer>(Layer("NotABackend", """
            public sealed class NotABackend
            {
                public string Name => "NOPE";
            }
            """), GeneratedLayerPart.For("MyLayer", "retnet", "StateTensor"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.BackendNotMambaAttentionBackend).WithLocation(0).WithArguments("NotABackend", "MyLayer"));
        await test.RunAsync();
    }

    [Theory]
    [InlineData("public abstract class RetNetBackend : MambaAttentionBackend { }", "is abstract")]
    [InlineData("public sealed class RetNetBackend : MambaAttentionBackend { private RetNetBackend() { } public override string Name => \"R\"; }", "has no public parameterless constructor")]
    [InlineData("public sealed class RetNetBackend : MambaAttentionBackend { public RetNetBackend(int heads) { } public override string Name => \"R\"; }", "has no public parameterless constructor")]
    [InlineData("public class RetNetBackend : MambaAttentionBackend { protected RetNetBackend() { } public override string Name => \"R\"; }", "has no public parameterless constructor")]
    public async Task Backend_that_new_cannot_create_is_reported(string backend, string reason)
    {
        var test = new MambaAnalyzerTest<CustomBackendAnalyzer>(Layer("RetNetBackend", backend), GeneratedLayerPart.For("MyLayer", "retnet", "StateTensor"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.BackendNotConstructible).WithLocation(0).WithArguments("RetNetBackend", "MyLayer", reason));
        await test.RunAsync();
    }

    [Fact]
    public async Task Open_generic_backend_is_reported()
    {
        var test = new MambaAnalyzerTest<CustomBackendAnalyzer>(
            Layer("RetNetBackend<>", "public sealed class RetNetBackend<T> : MambaAttentionBackend { public override string Name => \"R\"; }"),
            GeneratedLayerPart.For("MyLayer", "retnet", "StateTensor"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.BackendNotConstructible).WithLocation(0).WithArguments("RetNetBackend<>", "MyLayer", "is an open generic type"));
        await test.RunAsync();
    }

    [Theory]
    [InlineData("public sealed class RetNetBackend : MambaAttentionBackend { public override string Name => \"R\"; }")]
    [InlineData("public sealed class RetNetBackend : Mamba2AttentionBackend { public RetNetBackend() { } public RetNetBackend(int heads) { } }")]
    public async Task Concrete_backend_with_a_public_parameterless_constructor_is_not_reported(string backend)
    {
        await new MambaAnalyzerTest<CustomBackendAnalyzer>(Layer("RetNetBackend", backend, marked: false), GeneratedLayerPart.For("MyLayer", "retnet", "StateTensor")).RunAsync();
    }

    private static string Layer(string backendType, string backendDeclaration, bool marked = true)
    {
        var typeOf = marked ? $"{{|#0:typeof({backendType})|}}" : $"typeof({backendType})";
        return $$"""
            using MambaGen;
            using MambaGen.Backends;

            namespace Sample;

            {{backendDeclaration}}

            [MambaLayer("retnet", Backend = {{typeOf}})]
            public partial class MyLayer : MambaBase
            {
                public MyLayer(EngineConfig config) : base("layer", config) { }

                [StateTensor]
                public long[] StateShape => new long[] { 4, 8, 8 };
            }
            """;
    }
}
