using System.Linq;
using MambaGen.Ops;
using TorchSharp;
using Xunit;

namespace MambaGen.Tests.Ops;

public sealed class PrefillChunksTests
{
    [Fact]
    public void Chunks_are_packed_per_sequence_from_its_first_token_and_the_table_names_each_chunks_sequence()
    {
        // Sequences of 300, 1, 128 and 129 tokens in chunks of 128: 3 + 1 + 1 + 2 chunks.
        var qsl = new[] { 0, 300, 301, 429, 558 };
        using var batch = new PrefillBatch(qsl, torch.tensor(qsl.Select(q => (long)q).ToArray()), new[] { 0, 1, 2, 3 },
            torch.tensor(new long[] { 0, 1, 2, 3 }), torch.tensor(new[] { false, false, false, false }), null);

        var chunks = batch.Chunks(128);

        Assert.Equal(7, chunks.Count);
        Assert.Equal(new[] { 0, 3, 4, 5, 7 }, chunks.FirstChunk);
        Assert.Equal(new long[] { 0, 3, 4, 5, 7, 0, 0, 0, 1, 2, 3, 3 }, chunks.Table.data<long>().ToArray());
        Assert.Same(chunks, batch.Chunks(128));
    }

    [Fact]
    public void A_long_sequence_beside_many_short_ones_costs_its_own_chunks_not_every_sequence_as_many()
    {
        // One 16,384-token prompt and 63 one-token prompts: 128 + 63 chunks, where a [sequences, longest] layout held 8,192.
        var qsl = new[] { 0 }.Concat(Enumerable.Range(0, 64).Select(s => 16384 + s)).ToArray();
        var blocks = Enumerable.Range(0, 64).ToArray();
        using var batch = new PrefillBatch(qsl, torch.tensor(qsl.Select(q => (long)q).ToArray()), blocks,
            torch.tensor(blocks.Select(b => (long)b).ToArray()), torch.zeros(64, dtype: torch.ScalarType.Bool), null);

        Assert.Equal(128 + 63, batch.Chunks(128).Count);
    }
}
