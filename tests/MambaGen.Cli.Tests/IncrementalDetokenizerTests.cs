using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Checkpoints;
using MambaGen.Generation;

namespace MambaGen.Cli.Tests;

public class IncrementalDetokenizerTests
{
    // Characters outside the merges are byte-level tokens: several tokens make one character.
    private const string Mixed = "Gets the café ☃ count 😀 of τ items. ";

    [Fact]
    public void Streaming_holds_back_split_characters_and_adds_up_to_the_full_decode()
    {
        var tokenizer = DefaultTokenizer();
        var ids = tokenizer.Encode(Mixed);
        Assert.True(ids.Length > Mixed.Length / 4, "the text should take many tokens");
        var detokenizer = new IncrementalDetokenizer(tokenizer);

        var pieces = ids.Select(detokenizer.Add).ToList();
        pieces.Add(detokenizer.Flush());

        Assert.All(pieces, p => Assert.DoesNotContain('\uFFFD', p));
        Assert.Equal(Mixed, string.Concat(pieces));
        // Some token ended inside a character and released nothing.
        Assert.Contains(string.Empty, pieces.Take(ids.Length));
    }

    [Fact]
    public void Work_per_token_does_not_grow_with_the_output()
    {
        var counting = new CountingTokenizer(DefaultTokenizer());
        var ids = Enumerable.Repeat(counting.Encode(Mixed), 20_000 / counting.Encode(Mixed).Length + 1).SelectMany(x => x).Take(20_000).ToArray();
        var detokenizer = new IncrementalDetokenizer(counting);
        var decodedPerToken = new List<int>(ids.Length);

        var pieces = new List<string>(ids.Length + 1);
        foreach (int id in ids)
        {
            int before = counting.IdsDecoded;
            pieces.Add(detokenizer.Add(id));
            decodedPerToken.Add(counting.IdsDecoded - before);
        }

        pieces.Add(detokenizer.Flush());

        // A window of a few tokens a step, the same at token 20,000 as at token 10: the old detokenizer decoded all n tokens at step n.
        Assert.True(decodedPerToken.Max() <= 2 * (IncrementalDetokenizer.MaxHeldTokens + 1), $"most ids decoded in one step: {decodedPerToken.Max()}");
        Assert.Equal(decodedPerToken.Take(1000).Sum(), decodedPerToken.Skip(ids.Length - 1000).Sum(), (double)decodedPerToken.Take(1000).Sum() * 0.1);
        Assert.Equal(counting.Decode(ids), string.Concat(pieces));
        Assert.All(pieces, p => Assert.False(p.Length > 0 && char.IsHighSurrogate(p[^1]), "a piece ends in half a surrogate pair"));
    }

    [Fact]
    public void Random_tokens_including_special_and_lone_byte_tokens_add_up_to_the_full_decode()
    {
        var tokenizer = DefaultTokenizer();
        var random = new Random(7);
        var ids = Enumerable.Range(0, 3000).Select(_ => random.Next(0, 3072)).ToArray();
        var detokenizer = new IncrementalDetokenizer(tokenizer);

        var pieces = ids.Select(detokenizer.Add).Append(detokenizer.Flush()).ToList();

        Assert.Equal(tokenizer.Decode(ids), string.Concat(pieces));
    }

    [Fact]
    public void Token_id_output_streams_each_id_as_it_comes()
    {
        var detokenizer = new IncrementalDetokenizer(new TokenIdTokenizer(61));

        Assert.Equal(" 3", detokenizer.Add(3));
        Assert.Equal(" 40", detokenizer.Add(40));
        Assert.Equal(string.Empty, detokenizer.Flush());
    }

    private static ITextTokenizer DefaultTokenizer() => HuggingFaceCheckpoint.Open(CliRun.DefaultModelFolder()).LoadTokenizer();

    /// <summary>Counts the ids every Decode call is given: the detokenizer's work.</summary>
    private sealed class CountingTokenizer : ITextTokenizer
    {
        private readonly ITextTokenizer _inner;

        public CountingTokenizer(ITextTokenizer inner) => _inner = inner;

        public int IdsDecoded { get; private set; }

        public int[] Encode(string text) => _inner.Encode(text);

        public string Decode(IReadOnlyList<int> ids)
        {
            IdsDecoded += ids.Count;
            return _inner.Decode(ids);
        }
    }
}
