using System;
using System.Collections;
using System.Collections.Generic;
using MambaGen.Checkpoints;

namespace MambaGen.Generation;

/// <summary>
/// Turns tokens into text as they come, with work per token that does not grow with the output (vLLM's
/// prefix/read offsets). Each step decodes only a short window: the tokens since <c>_prefixOffset</c> (a few
/// tokens of context, released already) with and without the tokens not yet released; the text the new tokens
/// add is the difference. A byte-level BPE token may hold part of a UTF-8 character: while the window's text ends
/// in U+FFFD (a character whose remaining bytes are still to come) nothing is released, so no piece ever holds
/// half a code point, and the window only moves on at a character boundary, where decoding can start afresh.
/// The pieces put together are the decode of all the tokens. Not thread-safe: one instance per stream.
/// </summary>
public sealed class IncrementalDetokenizer
{
    /// <summary>Tokens held back before the text is released even though it ends in U+FFFD: a UTF-8 character is
    /// at most 4 bytes and every token at least one, so so many tokens without a finished character are invalid
    /// UTF-8 from the model, which a full decode shows as U+FFFD too. Bounds the window for a broken model.</summary>
    public const int MaxHeldTokens = 16;

    private readonly ITextTokenizer _tokenizer;
    private readonly List<int> _ids = new();
    private int _prefixOffset;
    private int _readOffset;

    public IncrementalDetokenizer(ITextTokenizer tokenizer) => _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));

    /// <summary>Tokens added so far.</summary>
    public int Count => _ids.Count;

    /// <summary>Adds a token and returns the text that became final with it (often empty while a character is split).</summary>
    public string Add(int token)
    {
        _ids.Add(token);
        return Release(force: false);
    }

    /// <summary>The text still held back (an unfinished character at the end of generation).</summary>
    public string Flush() => _readOffset < _ids.Count ? Release(force: true) : string.Empty;

    private string Release(bool force)
    {
        string prefix = _readOffset > _prefixOffset ? _tokenizer.Decode(new Window(_ids, _prefixOffset, _readOffset)) : string.Empty;
        string text = _tokenizer.Decode(new Window(_ids, _prefixOffset, _ids.Count));
        bool unfinished = text.EndsWith('\uFFFD') || text.Length < prefix.Length;
        if (unfinished && !force && _ids.Count - _readOffset < MaxHeldTokens) return string.Empty;
        string fresh = text.Length > prefix.Length ? text[prefix.Length..] : string.Empty;
        _prefixOffset = _readOffset;
        _readOffset = _ids.Count;
        return fresh;
    }

    /// <summary>ids[start..end) without a copy.</summary>
    private sealed class Window : IReadOnlyList<int>
    {
        private readonly List<int> _ids;
        private readonly int _start;

        public Window(List<int> ids, int start, int end)
        {
            _ids = ids;
            _start = start;
            Count = end - start;
        }

        public int Count { get; }

        public int this[int index] => (uint)index < (uint)Count ? _ids[_start + index] : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<int> GetEnumerator()
        {
            for (int i = 0; i < Count; i++) yield return _ids[_start + i];
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
