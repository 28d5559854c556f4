using System;
using MambaGen.Backends;
using MambaGen.Ops;

namespace MambaGen.Tests.State;

public class Mamba2ChunkLayoutTests
{
    [Fact]
    public void Resumed_prefill_completes_its_partial_chunk_first_as_in_vllm_worked_example()
    {
        // vLLM §4.2: C=8, req0 (computed 0, new 10), req1 (computed 5, new 6).
        var layout = Mamba2ChunkLayout.Compute(new[] { 0, 5 }, new[] { 10, 6 }, 8);
        Assert.Equal(new[] { 0, 8, 10, 13, 16 }, layout.CuChunkSeqlen);
        Assert.Equal(new[] { 0, 0, 1, 1 }, layout.SeqIdx);
        Assert.Equal(new[] { 1, 3 }, layout.LastChunkIndices);
    }

    [Fact]
    public void Chunk_size_that_is_not_a_power_of_two_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Mamba2ChunkLayout.Compute(new[] { 0 }, new[] { 4 }, 6));
    }

    [Fact]
    public void Prefill_with_no_new_tokens_is_refused_with_its_index()
    {
        var e = Assert.Throws<ArgumentException>(() => Mamba2ChunkLayout.Compute(new[] { 0, 0 }, new[] { 3, 0 }, 8));
        Assert.Contains("Prefill 1", e.Message);
    }
}
