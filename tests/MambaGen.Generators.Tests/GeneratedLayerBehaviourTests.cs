using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;
using MambaGen.Backends;
using MambaGen.Generators.Tests.Infrastructure;
using static TorchSharp.torch;

namespace MambaGen.Generators.Tests;

/// <summary>
/// Runs the generated members of a compiled layer. The layer is created without its constructor, so no native
/// TorchSharp code runs (this project has no libtorch); its dtypes are set the way the constructor would from an
/// <see cref="EngineConfig"/>. Binding a cache needs tensors, so the accessors' bodies are left to the runtime's tests.
/// </summary>
public class GeneratedLayerBehaviourTests
{
    private const string LayerSource = """
        using MambaGen;

        namespace MyModels;

        [MambaLayer("gdn_attention")]
        public partial class GatedDeltaNet : MambaBase
        {
            public GatedDeltaNet(EngineConfig config)
                : base("gdn", config)
            {
            }

            [StateTensor(Order = 0)]
            public int[] ConvShape() => new[] { 3, 1024 };

            [StateTensor]
            public (int, long) RecurrentState => (16, 4096L);

            [StateTensor(Dtype = StateDtype.Float16)]
            public long[] GateState => new long[] { 7 };
        }
        """;

    [Fact]
    public void Generated_members_return_long_shapes_vllm_dtypes_and_the_shared_backend()
    {
        var layer = CreateWithoutConstructor(LayerSource, "MyModels.GatedDeltaNet");
        SetStateDtypes(layer, new MambaStateDtypes(ScalarType.BFloat16, ScalarType.Float32));

        Assert.Equal("gdn_attention", layer.MambaType);
        Assert.Equal(new[] { new long[] { 3, 1024 }, new long[] { 16, 4096 }, new long[] { 7 } }, layer.GetStateShape());
        Assert.Equal(new[] { ScalarType.BFloat16, ScalarType.Float32, ScalarType.Float16 }, layer.GetStateDtype());
        Assert.Same(MambaAttentionBackends.Get<GdnAttentionBackend>(), layer.GetAttnBackend());
    }

    [Fact]
    public void State_accessors_are_public_tensor_properties_named_after_their_members()
    {
        var layer = CreateWithoutConstructor(LayerSource, "MyModels.GatedDeltaNet");

        var accessors = layer.GetType().GetProperties()
            .Where(p => p.PropertyType == typeof(Tensor) && p.DeclaringType == layer.GetType())
            .Select(p => p.Name)
            .ToArray();
        Assert.Equal(new[] { "ConvTensor", "RecurrentStateTensor", "GateStateTensor" }, accessors);
    }

    [Fact]
    public void Fallback_members_of_an_invalid_layer_throw_an_error_naming_the_layer_and_the_rule_it_breaks()
    {
        var layer = CreateWithoutConstructor("""
            using MambaGen;

            namespace MyModels;

            [MambaLayer("mamba3")]
            public partial class Broken : MambaBase
            {
                public Broken(string name, EngineConfig config) : base(name, config) { }

                [StateTensor] public long[] ConvState => new long[] { 3, 8 };
            }
            """, "MyModels.Broken");

        foreach (var call in new Action[] { () => _ = layer.MambaType, () => layer.GetStateShape(), () => layer.GetStateDtype(), () => layer.GetAttnBackend() })
        {
            var error = Assert.Throws<InvalidOperationException>(call);
            Assert.Contains("layer 'MyModels.Broken'", error.Message);
            Assert.Contains("its declaration breaks MG0004", error.Message);
        }
    }

    private static MambaBase CreateWithoutConstructor(string source, string typeName)
    {
        var compilation = TestCompilation.Create(source);
        GeneratorHarness.CreateDriver().RunGeneratorsAndUpdateCompilation(compilation, out var output, out _);
        using var image = new MemoryStream();
        var emitted = output.Emit(image);
        Assert.True(emitted.Success, string.Join("\n", emitted.Diagnostics));

        // Collectible, so the test's assembly can go with it; MambaGen and TorchSharp resolve from the default context.
        var context = new AssemblyLoadContext("generated-layer", isCollectible: true);
        image.Position = 0;
        var type = context.LoadFromStream(image).GetType(typeName, throwOnError: true)!;
        return (MambaBase)RuntimeHelpers.GetUninitializedObject(type);
    }

    // Stands in for the skipped constructor, which sets StateDtypes from the EngineConfig.
    private static void SetStateDtypes(MambaBase layer, MambaStateDtypes dtypes)
    {
        var field = typeof(MambaBase).GetField("<StateDtypes>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException("MambaBase.StateDtypes is no longer an auto-property; update this test.");
        field.SetValue(layer, dtypes);
    }
}
