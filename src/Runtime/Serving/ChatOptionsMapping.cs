using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.Extensions.AI;
using TemplateMessage = MambaGen.ChatTemplates.ChatMessage;

namespace MambaGen.Serving;

/// <summary>
/// <c>Microsoft.Extensions.AI</c> chat messages and options to a chat-template conversation and
/// <see cref="GenerationOptions"/>. What the engine cannot honour is refused with <see cref="NotSupportedException"/>
/// naming the option, never ignored.
/// </summary>
internal static class ChatOptionsMapping
{
    /// <summary>The key in <see cref="ChatOptions.AdditionalProperties"/> whose dictionary goes to the chat template as
    /// extra variables (vLLM's <c>chat_template_kwargs</c>, e.g. <c>enable_thinking</c>).</summary>
    public const string ChatTemplateKwargs = "chat_template_kwargs";

    public static List<TemplateMessage> Messages(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var list = new List<TemplateMessage>();
        if (!string.IsNullOrEmpty(options?.Instructions))
        {
            // As the OpenAI client does: per-request instructions are a system message ahead of the conversation.
            list.Add(new TemplateMessage("system", options.Instructions));
        }

        int index = 0;
        foreach (var message in messages)
        {
            if (message is null)
            {
                throw new ArgumentException($"Message {index} is null.", nameof(messages));
            }

            foreach (var content in message.Contents)
            {
                if (content is not TextContent)
                {
                    throw new NotSupportedException(
                        $"Message {index} ({message.Role}) holds {content.GetType().Name}: the MambaGen chat client takes text content only (no tools, images or other data).");
                }
            }

            var extra = message.AuthorName is null ? null : new Dictionary<string, object?> { ["name"] = message.AuthorName };
            list.Add(new TemplateMessage(message.Role.Value, message.Text, Extra: extra));
            index++;
        }

        if (list.Count == 0)
        {
            throw new ArgumentException("A chat request needs at least one message.", nameof(messages));
        }

        return list;
    }

    /// <summary>The chat template's extra variables from <c>AdditionalProperties["chat_template_kwargs"]</c>, or null.</summary>
    public static IReadOnlyDictionary<string, object?>? TemplateVariables(ChatOptions? options)
    {
        if (options?.AdditionalProperties is not { Count: > 0 } properties)
        {
            return null;
        }

        IReadOnlyDictionary<string, object?>? variables = null;
        foreach (var (key, value) in properties)
        {
            if (key != ChatTemplateKwargs)
            {
                throw new NotSupportedException($"ChatOptions.AdditionalProperties[\"{key}\"] is not supported by the MambaGen chat client (only \"{ChatTemplateKwargs}\", the chat template's extra variables).");
            }

            variables = value switch
            {
                IReadOnlyDictionary<string, object?> d => d,
                IDictionary<string, object?> d => d.ToDictionary(kv => kv.Key, kv => kv.Value),
                _ => throw new NotSupportedException($"ChatOptions.AdditionalProperties[\"{ChatTemplateKwargs}\"] must be a dictionary of template variables, not {value?.GetType().Name ?? "null"}."),
            };
        }

        return variables;
    }

    public static GenerationOptions Generation(ChatOptions? options, IChatClient client, string modelId, GenerationOptions defaults)
    {
        if (options is null)
        {
            return defaults;
        }

        if (options.ModelId is not null && options.ModelId != modelId)
        {
            throw new NotSupportedException($"ChatOptions.ModelId is '{options.ModelId}', but this client serves '{modelId}' only.");
        }

        Refuse(options.Tools is { Count: > 0 }, nameof(ChatOptions.Tools), "tool calling is not supported");
        Refuse(options.ToolMode is RequiredChatToolMode, nameof(ChatOptions.ToolMode), "tool calling is not supported");
        Refuse(options.ResponseFormat is not null and not ChatResponseFormatText, nameof(ChatOptions.ResponseFormat), "only text is supported (no JSON mode or JSON schema)");
        Refuse(options.FrequencyPenalty is float f && f != 0, nameof(ChatOptions.FrequencyPenalty), "the sampler has no frequency penalty");
        Refuse(options.PresencePenalty is float p && p != 0, nameof(ChatOptions.PresencePenalty), "the sampler has no presence penalty");
        Refuse(options.Reasoning is not null, nameof(ChatOptions.Reasoning), "reasoning effort is up to the chat template (pass its variables in AdditionalProperties[\"chat_template_kwargs\"], e.g. enable_thinking)");
        Refuse(options.ConversationId is not null, nameof(ChatOptions.ConversationId), "the client keeps no conversations: send the whole history");
        Refuse(options.AllowBackgroundResponses == true, nameof(ChatOptions.AllowBackgroundResponses), "responses are not kept in the background");
        Refuse(options.ContinuationToken is not null, nameof(ChatOptions.ContinuationToken), "responses are not kept in the background");

        var generation = defaults;
        if (options.RawRepresentationFactory?.Invoke(client) is object raw)
        {
            generation = raw as GenerationOptions ?? throw new NotSupportedException(
                $"ChatOptions.RawRepresentationFactory returned {raw.GetType().Name}; the MambaGen chat client takes a {nameof(GenerationOptions)}.");
        }

        return generation with
        {
            Temperature = options.Temperature ?? generation.Temperature,
            TopP = options.TopP ?? generation.TopP,
            TopK = options.TopK ?? generation.TopK,
            MaxTokens = options.MaxOutputTokens ?? generation.MaxTokens,
            // A seed is 64 bits either way; a negative one is kept as its two's complement, so it still repeats.
            Seed = options.Seed is long seed ? unchecked((ulong)seed) : generation.Seed,
            StopStrings = options.StopSequences is { Count: > 0 } stops ? (generation.StopStrings ?? Array.Empty<string>()).Concat(stops).ToArray() : generation.StopStrings,
        };
    }

    private static void Refuse(bool refused, string option, string why)
    {
        if (refused)
        {
            throw new NotSupportedException(string.Create(CultureInfo.InvariantCulture, $"ChatOptions.{option} is not supported by the MambaGen chat client: {why}."));
        }
    }
}
