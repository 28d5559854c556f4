using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace MambaGen.Analyzers.Tests.Verification;

/// <summary>A code fix test against MambaGen, with references that need no download. The roslyn-sdk harness also
/// checks that Fix All in document, project and solution gives the same result.</summary>
internal sealed class MambaCodeFixTest<TAnalyzer, TCodeFix> : CSharpCodeFixTest<TAnalyzer, TCodeFix, DefaultVerifier>
    where TAnalyzer : DiagnosticAnalyzer, new()
    where TCodeFix : CodeFixProvider, new()
{
    public MambaCodeFixTest(string source, string fixedSource, params (string Name, string Text)[] otherFiles)
    {
        ReferenceAssemblies = TestReferences.NoDownload;
        TestState.AdditionalReferences.AddRange(TestReferences.All);
        TestState.Sources.Add(("Layer.cs", source));
        FixedState.Sources.Add(("Layer.cs", fixedSource));
        foreach (var file in otherFiles)
        {
            TestState.Sources.Add(file);
            FixedState.Sources.Add(file);
        }
    }
}
