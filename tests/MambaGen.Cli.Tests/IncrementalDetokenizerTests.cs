using System.Linq;
using System.Text;
using MambaGen.Checkpoints;

namespace MambaGen.Cli.Tests;

public class IncrementalDetokenizerTests
{
    [Fact]
    public void Streaming_holds_back_split_characters_and_adds_up_to_the_full_decode()
    {
        var tokenizer = HuggingFaceCheckpoint.Open(CliRun.DefaultModelFolder()).LoadTokenizer();
        // Characters outside the merges are byte-level tokens: several tokens make one character.
        const string text = "Gets the café ☃ count 😀 of τ items";
        var ids = tokenizer.Encode(text);
        Assert.True(ids.Length > text.Length / 4, "the text should take many tokens");
        var detokenizer = new IncrementalDetokenizer(tokenizer);

        var pieces = ids.Select(detokenizer.Add).ToList();
        pieces.Add(detokenizer.Flush());

        Assert.All(pieces, p => Assert.DoesNotContain('\uFFFD', p));
        Assert.Equal(text, string.Concat(pieces));
        // Some token ended inside a character and released nothing.
        Assert.Contains(string.Empty, pieces.Take(ids.Length));
    }
}
