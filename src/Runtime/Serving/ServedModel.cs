using System;
using System.Collections.Generic;
using MambaGen.Cache;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using MambaGen.Models;
using static TorchSharp.torch;

namespace MambaGen.Serving;

/// <summary>What an <see cref="EngineService"/> runs: the model, its state cache (one block per concurrent request),
/// and the tokenizer and special tokens of its checkpoint. The service disposes it when it stops.</summary>
public sealed class ServedModel : IDisposable
{
    private readonly bool _ownsModel;

    /// <param name="model">The model; disposed with this when <paramref name="ownsModel"/> and it is <see cref="IDisposable"/>.</param>
    /// <param name="cache">The state cache; always disposed with this.</param>
    /// <param name="tokenizer">Null serves token ids only: pieces carry no text and stop strings are refused.</param>
    /// <param name="bosTokenId">Put before a text prompt (see <see cref="GenerationOptions.AddBos"/>).</param>
    /// <param name="eosTokenIds">Stop tokens of every request unless <see cref="GenerationOptions.IgnoreEos"/>.</param>
    /// <param name="ownsModel">Whether disposing this disposes the model.</param>
    public ServedModel(ICausalLanguageModel model, MambaStateCache cache, ITextTokenizer? tokenizer = null, int? bosTokenId = null,
        IReadOnlyList<int>? eosTokenIds = null, bool ownsModel = true)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Cache = cache ?? throw new ArgumentNullException(nameof(cache));
        Tokenizer = tokenizer;
        BosTokenId = bosTokenId;
        EosTokenIds = eosTokenIds ?? Array.Empty<int>();
        _ownsModel = ownsModel;
    }

    public ICausalLanguageModel Model { get; }

    public MambaStateCache Cache { get; }

    public ITextTokenizer? Tokenizer { get; }

    public int? BosTokenId { get; }

    public IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>Loads a checkpoint as <c>mambagen generate</c> does (its tokenizer when it has one, its bos and eos
    /// tokens) with a cache of <paramref name="maxConcurrentRequests"/> blocks. Call it inside the service's load
    /// function, so the model is loaded on the engine thread.</summary>
    public static ServedModel Load(HuggingFaceCheckpoint checkpoint, Device device, ScalarType dtype, int maxConcurrentRequests, int maxModelLen = 2048)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var model = MambaLanguageModel.Load(checkpoint, device, dtype, maxModelLen: maxModelLen);
        try
        {
            return Create(model, maxConcurrentRequests, checkpoint.HasTokenizer ? checkpoint.LoadTokenizer() : null,
                checkpoint.Config.BosTokenId, checkpoint.Config.EosTokenIds, ownsModel: true);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>A loaded model with a new cache of <paramref name="maxConcurrentRequests"/> blocks.</summary>
    public static ServedModel Create(MambaLanguageModel model, int maxConcurrentRequests, ITextTokenizer? tokenizer, int? bosTokenId,
        IReadOnlyList<int>? eosTokenIds, bool ownsModel)
    {
        ArgumentNullException.ThrowIfNull(model);
        var cache = MambaStateCache.Allocate(model.Mixers, maxConcurrentRequests, model.Device);
        return new ServedModel(model, cache, tokenizer, bosTokenId, eosTokenIds, ownsModel);
    }

    public void Dispose()
    {
        Cache.Dispose();
        if (_ownsModel && Model is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }
}
