using System.Collections.Generic;
using MambaGen.Generation;

namespace MambaGen.Serving;

/// <summary>
/// A piece of a streamed generation: the text that became final and the tokens that made it. Put together, the
/// pieces' <see cref="TokenIds"/> are every token the request generated (a stop token included, its text not);
/// their <see cref="Text"/> is the decode of those tokens, cut before a matched stop string.
/// </summary>
/// <param name="Text">New text; empty on a last piece that adds none, or, without a tokenizer, always.</param>
/// <param name="TokenIds">The tokens generated since the previous piece (one or more; tokens that end inside a
/// character or inside a possible stop string wait for the piece that releases their text).</param>
/// <param name="Finish">Set on the last piece only: <see cref="FinishReason.Stop"/> for a stop token or stop string,
/// <see cref="FinishReason.Length"/> when <see cref="GenerationOptions.MaxTokens"/> was reached.</param>
public sealed record GeneratedPiece(string Text, IReadOnlyList<int> TokenIds, FinishReason? Finish)
{
    public bool IsLast => Finish is not null;
}
