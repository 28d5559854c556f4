using System;
using System.Collections.Generic;
using MambaGen.Checkpoints;

namespace MambaGen.Cli;

/// <summary>
/// Turns tokens into text as they come. A byte-level BPE token may hold part of a UTF-8 character, so the text is
/// decoded again over the tokens so far and only released once it no longer ends in an unfinished character.
/// </summary>
internal sealed class IncrementalDetokenizer
{
    private readonly ITextTokenizer _tokenizer;
    private readonly List<int> _ids = new();
    private int _released;

    public IncrementalDetokenizer(ITextTokenizer tokenizer) => _tokenizer = tokenizer;

    /// <summary>All the text of the tokens added so far.</summary>
    public string Text => _tokenizer.Decode(_ids);

    /// <summary>Adds a token and returns the text that became final with it (often empty while a character is split).</summary>
    public string Add(int token)
    {
        _ids.Add(token);
        string text = _tokenizer.Decode(_ids);
        // U+FFFD at the end is a character whose remaining bytes are still to come.
        if (text.EndsWith('\uFFFD') || text.Length < _released) return string.Empty;
        string fresh = text[_released..];
        _released = text.Length;
        return fresh;
    }

    /// <summary>The text still held back (an unfinished character at the end of generation).</summary>
    public string Flush()
    {
        string text = _tokenizer.Decode(_ids);
        string rest = text.Length > _released ? text[_released..] : string.Empty;
        _released = Math.Max(_released, text.Length);
        return rest;
    }
}
