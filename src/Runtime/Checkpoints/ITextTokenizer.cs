using System.Collections.Generic;

namespace MambaGen.Checkpoints;

/// <summary>Text to token ids and back, as the checkpoint's tokenizer does it.</summary>
public interface ITextTokenizer
{
    int[] Encode(string text);

    string Decode(IReadOnlyList<int> ids);
}
