using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace MambaGen.Analyzers.Tests.Verification;

/// <summary>An analyzer test against MambaGen, with references that need no download.</summary>
internal sealed class MambaAnalyzerTest<TAnalyzer> : CSharpAnalyzerTest<TAnalyzer, DefaultVerifier>
    where TAnalyzer : DiagnosticAnalyzer, new()
{
    public MambaAnalyzerTest(string source, params (string Name, string Text)[] otherFiles)
    {
        ReferenceAssemblies = TestReferences.NoDownload;
        TestState.AdditionalReferences.AddRange(TestReferences.All);
        TestState.Sources.Add(("Layer.cs", source));
        foreach (var file in otherFiles)
        {
            TestState.Sources.Add(file);
        }
    }
}
