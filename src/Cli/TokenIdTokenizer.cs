using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using MambaGen.Checkpoints;

namespace MambaGen.Cli;

/// <summary>
/// The "tokenizer" of a checkpoint without tokenizer.json (like the shared test fixtures): a prompt is token ids
/// separated by spaces or commas, and output tokens are printed as ids.
/// </summary>
internal sealed class TokenIdTokenizer : ITextTokenizer
{
    private readonly int _vocabSize;

    public TokenIdTokenizer(int vocabSize) => _vocabSize = vocabSize;

    public int[] Encode(string text)
    {
        var ids = new List<int>();
        foreach (var part in text.Split(new[] { ' ', ',', '\t' }, System.StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int id) || id >= _vocabSize)
                throw new CliInputException($"The checkpoint has no tokenizer.json, so the prompt must be token ids in [0, {_vocabSize}) separated by spaces or commas; '{part}' is not one.");
            ids.Add(id);
        }

        return ids.ToArray();
    }

    public string Decode(IReadOnlyList<int> ids) => string.Concat(ids.Select(id => " " + id.ToString(CultureInfo.InvariantCulture)));
}
