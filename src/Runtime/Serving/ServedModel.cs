using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Cache;
using MambaGen.ChatTemplates;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using MambaGen.Models;
using MambaGen.Models.Hybrid;
using static TorchSharp.torch;

namespace MambaGen.Serving;

/// <summary>What an <see cref="EngineService"/> runs: the model, its cache (a state cache of one block per concurrent
/// request, or a hybrid model's page pool), and the tokenizer, special tokens and chat template of its checkpoint.
/// The service disposes it when it stops.</summary>
public sealed class ServedModel : IDisposable
{
    private readonly bool _ownsModel;

    /// <param name="model">The model; disposed with this when <paramref name="ownsModel"/> and it is <see cref="IDisposable"/>.</param>
    /// <param name="cache">The state cache; always disposed with this.</param>
    /// <param name="tokenizer">Null serves token ids only: pieces carry no text and stop strings are refused.</param>
    /// <param name="bosTokenId">Put before a text prompt (see <see cref="GenerationOptions.AddBos"/>).</param>
    /// <param name="eosTokenIds">Stop tokens of every request unless <see cref="GenerationOptions.IgnoreEos"/>.</param>
    /// <param name="ownsModel">Whether disposing this disposes the model.</param>
    /// <param name="chatTemplate">The template <see cref="RenderChat"/> uses, with its bos/eos strings; null: no chat.</param>
    public ServedModel(ICausalLanguageModel model, MambaStateCache cache, ITextTokenizer? tokenizer = null, int? bosTokenId = null,
        IReadOnlyList<int>? eosTokenIds = null, bool ownsModel = true, ChatTemplate? chatTemplate = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        _states = cache ?? throw new ArgumentNullException(nameof(cache));
        MaxConcurrentRequests = cache.NumBlocks;
        Tokenizer = tokenizer;
        BosTokenId = bosTokenId;
        EosTokenIds = eosTokenIds ?? Array.Empty<int>();
        ChatTemplate = chatTemplate;
        _ownsModel = ownsModel;
    }

    /// <summary>A hybrid model over its page pool.</summary>
    /// <param name="model">The model; disposed with this when <paramref name="ownsModel"/>.</param>
    /// <param name="pool">The page pool the model allocated (<see cref="HybridLanguageModel.AllocateCache"/>); always disposed with this.</param>
    /// <param name="maxConcurrentRequests">The most requests that run at once (the service's running bound).</param>
    /// <param name="tokenizer">Null serves token ids only.</param>
    /// <param name="bosTokenId">Put before a text prompt.</param>
    /// <param name="eosTokenIds">Stop tokens of every request.</param>
    /// <param name="ownsModel">Whether disposing this disposes the model.</param>
    /// <param name="chatTemplate">The template <see cref="RenderChat"/> uses; null: no chat.</param>
    public ServedModel(HybridLanguageModel model, HybridKvCache pool, int maxConcurrentRequests, ITextTokenizer? tokenizer = null, int? bosTokenId = null,
        IReadOnlyList<int>? eosTokenIds = null, bool ownsModel = true, ChatTemplate? chatTemplate = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        PagePool = pool ?? throw new ArgumentNullException(nameof(pool));
        MaxConcurrentRequests = maxConcurrentRequests > 0 ? maxConcurrentRequests
            : throw new ArgumentOutOfRangeException(nameof(maxConcurrentRequests), maxConcurrentRequests, "A served model runs at least one request at once.");
        Tokenizer = tokenizer;
        BosTokenId = bosTokenId;
        EosTokenIds = eosTokenIds ?? Array.Empty<int>();
        ChatTemplate = chatTemplate;
        _ownsModel = ownsModel;
    }

    private readonly MambaStateCache? _states;

    public ICausalLanguageModel Model { get; }

    /// <summary>The state cache of a Mamba model.</summary>
    /// <exception cref="InvalidOperationException">The model is a hybrid over a page pool (<see cref="PagePool"/>).</exception>
    public MambaStateCache Cache => _states ?? throw new InvalidOperationException("This served model is a hybrid model over a page pool (PagePool), not a state cache.");

    /// <summary>A hybrid model's page pool; null for a Mamba model.</summary>
    public HybridKvCache? PagePool { get; }

    /// <summary>The most requests that run at once: the state cache's blocks, or the bound a page pool was sized for.</summary>
    public int MaxConcurrentRequests { get; }

    /// <summary>The cache's blocks: state blocks, or the page pool's pages (KV-cache usage is 1 - free / this).</summary>
    public int NumBlocks => _states?.NumBlocks ?? PagePool!.NumBlocks;

    public int NumFreeBlocks => _states?.Blocks.NumFreeBlocks ?? PagePool!.Blocks.NumFreeBlocks;

    /// <summary>The engine over this model's cache.</summary>
    public GenerationEngine CreateEngine(SchedulerOptions? options = null) =>
        _states is not null ? new GenerationEngine(Model, _states, options) : new GenerationEngine(Model, PagePool!, options);

    public ITextTokenizer? Tokenizer { get; }

    public int? BosTokenId { get; }

    public IReadOnlyList<int> EosTokenIds { get; }

    /// <summary>The checkpoint's chat template (with the bos/eos strings it renders with), or null when it has none
    /// or it could not be parsed (then <see cref="ChatTemplateError"/> says why).</summary>
    public ChatTemplate? ChatTemplate { get; }

    /// <summary>Why the checkpoint's chat template cannot be used (malformed tokenizer_config.json, a syntax error or a
    /// construct the interpreter does not support), or null. The model still serves plain prompts; chats fail with it.</summary>
    public ChatTemplateException? ChatTemplateError { get; private init; }

    /// <summary>
    /// Renders a conversation with the checkpoint's chat template as transformers'
    /// <c>apply_chat_template(messages, tools=None, add_generation_prompt=...)</c> does, with the checkpoint's bos_token and
    /// eos_token strings, and encodes it with no special tokens added (the template writes them). Safe to call from any
    /// thread. <paramref name="extra"/> adds template variables (<c>tools</c>, <c>enable_thinking</c>, ...).
    /// </summary>
    /// <exception cref="InvalidOperationException">The model has no chat template or no tokenizer.</exception>
    /// <exception cref="ChatTemplateException">The template cannot be used (see <see cref="ChatTemplateError"/>) or it failed
    /// on this conversation (e.g. its own <c>raise_exception</c>).</exception>
    public ChatPrompt RenderChat(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true, IReadOnlyDictionary<string, object?>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (ChatTemplateError is ChatTemplateException error)
        {
            throw new ChatTemplateException(error.Reason, error.Line, error.Column);
        }

        var template = ChatTemplate ?? throw new InvalidOperationException(
            $"The served model has no chat template (no chat_template in {TokenizerChatConfig.ConfigFileName}, no {TokenizerChatConfig.TemplateFileName}): send a plain prompt instead.");
        var tokenizer = Tokenizer ?? throw new InvalidOperationException("The served model has no tokenizer: a rendered chat cannot be encoded.");
        string text = template.Render(messages, addGenerationPrompt, extra);
        bool startsWithBos = template.Options.BosToken is { Length: > 0 } bos && text.StartsWith(bos, StringComparison.Ordinal);
        return new ChatPrompt(text, tokenizer.Encode(text), startsWithBos);
    }

    /// <summary>Loads a checkpoint as <c>mambagen generate</c> does (its tokenizer when it has one, its bos and eos
    /// tokens) with a cache of <paramref name="maxConcurrentRequests"/> blocks, and its chat template when it has one.
    /// The eos tokens are config.json's plus tokenizer_config.json's <c>eos_token</c> (when it is one token), as vLLM
    /// stops on both: chat templates end a turn with the latter. Call it inside the service's load function, so the
    /// model is loaded on the engine thread.</summary>
    public static ServedModel Load(HuggingFaceCheckpoint checkpoint, Device device, ScalarType dtype, int maxConcurrentRequests, int maxModelLen = 2048)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var tokenizer = checkpoint.HasTokenizer ? checkpoint.LoadTokenizer() : null;
        var (template, error, eosToken) = ReadChat(() => checkpoint.ChatConfig, checkpoint.Folder);
        var eos = WithEosToken(checkpoint.Config.EosTokenIds, tokenizer, eosToken);

        var model = MambaLanguageModel.Load(checkpoint, device, dtype, maxModelLen: maxModelLen);
        try
        {
            var cache = MambaStateCache.Allocate(model.Mixers, maxConcurrentRequests, model.Device);
            return new ServedModel(model, cache, tokenizer, checkpoint.Config.BosTokenId, eos, ownsModel: true, template) { ChatTemplateError = error };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>A loaded model with a new cache of <paramref name="maxConcurrentRequests"/> blocks.</summary>
    public static ServedModel Create(MambaLanguageModel model, int maxConcurrentRequests, ITextTokenizer? tokenizer, int? bosTokenId,
        IReadOnlyList<int>? eosTokenIds, bool ownsModel, ChatTemplate? chatTemplate = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var cache = MambaStateCache.Allocate(model.Mixers, maxConcurrentRequests, model.Device);
        return new ServedModel(model, cache, tokenizer, bosTokenId, eosTokenIds, ownsModel, chatTemplate);
    }

    /// <summary>Loads a hybrid checkpoint as <see cref="Load(HuggingFaceCheckpoint, Device, ScalarType, int, int)"/> loads
    /// a Mamba one, with a page pool that holds <paramref name="maxConcurrentRequests"/> requests of
    /// <paramref name="maxModelLen"/> tokens (at most max_position_embeddings) at once.</summary>
    public static ServedModel Load(HybridCheckpoint checkpoint, Device device, ScalarType dtype, int maxConcurrentRequests, int maxModelLen = 2048)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var tokenizer = checkpoint.HasTokenizer ? checkpoint.LoadTokenizer() : null;
        var (template, error, eosToken) = ReadChat(() => checkpoint.ChatConfig, checkpoint.Folder);
        var eos = WithEosToken(checkpoint.Config.EosTokenIds, tokenizer, eosToken);
        var model = checkpoint.LoadModel(device, dtype);
        try
        {
            int tokens = Math.Min(maxModelLen, checkpoint.Config.MaxPositionEmbeddings);
            var pool = model.AllocateCache(checked(maxConcurrentRequests * model.PlanCache().BlocksFor(tokens)));
            return new ServedModel(model, pool, maxConcurrentRequests, tokenizer, checkpoint.Config.BosTokenId, eos, ownsModel: true, template) { ChatTemplateError = error };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>config.json's eos ids plus tokenizer_config.json's eos_token when it is one token (vLLM stops on both).</summary>
    private static IReadOnlyList<int> WithEosToken(IReadOnlyList<int> eos, ITextTokenizer? tokenizer, string? eosToken) =>
        tokenizer is not null && eosToken is { Length: > 0 } && tokenizer.Encode(eosToken) is [int eosId] && !eos.Contains(eosId) ? eos.Append(eosId).ToArray() : eos;

    /// <summary>The checkpoint's template and eos string; a template that cannot be used is kept as an error naming the folder.</summary>
    private static (ChatTemplate? Template, ChatTemplateException? Error, string? EosToken) ReadChat(Func<TokenizerChatConfig> read, string folder)
    {
        TokenizerChatConfig config;
        try
        {
            config = read();
        }
        catch (ChatTemplateException e)
        {
            return (null, Unusable(folder, e), null);
        }

        try
        {
            return (config.Load(), null, config.EosToken);
        }
        catch (ChatTemplateException e)
        {
            return (null, Unusable(folder, e), config.EosToken);
        }
    }

    private static ChatTemplateException Unusable(string folder, ChatTemplateException e) =>
        new($"{folder}: the chat template cannot be used: {e.Reason}", e.Line, e.Column);

    public void Dispose()
    {
        _states?.Dispose();
        PagePool?.Dispose();
        if (_ownsModel && Model is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }
}
