using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using BenchmarkDotNet.Attributes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MambaGen.Generators.Bench;

/// <summary>
/// What the generator costs per keystroke, as an IDE runs it: a project of N layers (one file each, half of them with
/// a custom backend, half of them built-in), the driver kept from run to run, and one edit per run. An edit to an
/// unrelated file should cost next to nothing whatever N; an edit to one layer's file should cost about one layer.
/// </summary>
[MemoryDiagnoser]
public class KeystrokeBenchmarks
{
    private static readonly CSharpParseOptions ParseOptions = new(LanguageVersion.Latest);

    private CSharpCompilation _compilation = null!;
    private GeneratorDriver _driver = null!;
    private SyntaxTree _unrelated = null!;
    private SyntaxTree _layer = null!;
    private int _keystroke;

    [Params(1, 10, 100, 1000)]
    public int Layers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var trees = new List<SyntaxTree> { Parse(Backend, "Backend.cs") };
        for (int i = 0; i < Layers; i++)
        {
            trees.Add(Parse(Layer(i), $"Layer{i}.cs"));
        }

        _unrelated = Parse(Unrelated(0), "Unrelated.cs");
        trees.Add(_unrelated);
        _layer = trees[1];

        var references = Basic.Reference.Assemblies.Net100.References.All.Cast<MetadataReference>()
            .Append(MetadataReference.CreateFromFile(typeof(MambaBase).Assembly.Location))
            .Append(MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location));
        _compilation = CSharpCompilation.Create("Bench", trees, references, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
        _driver = CSharpGeneratorDriver.Create(new[] { new MambaLayerGenerator().AsSourceGenerator() }, parseOptions: ParseOptions)
            .RunGenerators(_compilation);
    }

    /// <summary>One keystroke in a file that declares no layer.</summary>
    [Benchmark(Baseline = true)]
    public GeneratorDriver Edit_an_unrelated_file()
    {
        var edited = Parse(Unrelated(++_keystroke), "Unrelated.cs");
        _compilation = _compilation.ReplaceSyntaxTree(_unrelated, edited);
        _unrelated = edited;
        return _driver = _driver.RunGenerators(_compilation);
    }

    /// <summary>One keystroke in a layer's own file (an unrelated member of it).</summary>
    [Benchmark]
    public GeneratorDriver Edit_one_layer_file()
    {
        var edited = Parse(Layer(0, ++_keystroke), "Layer0.cs");
        _compilation = _compilation.ReplaceSyntaxTree(_layer, edited);
        _layer = edited;
        return _driver = _driver.RunGenerators(_compilation);
    }

    private static SyntaxTree Parse(string text, string path) => CSharpSyntaxTree.ParseText(text, ParseOptions, path);

    private static string Unrelated(int keystroke) => $$"""
        namespace App;

        public static class Settings
        {
            public const int Keystroke = {{keystroke.ToString(CultureInfo.InvariantCulture)}};
        }
        """;

    private const string Backend = """
        namespace Layers;

        public sealed class TokenShiftBackend : MambaGen.Backends.MambaAttentionBackend
        {
            public override string Name => "TOKEN_SHIFT";
        }
        """;

    private static string Layer(int i, int keystroke = 0)
    {
        string attribute = i % 2 == 0 ? "[MambaLayer(\"mamba2\")]" : "[MambaLayer(\"token_shift\", Backend = typeof(TokenShiftBackend))]";
        string n = i.ToString(CultureInfo.InvariantCulture);
        return $$"""
            using MambaGen;

            namespace Layers;

            {{attribute}}
            public partial class Mixer{{n}} : MambaBase
            {
                private readonly int _inner = 256, _heads = 8, _headDim = 32, _state = 16, _kernel = 4;

                public Mixer{{n}}(string name, EngineConfig config) : base(name, config) { }

                public int Edits => {{keystroke.ToString(CultureInfo.InvariantCulture)}};

                [StateTensor]
                public long[] ConvState => MambaStateShapeCalculator.Mamba2(1, _inner, 1, _heads, _headDim, _state, _kernel).Conv;

                [StateTensor(Dtype = StateDtype.Ssm)]
                public long[] SsmState => MambaStateShapeCalculator.Mamba2(1, _inner, 1, _heads, _headDim, _state, _kernel).Ssm;
            }
            """;
    }
}
