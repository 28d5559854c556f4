using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace MambaGen.Checkpoints;

/// <summary>
/// A HuggingFace <c>tokenizer.json</c> of the byte-level BPE kind Mamba checkpoints ship (GPT-NeoX's: BPE model,
/// ByteLevel pre-tokenizer and decoder, optional NFC normalizer), run by Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>.
/// Any other kind (Unigram, WordPiece, Metaspace, byte fallback...) is refused with the part of the file at fault.
/// </summary>
public sealed class HuggingFaceBpeTokenizer : ITextTokenizer
{
    public const string FileName = "tokenizer.json";

    /// <summary>The largest tokenizer.json read (GPT-NeoX's is 2 MB, the largest in common use about 35 MB); a larger file is refused before it is read.</summary>
    public const long MaxFileBytes = 128L << 20;

    /// <summary>GPT-2's pre-tokenization pattern, which the ByteLevel pre-tokenizer applies when use_regex is true.</summary>
    private const string ByteLevelPattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    private readonly BpeTokenizer _tokenizer;
    private readonly bool _addPrefixSpace;
    private readonly HashSet<int> _knownIds;
    private readonly Dictionary<string, int> _vocabulary;
    private readonly Dictionary<string, int> _addedTokens;

    private HuggingFaceBpeTokenizer(BpeTokenizer tokenizer, bool addPrefixSpace, HashSet<int> knownIds, string path,
        Dictionary<string, int> vocabulary, Dictionary<string, int> addedTokens)
    {
        _tokenizer = tokenizer;
        _addPrefixSpace = addPrefixSpace;
        _knownIds = knownIds;
        _vocabulary = vocabulary;
        _addedTokens = addedTokens;
        SourcePath = path;
    }

    /// <summary>What <see cref="Decode"/> writes for an id this tokenizer has no token for: U+FFFD, the replacement character.</summary>
    public const char UnknownIdText = '\uFFFD';

    /// <summary>Whether <paramref name="id"/> is one of this tokenizer's tokens.</summary>
    public bool Contains(int id) => _knownIds.Contains(id);

    /// <summary>
    /// Refuses a tokenizer that can produce ids the model has no embedding for: each token whose id is
    /// <paramref name="vocabSize"/> or more is a problem naming this file, the key (model.vocab or added_tokens) and the token.
    /// </summary>
    /// <param name="vocabSize">The model's vocab_size.</param>
    /// <param name="vocabSource">Where vocab_size comes from (config.json), for the message.</param>
    public void RequireIdsBelow(int vocabSize, string vocabSource)
    {
        var problems = new List<CheckpointProblem>();
        foreach (var (key, tokens) in new[] { ("model.vocab", _vocabulary), ("added_tokens", _addedTokens) })
        {
            var beyond = tokens.Where(t => t.Value >= vocabSize).OrderBy(t => t.Value).ToList();
            foreach (var (token, id) in beyond.Take(5))
                problems.Add(new CheckpointProblem(SourcePath, key,
                    $"token '{token}' has id {id}, outside the model's vocabulary [0, {vocabSize}) (vocab_size in {vocabSource})" +
                    (beyond.Count > 5 && id == beyond[4].Value ? $"; {beyond.Count - 5} more ids of {key} are beyond it" : ""), "key"));
        }
        if (problems.Count > 0) throw new CheckpointException(problems);
    }

    public string SourcePath { get; }

    /// <summary>Number of distinct token ids (vocabulary plus added tokens).</summary>
    public int VocabularySize => _knownIds.Count;

    /// <summary>Loads <paramref name="path"/> (a tokenizer.json file).</summary>
    public static HuggingFaceBpeTokenizer Load(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException(path, null, "not found");
        using var document = LenientJson.ParseFile(path, MaxFileBytes);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw Invalid(path, null, $"must hold a JSON object, found {root.ValueKind}");

        var model = RequireObject(root, "model", path);
        string modelType = OptionalString(model, "type") ?? (model.TryGetProperty("merges", out _) ? "BPE" : "(none)");
        if (modelType != "BPE")
            throw Invalid(path, "model.type", $"'{modelType}' is not supported; only byte-level BPE tokenizers are");
        if (IsTrue(model, "byte_fallback"))
            throw Invalid(path, "model.byte_fallback", "byte-fallback BPE (SentencePiece style) is not supported; only byte-level BPE is");
        if (model.TryGetProperty("dropout", out var dropout) && dropout.ValueKind == JsonValueKind.Number && dropout.GetDouble() != 0)
            throw Invalid(path, "model.dropout", "BPE dropout is a training option and is not supported");

        bool addPrefixSpace = false;
        bool useRegex = true;
        var preTokenizer = RequireTypedPart(root, "pre_tokenizer", path, "ByteLevel");
        addPrefixSpace = IsTrue(preTokenizer, "add_prefix_space");
        useRegex = !preTokenizer.TryGetProperty("use_regex", out var regexFlag) || regexFlag.ValueKind != JsonValueKind.False;
        RequireTypedPart(root, "decoder", path, "ByteLevel");
        var normalizer = ReadNormalizer(root, path);
        if (root.TryGetProperty("post_processor", out var post) && post.ValueKind == JsonValueKind.Object &&
            OptionalString(post, "type") is string postType && postType != "ByteLevel")
            throw Invalid(path, "post_processor.type", $"'{postType}' is not supported; only ByteLevel (which adds no tokens) is");

        var vocabulary = ReadVocabulary(model, path);
        var merges = ReadMerges(model, path);
        var addedTokens = ReadAddedTokens(root, path);

        var knownIds = new HashSet<int>(vocabulary.Values);
        knownIds.UnionWith(addedTokens.Values);
        // HF splits the text on every added token before BPE, special or not; the library does that for its special tokens.
        var options = new BpeOptions(vocabulary)
        {
            Merges = merges,
            SpecialTokens = addedTokens.Count > 0 ? addedTokens : null,
            ByteLevel = true,
            Normalizer = normalizer,
            PreTokenizer = useRegex ? new RegexPreTokenizer(new Regex(ByteLevelPattern, RegexOptions.Compiled), addedTokens.Count > 0 ? addedTokens : null) : null,
            UnknownToken = OptionalString(model, "unk_token"),
            ContinuingSubwordPrefix = OptionalString(model, "continuing_subword_prefix"),
            EndOfWordSuffix = OptionalString(model, "end_of_word_suffix"),
            FuseUnknownTokens = IsTrue(model, "fuse_unk"),
        };
        BpeTokenizer tokenizer;
        try
        {
            tokenizer = BpeTokenizer.Create(options);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException)
        {
            throw new CheckpointException(path, null, $"Microsoft.ML.Tokenizers refused the BPE model: {e.Message}", e);
        }
        return new HuggingFaceBpeTokenizer(tokenizer, addPrefixSpace, knownIds, path, vocabulary, addedTokens);
    }

    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // As HF's ByteLevel pre-tokenizer: only a leading space (not any whitespace) makes the prefix unnecessary.
        if (_addPrefixSpace && !text.StartsWith(' ')) text = " " + text;
        return _tokenizer.EncodeToIds(text).ToArray();
    }

    /// <summary>
    /// The text of <paramref name="ids"/>. An id the tokenizer has no token for (a model may pad its vocab_size beyond
    /// the tokenizer's, and sample there) decodes as <see cref="UnknownIdText"/> instead of failing in the middle of a
    /// stream; transformers drops such ids silently, which hides them.
    /// </summary>
    public string Decode(IReadOnlyList<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        int firstUnknown = 0;
        while (firstUnknown < ids.Count && _knownIds.Contains(ids[firstUnknown])) firstUnknown++;
        // HF decodes special tokens too unless asked to skip them; so do we.
        if (firstUnknown == ids.Count) return _tokenizer.Decode(ids, considerSpecialTokens: true);

        // Runs of known ids decode together (a character may span tokens); each unknown id stands alone.
        var text = new System.Text.StringBuilder();
        var run = new List<int>();
        foreach (int id in ids)
        {
            if (_knownIds.Contains(id))
            {
                run.Add(id);
                continue;
            }
            if (run.Count > 0) text.Append(_tokenizer.Decode(run, considerSpecialTokens: true));
            run.Clear();
            text.Append(UnknownIdText);
        }
        if (run.Count > 0) text.Append(_tokenizer.Decode(run, considerSpecialTokens: true));
        return text.ToString();
    }

    private static Normalizer? ReadNormalizer(JsonElement root, string path)
    {
        if (!root.TryGetProperty("normalizer", out var normalizer) || normalizer.ValueKind == JsonValueKind.Null) return null;
        string? type = OptionalString(normalizer, "type");
        if (type == "NFC") return new NfcNormalizer();
        if (type == "Sequence" && normalizer.TryGetProperty("normalizers", out var parts) && parts.ValueKind == JsonValueKind.Array)
        {
            var types = parts.EnumerateArray().Select(p => OptionalString(p, "type")).ToList();
            if (types.Count == 0) return null;
            if (types.All(t => t == "NFC")) return new NfcNormalizer();
        }
        throw Invalid(path, "normalizer.type", $"'{type}' is not supported; only none or NFC is");
    }

    private static Dictionary<string, int> ReadVocabulary(JsonElement model, string path)
    {
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
            throw Invalid(path, "model.vocab", "required object of token -> id is missing");
        var vocabulary = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var entry in vocab.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out int id) || id < 0)
                throw Invalid(path, "model.vocab", $"token '{entry.Name}' must map to a non-negative integer id");
            if (!vocabulary.TryAdd(entry.Name, id))
                throw Invalid(path, "model.vocab", $"token '{entry.Name}' appears twice");
        }
        if (vocabulary.Count == 0) throw Invalid(path, "model.vocab", "is empty");
        return vocabulary;
    }

    /// <summary>Merges are "a b" strings (older files) or ["a", "b"] pairs (tokenizers 0.20 and later).</summary>
    private static List<string> ReadMerges(JsonElement model, string path)
    {
        var merges = new List<string>();
        if (!model.TryGetProperty("merges", out var array) || array.ValueKind == JsonValueKind.Null) return merges;
        if (array.ValueKind != JsonValueKind.Array) throw Invalid(path, "model.merges", "must be a list");
        int index = 0;
        foreach (var merge in array.EnumerateArray())
        {
            if (merge.ValueKind == JsonValueKind.String && merge.GetString()!.Split(' ').Length == 2)
                merges.Add(merge.GetString()!);
            else if (merge.ValueKind == JsonValueKind.Array && merge.GetArrayLength() == 2 &&
                     merge[0].ValueKind == JsonValueKind.String && merge[1].ValueKind == JsonValueKind.String)
                merges.Add(merge[0].GetString() + " " + merge[1].GetString());
            else
                throw Invalid(path, "model.merges", $"entry {index} must be \"a b\" or [\"a\", \"b\"], found {merge.GetRawText()}");
            index++;
        }
        return merges;
    }

    private static Dictionary<string, int> ReadAddedTokens(JsonElement root, string path)
    {
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!root.TryGetProperty("added_tokens", out var array) || array.ValueKind == JsonValueKind.Null) return added;
        if (array.ValueKind != JsonValueKind.Array) throw Invalid(path, "added_tokens", "must be a list");
        foreach (var token in array.EnumerateArray())
        {
            if (token.ValueKind != JsonValueKind.Object || OptionalString(token, "content") is not string content ||
                !token.TryGetProperty("id", out var idElement) || !idElement.TryGetInt32(out int id))
                throw Invalid(path, "added_tokens", $"entry must have a string content and an integer id, found {token.GetRawText()}");
            added[content] = id;
        }
        return added;
    }

    private static JsonElement RequireObject(JsonElement parent, string key, string path) =>
        parent.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.Object
            ? value
            : throw Invalid(path, key, "required object is missing");

    private static JsonElement RequireTypedPart(JsonElement root, string key, string path, string expectedType)
    {
        var part = RequireObject(root, key, path);
        string? type = OptionalString(part, "type");
        return type == expectedType
            ? part
            : throw Invalid(path, key + ".type", $"'{type}' is not supported; byte-level BPE needs {expectedType}");
    }

    private static string? OptionalString(JsonElement parent, string key) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static bool IsTrue(JsonElement parent, string key) =>
        parent.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.True;

    private static CheckpointException Invalid(string path, string? key, string reason) =>
        new(new CheckpointProblem(path, key, reason, "key"));
}
