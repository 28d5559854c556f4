using System.Linq;
using System.Threading.Tasks;
using MambaGen.Analyzers.Rules;
using MambaGen.Analyzers.Tests.Verification;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;

namespace MambaGen.Analyzers.Tests;

public sealed class AnalyzersWithoutMambaGenTests
{
    [Fact]
    public async Task Look_alike_types_in_a_project_without_MambaGen_are_ignored()
    {
        // Same names as the runtime's, in the user's own assembly: the generator and the analyzers resolve MambaGen's types by metadata
        // name, find these, and would report MG0001 if they did not also require the attribute types.
        var test = new CSharpAnalyzerTest<GeneratorDiagnostics, DefaultVerifier>
        {
            ReferenceAssemblies = TestReferences.NoDownload,
            TestCode = """
                namespace MambaGen
                {
                    public abstract class MambaBase
                    {
                        public abstract string MambaType { get; }
                    }
                }

                namespace Sample
                {
                    public class {|CS0534:MyLayer|} : MambaGen.MambaBase
                    {
                    }
                }
                """,
        };
        test.TestState.AdditionalReferences.AddRange(TestReferences.All.Where(r => r.Display?.Contains("MambaGen") != true && r.Display?.Contains("TorchSharp") != true));
        await test.RunAsync();
    }
}
