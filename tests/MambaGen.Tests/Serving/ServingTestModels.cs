using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using MambaGen.Backends;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using MambaGen.Models;
using MambaGen.Serving;
using MambaGen.Testing;
using MambaGen.Tests.Generation;
using static TorchSharp.torch;

namespace MambaGen.Tests.Serving;

/// <summary>Services over the tiny models (with a one-character-per-token tokenizer) and over the default model.</summary>
internal static class ServingTestModels
{
    public static EngineService Tiny(MambaLanguageModel model, int numBlocks, int maxQueued = 64, IReadOnlyList<int>? eos = null) =>
        new(ServedModel.Create(model, numBlocks, new CharTokenizer(), bosTokenId: null, eosTokenIds: eos, ownsModel: false),
            new EngineServiceOptions { MaxQueuedRequests = maxQueued });

    public static HuggingFaceCheckpoint DefaultCheckpoint() => HuggingFaceCheckpoint.Open(RepoPaths.Combine("models", "default"));

    public static EngineService Default(int numBlocks) =>
        new(() => ServedModel.Load(DefaultCheckpoint(), CPU, ScalarType.Float32, numBlocks));

    public static async Task<List<GeneratedPiece>> Collect(IAsyncEnumerable<GeneratedPiece> pieces)
    {
        var list = new List<GeneratedPiece>();
        await foreach (var piece in pieces)
        {
            list.Add(piece);
        }

        return list;
    }

    public static int[] Tokens(IEnumerable<GeneratedPiece> pieces) => pieces.SelectMany(p => p.TokenIds).ToArray();

    public static string Text(IEnumerable<GeneratedPiece> pieces) => string.Concat(pieces.Select(p => p.Text));

    /// <summary>Token i is the character 'A' + i: text that checks ids one to one.</summary>
    public sealed class CharTokenizer : ITextTokenizer
    {
        public int[] Encode(string text) => text.Select(c => c - 'A').ToArray();

        public string Decode(IReadOnlyList<int> ids) => string.Concat(ids.Select(i => (char)('A' + i)));
    }

    /// <summary>A model whose step number <paramref name="failAt"/> (1-based) and all later ones throw.</summary>
    public sealed class FailingModel : ICausalLanguageModel
    {
        private readonly ICausalLanguageModel _inner;
        private readonly int _failAt;
        private int _steps;

        public FailingModel(ICausalLanguageModel inner, int failAt)
        {
            _inner = inner;
            _failAt = failAt;
        }

        public int VocabSize => _inner.VocabSize;

        public Device Device => _inner.Device;

        public Tensor Forward(Tensor inputIds, CommonAttentionMetadata step) =>
            ++_steps >= _failAt ? throw new InvalidOperationException("simulated device fault in step " + _steps) : _inner.Forward(inputIds, step);
    }
}
