using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using MambaGen.ChatTemplates;
using MambaGen.Server.Requests;

namespace MambaGen.Server;

/// <summary>The chat route's messages: OpenAI's JSON read into the <see cref="ChatMessage"/>s chat templates render.</summary>
internal static class ChatMessages
{
    private static readonly string[] Roles = { "system", "developer", "user", "assistant", "tool" };

    /// <summary>messages: a non-empty list of {role, content, name?, tool_call_id?}; content a string, null, or a
    /// list of text parts (joined with newlines, as vLLM does for string templates).</summary>
    public static IReadOnlyList<ChatMessage> Read(JsonFields body)
    {
        var items = body.Array("messages") ?? throw OpenAiError.BadField("messages", "'messages' is required: a list of {\"role\", \"content\"}.");
        if (items.Count == 0) throw OpenAiError.BadField("messages", "'messages' is empty; a chat needs at least one message.");
        var messages = new List<ChatMessage>(items.Count);
        for (int i = 0; i < items.Count; i++)
        {
            string path = $"messages[{i}]";
            var message = JsonFields.Object(items[i], path);
            string role = message.String("role") ?? throw OpenAiError.BadField(path + ".role", $"'{path}.role' is required.");
            if (!Roles.Contains(role, StringComparer.Ordinal))
            {
                throw OpenAiError.BadField(path + ".role", $"'{path}.role' is '{role}'; it must be one of {string.Join(", ", Roles)}.");
            }

            string? content = Content(message, path);
            var extra = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (message.String("name") is { } name) extra["name"] = name;
            if (message.String("tool_call_id") is { } callId) extra["tool_call_id"] = callId;
            if (message.Raw("tool_calls") is not null)
            {
                throw OpenAiError.BadField(path + ".tool_calls", $"'{path}.tool_calls' is not supported by this server: tool calling is not implemented.");
            }

            message.RefuseUnread();
            messages.Add(new ChatMessage(role, content, Extra: extra.Count > 0 ? extra : null));
        }

        return messages;
    }

    private static string? Content(JsonFields message, string path)
    {
        if (message.Raw("content") is not { } content) return null;
        if (content.ValueKind == JsonValueKind.String) return content.GetString();
        if (content.ValueKind != JsonValueKind.Array) throw message.Wrong("content", "a string or a list of text parts");
        var texts = new List<string>();
        int j = 0;
        foreach (var part in content.EnumerateArray())
        {
            string partPath = $"{path}.content[{j++}]";
            var fields = JsonFields.Object(part, partPath);
            string? type = fields.String("type");
            if (type != "text")
            {
                throw OpenAiError.BadField(partPath + ".type", $"'{partPath}.type' is '{type}'; this server takes text parts only (the model reads text).");
            }

            texts.Add(fields.String("text") ?? throw OpenAiError.BadField(partPath + ".text", $"'{partPath}.text' is required."));
            fields.RefuseUnread();
        }

        return string.Join("\n", texts);
    }
}
