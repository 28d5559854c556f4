using System;
using MambaGen.Backends;
using MambaGen.Cache;
using MambaGen.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Layers;

/// <summary>Bad input is refused before any kernel runs, with a message that names the layer and what is wrong.</summary>
public class LayerInputErrorTests
{
    private const string LayerName = "backbone.layers.3.mixer";

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void Hidden_states_of_another_width_name_the_layer_and_the_expected_shape(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind, name: LayerName);
        using var cache = mixer.Allocate(1);
        var wrong = torch.zeros(4, mixer.HiddenSize + 1);

        var e = Assert.Throws<ArgumentException>(() => mixer.Step(wrong, new ScheduledRequest(0, 4, 0, "r")));
        Assert.Contains(LayerName, e.Message);
        Assert.Contains($"[tokens, {mixer.HiddenSize}]", e.Message);
        Assert.Contains($"[4, {mixer.HiddenSize + 1}]", e.Message);
    }

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void Hidden_states_of_another_dtype_than_the_weights_name_the_layer_and_both_dtypes(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind, dtype: ScalarType.BFloat16, name: LayerName);
        using var cache = mixer.Allocate(1);

        var e = Assert.Throws<ArgumentException>(() => mixer.Step(mixer.Hidden(1, 3), new ScheduledRequest(0, 3, 0, "r")));
        Assert.Contains(LayerName, e.Message);
        Assert.Contains("hidden states are Float32 but the layer's weights are BFloat16", e.Message);
    }

    [Fact]
    public void A_mamba2_block_given_metadata_without_chunks_names_the_block_and_the_metadata_it_needs()
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(MixerUnderTest.Mamba2, name: LayerName);
        using var cache = mixer.Allocate(1);
        var block = new MambaGen.Models.MambaBlock("3", new RmsNorm("norm", mixer.HiddenSize, 1e-5), mixer.Layer, residualInFp32: true);
        using var metadata = new MambaMetadataBuilder(CPU).Build(new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 3, 0, "r") }));

        var e = Assert.Throws<ArgumentException>(() => block.Forward(mixer.Hidden(1, 3), metadata));
        Assert.Contains("Block '3'", e.Message);
        Assert.Contains("Mamba2AttentionMetadata", e.Message);
    }

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void Hidden_states_with_more_tokens_than_the_metadata_schedules_name_the_layer_and_both_counts(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind, name: LayerName);
        using var cache = mixer.Allocate(1);

        var e = Assert.Throws<ArgumentException>(() => mixer.Step(mixer.Hidden(1, 5), new ScheduledRequest(0, 4, 0, "r")));
        Assert.Contains(LayerName, e.Message);
        Assert.Contains("schedules 4 tokens", e.Message);
        Assert.Contains("hold 5", e.Message);
    }

    [Fact]
    public void Metadata_whose_token_count_does_not_add_up_is_refused_with_both_counts()
    {
        var e = Assert.Throws<ArgumentException>(() => new CommonAttentionMetadata(new[] { new ScheduledRequest(2, 1, 1, "b"), new ScheduledRequest(0, 3, 0, "a") }, 5));
        Assert.Contains("5 tokens", e.Message);
        Assert.Contains("schedule 4", e.Message);
    }

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void Forward_without_a_bound_cache_names_the_layer(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind, name: LayerName);

        var e = Assert.Throws<InvalidOperationException>(() => mixer.Step(mixer.Hidden(1, 3), new ScheduledRequest(0, 3, 0, "r")));
        Assert.Contains(LayerName, e.Message);
        Assert.Contains("no KV cache bound", e.Message);
    }

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void Forward_at_tensor_parallel_size_two_is_refused_naming_the_layer(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind, tensorParallelSize: 2, name: LayerName);
        using var cache = mixer.Allocate(1);

        var e = Assert.Throws<NotSupportedException>(() => mixer.Step(mixer.Hidden(1, 3), new ScheduledRequest(0, 3, 0, "r")));
        Assert.Contains(LayerName, e.Message);
        Assert.Contains("tensor-parallel size 2", e.Message);
    }

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void Binding_a_state_of_the_wrong_shape_names_the_layer_the_state_and_both_shapes(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind, name: LayerName);
        var shapes = mixer.Layer.GetStateShape();
        var states = GoodStates(mixer.Layer, 2);
        var last = shapes.Count - 1;
        var bad = (long[])shapes[last].Clone();
        bad[^1] += 1;
        states[last] = torch.zeros(Prepend(2, bad), dtype: mixer.Layer.GetStateDtype()[last]);

        var e = Assert.Throws<ArgumentException>(() => mixer.Layer.BindKvCache(states));
        Assert.Contains(LayerName, e.Message);
        // The generated GetStateNames names the [StateTensor] member: SsmState for the mamba mixers, ConvState for short conv.
        Assert.Contains($"state {last} ({mixer.Layer.GetStateNames()[last]})", e.Message);
        Assert.Contains(last == 0 ? "(ConvState)" : "(SsmState)", e.Message);
        Assert.Contains($"[num_blocks, {string.Join(", ", shapes[last])}]", e.Message);
        Assert.Contains($"[2, {string.Join(", ", bad)}]", e.Message);
        Assert.False(mixer.Layer.IsKvCacheBound);
    }

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void Binding_a_state_of_the_wrong_dtype_names_the_layer_the_state_and_both_dtypes(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind, name: LayerName);
        var states = GoodStates(mixer.Layer, 2);
        states[0] = states[0].to(ScalarType.Float64);

        var e = Assert.Throws<ArgumentException>(() => mixer.Layer.BindKvCache(states));
        Assert.Contains(LayerName, e.Message);
        Assert.Contains("state 0 (ConvState) must be Float32 but is Float64", e.Message);
    }

    [Fact]
    public void Binding_too_few_states_names_the_layer_and_both_counts()
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(MixerUnderTest.Mamba2, name: LayerName);
        var states = GoodStates(mixer.Layer, 2);

        var e = Assert.Throws<ArgumentException>(() => mixer.Layer.BindKvCache(new[] { states[0] }));
        Assert.Contains(LayerName, e.Message);
        Assert.Contains("keeps 2 states but 1 tensors were bound", e.Message);
    }

    [Fact]
    public void Binding_states_with_different_block_counts_names_the_layer()
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(MixerUnderTest.Mamba1, name: LayerName);
        var states = GoodStates(mixer.Layer, 2);
        states[1] = torch.zeros(Prepend(3, mixer.Layer.GetStateShape()[1]));

        var e = Assert.Throws<ArgumentException>(() => mixer.Layer.BindKvCache(states));
        Assert.Contains(LayerName, e.Message);
        Assert.Contains("state 1 (SsmState) has 3 blocks", e.Message);
    }

    [Fact]
    public void A_request_beyond_the_last_free_block_is_refused_naming_it_and_the_block_count()
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(MixerUnderTest.Mamba2, name: LayerName);
        using var cache = mixer.Allocate(2);
        cache.Blocks.Allocate("a");
        cache.Blocks.Allocate("b");

        var e = Assert.Throws<InvalidOperationException>(() => cache.Blocks.Allocate("c"));
        Assert.Contains("'c'", e.Message);
        Assert.Contains("all 2 blocks", e.Message);
    }

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void A_step_that_points_at_a_block_the_cache_does_not_have_names_the_layer_and_the_block(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind, name: LayerName);
        using var cache = mixer.Allocate(2);

        var e = Assert.Throws<ArgumentException>(() => mixer.Step(mixer.Hidden(1, 4), new ScheduledRequest(0, 3, 0, "a"), new ScheduledRequest(0, 1, 2, "r")));
        Assert.Contains(LayerName, e.Message);
        Assert.Contains("state block 2", e.Message);
        Assert.Contains("2 blocks", e.Message);
    }

    private static Tensor[] GoodStates(MambaBase layer, int numBlocks)
    {
        var shapes = layer.GetStateShape();
        var dtypes = layer.GetStateDtype();
        var states = new Tensor[shapes.Count];
        for (int i = 0; i < states.Length; i++)
        {
            states[i] = torch.zeros(Prepend(numBlocks, shapes[i]), dtype: dtypes[i]);
        }

        return states;
    }

    private static long[] Prepend(long first, long[] rest)
    {
        var shape = new long[rest.Length + 1];
        shape[0] = first;
        rest.CopyTo(shape, 1);
        return shape;
    }

    [Theory]
    [InlineData(true, true, false)]
    [InlineData(false, true, true)]
    [InlineData(false, false, false)]
    public void The_fused_residual_path_refuses_mamba2_options_it_does_not_run_naming_the_layer(bool multipliers, bool rmsNorm, bool normBeforeGate)
    {
        using var scope = torch.NewDisposeScope();
        var config = new EngineConfig(new ModelConfig("falcon_h1", ScalarType.Float32, 64), new CacheConfig(), new ParallelConfig(1));
        var layer = new Mamba2Mixer(LayerName, config, new Mamba2MixerOptions
        {
            HiddenSize = 12, NumHeads = 4, HeadDim = 6, StateSize = 8, ChunkSize = MixerUnderTest.SsdChunkSize, RmsNorm = rmsNorm, NormBeforeGate = normBeforeGate,
            InProjectionMultipliers = multipliers ? new InProjectionMultipliers(2, 1, 1, 1, 1) : null,
        });
        using var cache = MambaStateCache.Allocate(new[] { layer }, 1, CPU);
        var common = new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 3, 0, "r") });
        using var metadata = new Mamba2MetadataBuilder(CPU, MixerUnderTest.SsdChunkSize, MambaGen.Ops.MambaOps.Reference).Build(common);
        var e = Assert.Throws<NotSupportedException>(() => ((IMambaMixer)layer).ForwardInto(torch.zeros(3, 12), new RmsNorm("norm", 12, 1e-5), metadata, MambaGen.Ops.ComposedProjections.Reference));
        Assert.Contains(LayerName, e.Message);
        Assert.Contains("through Forward", e.Message);
    }
}
