using System;
using System.Text.Encodings.Web;
using System.Text.Json;
using MambaGen.Generation;

namespace MambaGen.Server;

/// <summary>The response objects of OpenAI's API, written field by field (the shapes clients parse).</summary>
internal static class OpenAiJson
{
    /// <summary>Non-ASCII text as UTF-8, not \u escapes, as Python's json.dumps(ensure_ascii=False) in vLLM.</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string FinishName(FinishReason? finish) => finish switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        _ => throw new ArgumentOutOfRangeException(nameof(finish), finish, "A finished request has a finish reason."),
    };

    public static void Usage(Utf8JsonWriter json, int promptTokens, int completionTokens)
    {
        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", promptTokens);
        json.WriteNumber("completion_tokens", completionTokens);
        json.WriteNumber("total_tokens", promptTokens + completionTokens);
        json.WriteEndObject();
    }

    private static void Header(Utf8JsonWriter json, string id, string obj, long created, string model)
    {
        json.WriteString("id", id);
        json.WriteString("object", obj);
        json.WriteNumber("created", created);
        json.WriteString("model", model);
    }

    /// <summary>A choice's closing fields (no log probabilities; the finish reason or null) and its end.</summary>
    private static void EndChoice(Utf8JsonWriter json, FinishReason? finish)
    {
        json.WriteNull("logprobs");
        if (finish is null) json.WriteNull("finish_reason");
        else json.WriteString("finish_reason", FinishName(finish));
        json.WriteEndObject();
    }

    /// <summary>Ends the choices array, then the usage (null on stream chunks without it) and the object.</summary>
    private static void EndWithUsage(Utf8JsonWriter json, (int Prompt, int Completion)? usage)
    {
        json.WriteEndArray();
        if (usage is var (p, c)) Usage(json, p, c);
        else json.WriteNull("usage");
        json.WriteEndObject();
    }

    /// <summary>A /v1/completions response or stream chunk (object text_completion in both, as OpenAI and vLLM).</summary>
    public static void Completion(Utf8JsonWriter json, string id, long created, string model, string? text, FinishReason? finish, (int Prompt, int Completion)? usage)
    {
        json.WriteStartObject();
        Header(json, id, "text_completion", created, model);
        json.WriteStartArray("choices");
        if (text is not null)
        {
            json.WriteStartObject();
            json.WriteNumber("index", 0);
            json.WriteString("text", text);
            EndChoice(json, finish);
        }

        EndWithUsage(json, usage);
    }

    public static void ChatCompletion(Utf8JsonWriter json, string id, long created, string model, string content, FinishReason? finish, int promptTokens, int completionTokens)
    {
        json.WriteStartObject();
        Header(json, id, "chat.completion", created, model);
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("message");
        json.WriteString("role", "assistant");
        json.WriteString("content", content);
        json.WriteEndObject();
        EndChoice(json, finish);
        json.WriteEndArray();
        Usage(json, promptTokens, completionTokens);
        json.WriteEndObject();
    }

    /// <summary>A chat stream chunk: a delta (role on the first, content, or nothing on the last), or, with
    /// <paramref name="delta"/> false, no choice at all (the usage chunk that ends a stream with include_usage).</summary>
    public static void ChatChunk(Utf8JsonWriter json, string id, long created, string model, bool delta, bool role, string? content,
        FinishReason? finish, (int Prompt, int Completion)? usage)
    {
        json.WriteStartObject();
        Header(json, id, "chat.completion.chunk", created, model);
        json.WriteStartArray("choices");
        if (delta)
        {
            json.WriteStartObject();
            json.WriteNumber("index", 0);
            json.WriteStartObject("delta");
            if (role) json.WriteString("role", "assistant");
            if (content is not null) json.WriteString("content", content);
            json.WriteEndObject();
            EndChoice(json, finish);
        }

        EndWithUsage(json, usage);
    }
}
