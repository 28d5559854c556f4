using MambaGen.Generators.Tests.Infrastructure;

namespace MambaGen.Generators.Tests;

/// <summary>
/// The generated file of each kind of layer, compared with its snapshot. Each run also proves the output compiles
/// without warnings and that a second run is fully cached (see <see cref="GeneratorHarness.RunValid"/>).
/// </summary>
public class LayerGeneratorSnapshotTests
{
    [Fact]
    public void Mamba1_layer_gets_conv_and_ssm_states_with_vllm_dtype_rule()
    {
        var run = GeneratorHarness.RunValid("""
            using MambaGen;

            namespace MyModels;

            [MambaLayer("mamba1")]
            public partial class Mamba1Mixer : MambaBase
            {
                private readonly int _intermediateSize;
                private readonly int _stateSize;
                private readonly int _convKernel;

                public Mamba1Mixer(EngineConfig config, int intermediateSize, int stateSize, int convKernel)
                    : base("mixer", config)
                {
                    _intermediateSize = intermediateSize;
                    _stateSize = stateSize;
                    _convKernel = convKernel;
                }

                [StateTensor]
                public long[] ConvStateShape => new long[] { _intermediateSize, _convKernel - 1 };

                [StateTensor]
                public long[] SsmStateShape => new long[] { _intermediateSize, _stateSize };
            }
            """);

        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Mamba2_layer_orders_states_by_Order_then_declaration_and_applies_each_dtype_rule()
    {
        var run = GeneratorHarness.RunValid("""
            using MambaGen;

            namespace MyModels.Mamba2;

            [MambaLayer(KnownNames.Mamba2)]
            public partial class Mamba2Mixer : MambaBase
            {
                public Mamba2Mixer(EngineConfig config)
                    : base("mixer", config)
                {
                }

                // Declared first, placed second by its Order.
                [StateTensor(Order = 1)]
                public long[] SsmState => new long[] { 8, 64, 128 };

                [StateTensor(Order = 0)]
                public long[] ConvState => new long[] { 3, 4352 };

                // No Order: after the ordered ones, in declaration order.
                [StateTensor(Dtype = StateDtype.Float32)]
                public long[] Float32State => new long[] { 1 };

                [StateTensor]
                public long[] AutoLaterState => new long[] { 2 };

                [StateTensor(Dtype = StateDtype.Conv)]
                public long[] ConvDtypeState => new long[] { 3 };

                [StateTensor(Dtype = StateDtype.Ssm, Order = -1)]
                public long[] SsmDtypeState => new long[] { 4 };

                [StateTensor(Dtype = StateDtype.Float16)]
                public long[] Float16State => new long[] { 5 };

                [StateTensor(Dtype = StateDtype.BFloat16)]
                public long[] BFloat16State => new long[] { 6 };
            }

            internal static class KnownNames
            {
                public const string Mamba2 = "mamba2";
            }
            """);

        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Short_conv_layer_with_one_state_gets_the_short_conv_backend()
    {
        var run = GeneratorHarness.RunValid("""
            using MambaGen;

            namespace MyModels.Lfm2
            {
                [MambaLayer("short_conv")]
                public sealed partial class ShortConv : MambaBase
                {
                    private readonly long _hiddenSize;

                    public ShortConv(EngineConfig config, long hiddenSize)
                        : base("conv", config)
                    {
                        _hiddenSize = hiddenSize;
                    }

                    [StateTensor]
                    public long[] ConvState => new long[] { _hiddenSize, 2 };
                }
            }
            """);

        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Custom_backend_replaces_the_built_in_one_for_any_mamba_type_name()
    {
        var run = GeneratorHarness.RunValid("""
            using MambaGen;
            using MambaGen.Backends;

            namespace MyModels;

            public sealed class RetentionBackend : MambaAttentionBackend
            {
                public override string Name => "RETENTION_ATTN";
            }

            [MambaLayer("retention \"v2\"", Backend = typeof(RetentionBackend))]
            public partial class RetentionLayer : MambaBase
            {
                public RetentionLayer(EngineConfig config)
                    : base("retention", config)
                {
                }

                [StateTensor]
                public long[] KvState => new long[] { 4, 64, 64 };
            }
            """);

        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Int_array_tuple_field_and_method_members_convert_to_long_shapes()
    {
        var run = GeneratorHarness.RunValid("""
            using MambaGen;

            namespace MyModels;

            [MambaLayer("gdn_attention")]
            public partial class GatedDeltaNet : MambaBase
            {
                [StateTensor]
                private readonly int[] _convShape;

                public GatedDeltaNet(EngineConfig config, int convDim, int kernel)
                    : base("gdn", config)
                {
                    _convShape = new[] { convDim, kernel - 1 };
                }

                [StateTensor]
                internal (int Heads, long KeyDim, int ValueDim) RecurrentStateShape() => (16, 128L, 128);

                [StateTensor]
                protected (long, long) ExtraState => (1L, 2L);
            }
            """);

        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Layer_nested_in_partial_types_re_declares_each_containing_type()
    {
        var run = GeneratorHarness.RunValid("""
            using MambaGen;

            namespace MyModels;

            public static partial class Jamba
            {
                public partial record struct Blocks(int Count)
                {
                    [MambaLayer("mamba1")]
                    public partial class Mixer : MambaBase
                    {
                        public Mixer(EngineConfig config)
                            : base("mixer", config)
                        {
                        }

                        [StateTensor]
                        public long[] ConvState => new long[] { 16, 3 };

                        [StateTensor]
                        public long[] SsmState => new long[] { 16, 16 };
                    }
                }
            }
            """);

        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Generic_layer_keeps_its_type_parameters_in_the_partial_declaration()
    {
        var run = GeneratorHarness.RunValid("""
            using MambaGen;

            namespace MyModels;

            public interface IMixerOptions
            {
                long Width { get; }
            }

            [MambaLayer("short_conv")]
            public partial class OptionsMixer<TOptions> : MambaBase
                where TOptions : IMixerOptions, new()
            {
                private readonly TOptions _options = new();

                public OptionsMixer(EngineConfig config)
                    : base("mixer", config)
                {
                }

                [StateTensor]
                public long[] ConvState => new long[] { _options.Width, 3 };
            }
            """);

        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Layer_in_the_global_namespace_has_no_namespace_declaration()
    {
        var run = GeneratorHarness.RunValid("""
            using MambaGen;

            [MambaLayer("linear_attention")]
            public partial class GlobalLinearAttention : MambaBase
            {
                public GlobalLinearAttention(EngineConfig config)
                    : base("attn", config)
                {
                }

                [StateTensor]
                public long[] KvState => new long[] { 8, 64, 64 };
            }
            """);

        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Same_named_layers_in_different_namespaces_and_types_get_distinct_files()
    {
        const string layerBody = """
                    public Mixer(EngineConfig config)
                        : base("mixer", config)
                    {
                    }

                    [StateTensor]
                    public long[] ConvState => new long[] { 4, 3 };
            """;

        var run = GeneratorHarness.RunValid(
            $$"""
            using MambaGen;

            namespace Models.First
            {
                [MambaLayer("short_conv")]
                public partial class Mixer : MambaBase
                {
            {{layerBody}}
                }
            }
            """,
            $$"""
            using MambaGen;

            namespace Models.Second
            {
                [MambaLayer("short_conv")]
                public partial class Mixer : MambaBase
                {
            {{layerBody}}
                }

                public partial class Outer
                {
                    [MambaLayer("short_conv")]
                    public partial class Mixer : MambaBase
                    {
                {{layerBody}}
                    }
                }
            }
            """);

        Assert.Equal(3, run.GeneratedTrees.Length);
        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Layers_whose_names_differ_only_in_case_get_distinct_files()
    {
        // Hint names are compared ignoring case (file systems may), so these two must not share one.
        var run = GeneratorHarness.RunValid("""
            using MambaGen;

            namespace MyModels;

            [MambaLayer("short_conv")]
            public partial class Mixer : MambaBase
            {
                public Mixer(EngineConfig config) : base("upper", config) { }

                [StateTensor]
                public long[] ConvState => new long[] { 4, 3 };
            }

            [MambaLayer("short_conv")]
            public partial class MIXER : MambaBase
            {
                public MIXER(EngineConfig config) : base("shouting", config) { }

                [StateTensor]
                public long[] ConvState => new long[] { 8, 3 };
            }
            """);

        Assert.Equal(2, run.GeneratedTrees.Length);
        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Layer_split_over_two_partial_files_reads_states_from_both()
    {
        var run = GeneratorHarness.RunValid(
            """
            using MambaGen;

            namespace MyModels;

            [MambaLayer("mamba2")]
            public partial class SplitMixer : MambaBase
            {
                public SplitMixer(EngineConfig config)
                    : base("mixer", config)
                {
                }

                [StateTensor]
                public long[] ConvState => new long[] { 3, 256 };
            }
            """,
            """
            using MambaGen;

            namespace MyModels;

            public partial class SplitMixer
            {
                [StateTensor]
                public long[] SsmState => new long[] { 4, 64, 16 };
            }
            """);

        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Layer_under_a_user_base_class_skips_the_overrides_that_base_sealed()
    {
        var run = GeneratorHarness.RunValid("""
            using MambaGen;

            namespace MyModels;

            public abstract class ConvMixerBase : MambaBase
            {
                protected ConvMixerBase(string name, EngineConfig config)
                    : base(name, config)
                {
                }

                public sealed override string MambaType => "short_conv";
            }

            [MambaLayer("short_conv")]
            public partial class GatedConv : ConvMixerBase
            {
                public GatedConv(EngineConfig config)
                    : base("conv", config)
                {
                }

                [StateTensor]
                public long[] ConvState => new long[] { 64, 3 };
            }
            """);

        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Keyword_named_namespace_and_state_member_are_escaped()
    {
        var run = GeneratorHarness.RunValid("""
            using MambaGen;

            namespace MyModels.@checked;

            [MambaLayer("linear_attention")]
            public partial class Retention : MambaBase
            {
                public Retention(EngineConfig config)
                    : base("retention", config)
                {
                }

                [StateTensor]
                public long[] @fixed => new long[] { 8, 32, 32 };
            }
            """);

        SnapshotVerifier.Verify(run);
    }

    [Fact]
    public void Hand_written_members_are_not_generated_again()
    {
        var run = GeneratorHarness.RunValid("""
            using MambaGen;
            using MambaGen.Backends;
            using TorchSharp;

            namespace MyModels;

            [MambaLayer("mamba2")]
            public partial class HandTunedMixer : MambaBase
            {
                public HandTunedMixer(EngineConfig config)
                    : base("mixer", config)
                {
                }

                public override string MambaType => "mamba2";

                public override MambaAttentionBackend GetAttnBackend() => MambaAttentionBackends.Get<Mamba2AttentionBackend>();

                // An overload with a parameter does not count as the override.
                public long[] GetStateShape(int index) => GetStateShape()[index];

                [StateTensor]
                public long[] ConvState => new long[] { 3, 256 };

                [StateTensor]
                public long[] SsmState => new long[] { 4, 64, 16 };

                public torch.Tensor ConvStateTensor => KvCache[0];
            }
            """);

        SnapshotVerifier.Verify(run);
    }
}
