using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using MambaGen.Generation;
using Microsoft.Extensions.AI;

namespace MambaGen.Serving;

/// <summary>
/// An <see cref="IChatClient"/> over an <see cref="EngineService"/>: each request renders the conversation with the
/// served checkpoint's chat template (<see cref="EngineService.RenderChat"/>), generates from its tokens and streams
/// the text back. <see cref="ChatOptions"/> maps to <see cref="GenerationOptions"/> (Temperature, TopP, TopK,
/// MaxOutputTokens, StopSequences, Seed, Instructions as a leading system message, ModelId checked); what the engine
/// cannot honour (tools, JSON response formats, frequency/presence penalties, reasoning options, conversation ids,
/// background responses, non-text content) is refused with <see cref="NotSupportedException"/> naming it. The response
/// reports usage (prompt and generated tokens, a stop token included) and the finish reason (stop or length).
/// Cancelling a request aborts it: its state block is free by the time the call throws. See docs/serving-api.md.
/// </summary>
public sealed class MambaChatClient : IChatClient
{
    private readonly EngineService _service;
    private readonly MambaChatClientOptions _options;

    /// <param name="service">The engine; its model must have a tokenizer and a chat template.</param>
    /// <param name="modelId">The name this client answers to (<see cref="ChatOptions.ModelId"/>, <see cref="ChatResponse.ModelId"/>).</param>
    /// <param name="options">Defaults for unset options; whether disposing the client disposes the service.</param>
    public MambaChatClient(EngineService service, string modelId, MambaChatClientOptions? options = null)
    {
        _service = service ?? throw new ArgumentNullException(nameof(service));
        ArgumentException.ThrowIfNullOrWhiteSpace(modelId);
        ModelId = modelId;
        _options = options ?? new MambaChatClientOptions();
        Metadata = new ChatClientMetadata("MambaGen", null, modelId);
    }

    public string ModelId { get; }

    public ChatClientMetadata Metadata { get; }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var updates = GetStreamingResponseAsync(messages, options, cancellationToken);
        return await updates.ToChatResponseAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Streams the reply. The conversation and options are checked now (a refusal throws here, not at the first
    /// update); the request is submitted when the enumeration starts.</summary>
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var generation = ChatOptionsMapping.Generation(options, this, ModelId, _options.Defaults);
        var prompt = _service.RenderChat(ChatOptionsMapping.Messages(messages, options), addGenerationPrompt: true, ChatOptionsMapping.TemplateVariables(options));
        var pieces = _service.GenerateAsync(prompt.TokenIds, generation, cancellationToken);
        return Stream(pieces, prompt.TokenIds.Count, cancellationToken);
    }

    private async IAsyncEnumerable<ChatResponseUpdate> Stream(IAsyncEnumerable<GeneratedPiece> pieces, int promptTokens,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string responseId = "chatcmpl-" + Guid.NewGuid().ToString("N");
        var created = DateTimeOffset.UtcNow;
        int outputTokens = 0;
        await foreach (var piece in pieces.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            outputTokens += piece.TokenIds.Count;
            var update = new ChatResponseUpdate(ChatRole.Assistant, piece.Text)
            {
                ResponseId = responseId,
                MessageId = responseId,
                CreatedAt = created,
                ModelId = ModelId,
            };
            if (piece.Finish is FinishReason finish)
            {
                update.FinishReason = finish == FinishReason.Length ? ChatFinishReason.Length : ChatFinishReason.Stop;
                update.Contents.Add(new UsageContent(new UsageDetails
                {
                    InputTokenCount = promptTokens,
                    OutputTokenCount = outputTokens,
                    TotalTokenCount = promptTokens + outputTokens,
                }));
            }
            else if (piece.Text.Length == 0)
            {
                continue;
            }

            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        if (serviceType == typeof(ChatClientMetadata))
        {
            return Metadata;
        }

        if (serviceType.IsInstanceOfType(this))
        {
            return this;
        }

        return serviceType.IsInstanceOfType(_service) ? _service : null;
    }

    public void Dispose()
    {
        if (_options.DisposeService)
        {
            _service.Dispose();
        }
    }
}
