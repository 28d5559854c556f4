using System.Collections.Generic;

namespace MambaGen.Serving;

/// <summary>
/// A conversation rendered by the served checkpoint's chat template (see <see cref="ServedModel.RenderChat"/>).
/// </summary>
/// <param name="Text">The template's output: the whole prompt, special tokens written out as text.</param>
/// <param name="TokenIds">
/// <paramref name="Text"/> encoded with no special tokens added, as transformers' <c>apply_chat_template(tokenize=True)</c>
/// and vLLM's chat endpoint do: the template decides where the BOS goes. Pass these to
/// <see cref="EngineService.GenerateAsync(IReadOnlyList{int}, GenerationOptions?, System.Threading.CancellationToken)"/>,
/// which takes token ids as given; their count is the request's prompt tokens.
/// </param>
/// <param name="StartsWithBos">Whether <paramref name="Text"/> starts with the tokenizer's BOS string (most templates write
/// <c>{{ bos_token }}</c> themselves): a caller that encodes <paramref name="Text"/> again must not add a second one.</param>
public sealed record ChatPrompt(string Text, IReadOnlyList<int> TokenIds, bool StartsWithBos);
