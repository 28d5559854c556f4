using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using MambaGen.Checkpoints;

namespace MambaGen.Tests.Checkpoints;

public class HuggingFaceBpeTokenizerTests
{
    private const int EndOfText = 262;

    /// <summary>GPT-2's byte-to-character table: printable bytes map to themselves, the rest to U+0100 onwards.</summary>
    private static char[] ByteToChar()
    {
        var printable = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToHashSet();
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++) table[b] = printable.Contains(b) ? (char)b : (char)next++;
        return table;
    }

    /// <summary>A GPT-NeoX-shaped tokenizer.json: ids 0-255 are the bytes, then six merges and one special token.</summary>
    internal static string TinyTokenizerJson(bool mergesAsPairs, string modelType = "BPE", string preTokenizer = "ByteLevel", bool addPrefixSpace = false)
    {
        var table = ByteToChar();
        var vocab = new Dictionary<string, int>();
        for (int b = 0; b < 256; b++) vocab[table[b].ToString()] = b;
        var merges = new[] { ("h", "e"), ("Ġ", "t"), ("Ġt", "he"), ("a", "t"), ("Ġ", "c"), ("Ġc", "at") };
        foreach (var (a, b) in merges) vocab[a + b] = vocab.Count;
        var document = new Dictionary<string, object?>
        {
            ["version"] = "1.0",
            ["added_tokens"] = new[] { new { id = EndOfText, content = "<|endoftext|>", single_word = false, lstrip = false, rstrip = false, normalized = false, special = true } },
            ["normalizer"] = new { type = "NFC" },
            ["pre_tokenizer"] = new { type = preTokenizer, add_prefix_space = addPrefixSpace, trim_offsets = true, use_regex = true },
            ["post_processor"] = new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true },
            ["decoder"] = new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true },
            ["model"] = new Dictionary<string, object?>
            {
                ["type"] = modelType, ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null, ["fuse_unk"] = false, ["byte_fallback"] = false, ["vocab"] = vocab,
                ["merges"] = mergesAsPairs ? merges.Select(m => new[] { m.Item1, m.Item2 }).ToArray() : merges.Select(m => m.Item1 + " " + m.Item2).ToArray(),
            },
        };
        return JsonSerializer.Serialize(document);
    }

    private static HuggingFaceBpeTokenizer LoadTiny(ScratchFolder scratch, bool mergesAsPairs = false)
    {
        File.WriteAllText(scratch.File("tokenizer.json"), TinyTokenizerJson(mergesAsPairs));
        return HuggingFaceBpeTokenizer.Load(scratch.File("tokenizer.json"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Merges_apply_in_rank_order_in_either_merge_format(bool mergesAsPairs)
    {
        using var scratch = new ScratchFolder();
        var tokenizer = LoadTiny(scratch, mergesAsPairs);
        // "the" -> t + he (no "t he" merge); " cat" -> Ġ c at -> Ġc at -> Ġcat; " the" -> Ġt he -> Ġthe.
        Assert.Equal(new[] { 't', 256, 261, 258 }, tokenizer.Encode("the cat the"));
    }

    [Theory]
    [InlineData("the cat sat on the mat.")]
    [InlineData("Hello, World!  Tabs\tand\nnewlines 123")]
    [InlineData("héllo wörld")]
    public void Encode_then_decode_gives_the_text_back(string text)
    {
        using var scratch = new ScratchFolder();
        var tokenizer = LoadTiny(scratch);
        var ids = tokenizer.Encode(text);
        Assert.All(ids, id => Assert.InRange(id, 0, EndOfText));
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [Fact]
    public void Add_prefix_space_encodes_a_leading_word_as_if_a_space_preceded_it()
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("tokenizer.json");
        File.WriteAllText(path, TinyTokenizerJson(false, addPrefixSpace: true));
        var tokenizer = HuggingFaceBpeTokenizer.Load(path);
        Assert.Equal(new[] { 258, 261 }, tokenizer.Encode("the cat"));
        Assert.Equal(new[] { 258 }, tokenizer.Encode(" the"));
    }

    [Fact]
    public void Bytes_without_merges_encode_as_their_byte_ids()
    {
        using var scratch = new ScratchFolder();
        var tokenizer = LoadTiny(scratch);
        Assert.Equal(new[] { 0xC3, 0xA9 }, tokenizer.Encode("é")); // UTF-8 of é
    }

    [Fact]
    public void Special_token_in_the_text_encodes_to_its_id_and_decodes_back()
    {
        using var scratch = new ScratchFolder();
        var tokenizer = LoadTiny(scratch);
        var ids = tokenizer.Encode("the cat<|endoftext|>");
        Assert.Equal(new[] { 't', 256, 261, EndOfText }, ids);
        Assert.Equal("the cat<|endoftext|>", tokenizer.Decode(ids));
    }

    [Fact]
    public void Decoding_an_id_the_tokenizer_lacks_gives_the_replacement_character_instead_of_failing()
    {
        using var scratch = new ScratchFolder();
        var tokenizer = LoadTiny(scratch);
        // A model's vocab_size may be padded past the tokenizer's ids; a sampled padding id must not stop a stream.
        Assert.Equal("he\uFFFDhe\uFFFD", tokenizer.Decode(new[] { 256, 999, 256, -1 }));
        Assert.Equal("\uFFFD", tokenizer.Decode(new[] { 300 }));
        Assert.False(tokenizer.Contains(999));
        Assert.True(tokenizer.Contains(EndOfText));
    }

    [Theory]
    [InlineData("Unigram", "ByteLevel", "model.type")]
    [InlineData("BPE", "Metaspace", "pre_tokenizer.type")]
    public void Tokenizer_that_is_not_byte_level_bpe_is_refused_naming_the_part(string modelType, string preTokenizer, string key)
    {
        using var scratch = new ScratchFolder();
        string path = scratch.File("tokenizer.json");
        File.WriteAllText(path, TinyTokenizerJson(false, modelType, preTokenizer));
        var e = Assert.Throws<CheckpointException>(() => HuggingFaceBpeTokenizer.Load(path));
        Assert.Equal(path, e.File);
        Assert.Equal(key, e.Name);
        Assert.Contains("not supported", e.Message);
    }

    [Fact]
    public void Checkpoint_without_tokenizer_json_says_so_when_text_is_asked_for()
    {
        var checkpoint = HuggingFaceCheckpoint.Open(CheckpointFixtures.Mamba1);
        Assert.False(checkpoint.HasTokenizer);
        var e = Assert.Throws<CheckpointException>(() => checkpoint.LoadTokenizer());
        Assert.Contains("no tokenizer.json", e.Message);
    }

    [Fact]
    public void Checkpoint_with_tokenizer_json_loads_it()
    {
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba2);
        File.WriteAllText(scratch.File("tokenizer.json"), TinyTokenizerJson(false));
        // The tiny tokenizer's ids run to 262; the fixture's vocab_size of 61 would refuse it.
        File.WriteAllText(scratch.File("config.json"), File.ReadAllText(scratch.File("config.json")).Replace("\"vocab_size\": 61", "\"vocab_size\": 263"));
        var checkpoint = HuggingFaceCheckpoint.Open(scratch.Path);
        Assert.Equal(new[] { 258 }, checkpoint.LoadTokenizer().Encode(" the"));
    }
}
