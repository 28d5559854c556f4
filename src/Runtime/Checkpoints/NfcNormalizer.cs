using System;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace MambaGen.Checkpoints;

/// <summary>tokenizer.json's <c>{"type": "NFC"}</c> normalizer (GPT-NeoX's), which Microsoft.ML.Tokenizers does not ship.</summary>
internal sealed class NfcNormalizer : Normalizer
{
    public override string Normalize(string original) => original.Normalize(NormalizationForm.FormC);

    public override string Normalize(ReadOnlySpan<char> original) => original.ToString().Normalize(NormalizationForm.FormC);
}
