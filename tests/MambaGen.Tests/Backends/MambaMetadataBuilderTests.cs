using System;
using System.Linq;
using MambaGen.Backends;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Backends;

public class MambaMetadataBuilderTests
{
    [Fact]
    public void Mamba2_builder_reproduces_vllm_worked_chunk_example()
    {
        // vLLM §4.2: C=8, req0 (computed 0, new 10), req1 (computed 5, new 6).
        var common = new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 10, 4, "req0"), new ScheduledRequest(5, 6, 7, "req1") }, 16);
        using var m = (Mamba2AttentionMetadata)MambaAttentionBackends.Get<Mamba2AttentionBackend>().CreateMetadataBuilder(CPU, 8).Build(common);

        Assert.Equal(8, m.ChunkSize);
        Assert.Equal(new[] { 0, 8, 10, 13, 16 }, m.CuChunkSeqlenP);
        Assert.Equal(new[] { 0, 0, 1, 1 }, m.SeqIdxP);
        Assert.Equal(new[] { 1, 3 }, m.LastChunkIndicesP);
        Assert.Equal(4, m.NumChunks);
        Assert.Equal(new long[] { 0, 8, 10, 13, 16 }, m.CuChunkSeqlenPTensor.data<long>().ToArray());
        Assert.Equal(new long[] { 0, 0, 1, 1 }, m.SeqIdxPTensor.data<long>().ToArray());
        Assert.Equal(new long[] { 1, 3 }, m.LastChunkIndicesPTensor.data<long>().ToArray());

        Assert.Equal(new[] { false, true }, m.HasInitialStatesP);
        Assert.True(m.PrepInitialStates);
        Assert.Equal(new[] { 0, 10, 16 }, m.QueryStartLocP);
        Assert.Equal(new[] { 4, 7 }, m.StateIndicesP);
        Assert.Equal((0, 0, 2, 16), (m.NumDecodes, m.NumDecodeTokens, m.NumPrefills, m.NumPrefillTokens));
    }

    [Fact]
    public void Decodes_lead_and_prefill_arrays_are_prefill_local()
    {
        var common = new CommonAttentionMetadata(new[]
        {
            new ScheduledRequest(7, 1, 2), new ScheduledRequest(3, 1, 0),
            new ScheduledRequest(0, 4, 5), new ScheduledRequest(2, 3, 1),
        });
        using var m = new MambaMetadataBuilder(CPU).Build(common);

        Assert.Equal((2, 2, 2, 7, 4, 9), (m.NumDecodes, m.NumDecodeTokens, m.NumPrefills, m.NumPrefillTokens, m.NumReqs, m.NumActualTokens));
        Assert.Equal(new[] { 0, 1, 2, 6, 9 }, m.QueryStartLoc);
        Assert.Equal(new[] { 0, 4, 7 }, m.QueryStartLocP);
        Assert.Equal(new[] { 8, 4, 4, 5 }, m.SeqLens);
        Assert.Equal(new[] { false, true }, m.HasInitialStatesP);
        Assert.Equal(new[] { 0, 2 }, m.NumComputedTokensP);
        Assert.Equal(new[] { 2, 0, 5, 1 }, m.StateIndices);
        Assert.Equal(new[] { 2, 0 }, m.StateIndicesD);
        Assert.Equal(new[] { 5, 1 }, m.StateIndicesP);

        Assert.Equal(ScalarType.Int64, m.StateIndicesTensor.dtype);
        Assert.Equal(new long[] { 2, 0, 5, 1 }, m.StateIndicesTensor.data<long>().ToArray());
        Assert.Equal(new long[] { 2, 0 }, m.StateIndicesDTensor.data<long>().ToArray());
        Assert.Equal(new long[] { 5, 1 }, m.StateIndicesPTensor.data<long>().ToArray());
        Assert.Equal(new long[] { 0, 1, 2, 6, 9 }, m.QueryStartLocTensor.data<long>().ToArray());
        Assert.Equal(new long[] { 0, 4, 7 }, m.QueryStartLocPTensor.data<long>().ToArray());
        Assert.Equal(new[] { false, true }, m.HasInitialStatesPTensor.data<bool>().ToArray());
        Assert.Equal("cpu", m.StateIndicesTensor.device.ToString().ToLowerInvariant());
    }

    [Fact]
    public void Decode_only_mamba2_step_has_no_chunks_and_needs_no_initial_states()
    {
        var common = new CommonAttentionMetadata(new[] { new ScheduledRequest(9, 1, 3), ScheduledRequest.Padding() });
        using var m = (Mamba2AttentionMetadata)new Mamba2MetadataBuilder(CPU, 8).Build(common);
        Assert.Equal((2, 0), (m.NumDecodes, m.NumPrefills));
        Assert.Equal(new[] { 0 }, m.CuChunkSeqlenP);
        Assert.Empty(m.SeqIdxP);
        Assert.False(m.PrepInitialStates);
        Assert.Equal(new long[] { 0 }, m.SeqIdxPTensor.shape);
        Assert.Equal(new long[] { 0 }, m.StateIndicesPTensor.shape);
        Assert.Equal(new[] { 3, ScheduledRequest.PadSlotId }, m.StateIndicesD);
    }

    [Fact]
    public void First_step_of_a_one_token_prompt_is_a_prefill_without_initial_state()
    {
        var common = new CommonAttentionMetadata(new[] { new ScheduledRequest(4, 1, 0), new ScheduledRequest(0, 1, 1) });
        using var m = new MambaMetadataBuilder(CPU).Build(common);
        Assert.Equal((1, 1), (m.NumDecodes, m.NumPrefills));
        Assert.Equal(new[] { false }, m.HasInitialStatesP);
    }

    [Fact]
    public void Mamba1_and_short_conv_build_exactly_the_base_metadata()
    {
        var common = new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 3, 0) });
        using var mamba1 = MambaAttentionBackends.Get<Mamba1AttentionBackend>().CreateMetadataBuilder(CPU).Build(common);
        using var shortConv = MambaAttentionBackends.Get<ShortConvAttentionBackend>().CreateMetadataBuilder(CPU).Build(common);
        Assert.Equal(typeof(MambaAttentionMetadata), mamba1.GetType());
        Assert.Equal(typeof(MambaAttentionMetadata), shortConv.GetType());
        Assert.IsType<Mamba2MetadataBuilder>(MambaAttentionBackends.Get<Mamba2AttentionBackend>().CreateMetadataBuilder(CPU, 256));
    }

    [Fact]
    public void Metadata_tensors_outlive_the_dispose_scope_they_were_built_in()
    {
        var common = new CommonAttentionMetadata(new[] { new ScheduledRequest(3, 1, 6), new ScheduledRequest(0, 9, 2) });
        Mamba2AttentionMetadata m;
        using (TorchSharp.torch.NewDisposeScope())
        {
            m = (Mamba2AttentionMetadata)new Mamba2MetadataBuilder(CPU, 4).Build(common);
        }

        using (m)
        {
            Assert.Equal(new long[] { 6, 2 }, m.StateIndicesTensor.data<long>().ToArray());
            Assert.Equal(new long[] { 0, 4, 8, 9 }, m.CuChunkSeqlenPTensor.data<long>().ToArray());
        }
    }

    [Fact]
    public void Decode_after_a_prefill_is_refused_naming_both_requests()
    {
        var e = Assert.Throws<ArgumentException>(() => new CommonAttentionMetadata(new[]
        {
            new ScheduledRequest(0, 4, 0, "p"), new ScheduledRequest(6, 1, 1, "d"),
        }));
        Assert.Contains("Request 1 ('d')", e.Message);
        Assert.Contains("prefill request 0 ('p')", e.Message);
        Assert.Contains("decodes first", e.Message);
    }

    [Fact]
    public void Negative_computed_count_is_refused_naming_the_request()
    {
        var e = Assert.Throws<ArgumentException>(() => new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 2, 0), new ScheduledRequest(-1, 2, 1, "bad") }));
        Assert.Contains("Request 1 ('bad')", e.Message);
        Assert.Contains("-1 computed", e.Message);
    }

    [Fact]
    public void Request_with_no_scheduled_tokens_is_refused_naming_it()
    {
        var e = Assert.Throws<ArgumentException>(() => new CommonAttentionMetadata(new[] { new ScheduledRequest(3, 0, 0, "idle") }));
        Assert.Contains("Request 0 ('idle')", e.Message);
        Assert.Contains("0 scheduled", e.Message);
    }

    [Fact]
    public void Token_count_that_does_not_match_the_scheduled_tokens_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 4, 0), new ScheduledRequest(0, 3, 1) }, 8));
        Assert.Contains("8 tokens", e.Message);
        Assert.Contains("schedule 7 (4 + 3)", e.Message);
    }

    [Fact]
    public void Block_id_below_the_pad_slot_is_refused_naming_the_request()
    {
        var e = Assert.Throws<ArgumentException>(() => new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 4, -2, "r") }));
        Assert.Contains("Request 0 ('r')", e.Message);
        Assert.Contains("state block -2", e.Message);
    }

    [Fact]
    public void Mamba2_chunk_size_that_is_not_a_power_of_two_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => MambaAttentionBackends.Get<Mamba2AttentionBackend>().CreateMetadataBuilder(CPU, 100));
    }

    [Fact]
    public void A_step_replayed_from_a_static_buffer_reads_its_state_blocks_there_and_leaves_the_buffer_alive()
    {
        var common = new CommonAttentionMetadata(new[] { new ScheduledRequest(3, 1, 2, "a"), new ScheduledRequest(5, 1, 0, "b") });
        using var buffer = torch.tensor(new long[] { 2, 0 });

        using (var m = new MambaMetadataBuilder(CPU).Build(common, buffer))
        {
            Assert.Same(buffer, m.StateIndicesTensor);
            Assert.Equal(new long[] { 2, 0 }, m.Decode.StateIndices.data<long>().ToArray());
        }

        Assert.Equal(new long[] { 2, 0 }, buffer.data<long>().ToArray());
    }

    [Fact]
    public void Static_state_indices_of_the_wrong_shape_or_dtype_are_refused_naming_both()
    {
        var common = new CommonAttentionMetadata(new[] { new ScheduledRequest(3, 1, 2, "a"), new ScheduledRequest(5, 1, 0, "b") });
        using var threeRows = torch.tensor(new long[] { 2, 0, 1 });
        using var int32 = torch.tensor(new[] { 2, 0 });

        var e = Assert.Throws<ArgumentException>(() => new MambaMetadataBuilder(CPU).Build(common, threeRows));
        Assert.Contains("int64 [2]", e.Message);
        Assert.Contains("[3]", e.Message);
        Assert.Throws<ArgumentException>(() => new MambaMetadataBuilder(CPU).Build(common, int32));
    }
}
