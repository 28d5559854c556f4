using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using MambaGen.Serving;

namespace MambaGen.Server.Requests;

/// <summary>
/// The fields /v1/completions and /v1/chat/completions share: sampling, stops, streaming. The engine honours
/// temperature, top_p, top_k, max_tokens, seed, stop, stop_token_ids and ignore_eos; the other OpenAI and vLLM sampling
/// fields are accepted only at the value that changes nothing (e.g. top_k -1, n 1) and refused by name otherwise,
/// so a client never gets output made without what it asked for.
/// </summary>
internal sealed record SamplingFields(
    int? MaxTokens,
    string MaxTokensField,
    double Temperature,
    double TopP,
    int TopK,
    ulong? Seed,
    IReadOnlyList<string> Stop,
    IReadOnlyList<int> StopTokenIds,
    bool IgnoreEos,
    bool Stream,
    bool IncludeUsage,
    bool ContinuousUsage)
{
    /// <summary>Stop strings one request may give: each is matched against every new piece of text.</summary>
    public const int MaxStopStrings = 16;

    /// <summary>Fields accepted only at a value that changes nothing; any other value is refused naming the field.</summary>
    private static readonly (string Name, Func<JsonElement, bool> IsNeutral, string Neutral)[] NeutralOnly =
    {
        ("n", v => IsNumber(v, 1), "1 (one choice per request)"),
        ("best_of", v => IsNumber(v, 1), "1"),
        ("min_p", v => IsNumber(v, 0), "0 (min-p sampling is not implemented)"),
        ("min_tokens", v => IsNumber(v, 0), "0"),
        ("repetition_penalty", v => IsNumber(v, 1), "1 (penalties are not implemented)"),
        ("presence_penalty", v => IsNumber(v, 0), "0 (penalties are not implemented)"),
        ("frequency_penalty", v => IsNumber(v, 0), "0 (penalties are not implemented)"),
        ("length_penalty", v => IsNumber(v, 1), "1"),
        ("logprobs", v => v.ValueKind == JsonValueKind.False || IsNumber(v, 0), "false (log probabilities are not returned)"),
        ("top_logprobs", v => IsNumber(v, 0), "0 (log probabilities are not returned)"),
        ("echo", v => v.ValueKind == JsonValueKind.False, "false"),
        ("include_stop_str_in_output", v => v.ValueKind == JsonValueKind.False, "false (the stop string is never in the output)"),
        ("logit_bias", v => v.ValueKind == JsonValueKind.Object && !v.EnumerateObject().Any(), "{} (logit bias is not implemented)"),
        ("bad_words", v => v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 0, "[]"),
        ("response_format", v => v.ValueKind == JsonValueKind.Object && v.TryGetProperty("type", out var t) && t.ValueEquals("text") && v.EnumerateObject().Count() == 1,
            "{\"type\": \"text\"} (structured output is not implemented)"),
        ("tools", v => v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 0, "[] (tool calling is not implemented)"),
        ("tool_choice", v => v.ValueKind == JsonValueKind.String && v.ValueEquals("none"), "\"none\" (tool calling is not implemented)"),
        ("continue_final_message", v => v.ValueKind == JsonValueKind.False, "false"),
        ("return_token_ids", v => v.ValueKind == JsonValueKind.False, "false"),
    };

    /// <summary>vLLM fields this server does not implement at any value.</summary>
    private static readonly string[] Unsupported =
    {
        "suffix", "prompt_logprobs", "allowed_token_ids", "truncate_prompt_tokens", "skip_special_tokens",
        "spaces_between_special_tokens", "structured_outputs", "guided_json", "guided_regex", "guided_choice", "guided_grammar",
        "priority", "request_id", "cache_salt", "vllm_xargs", "thinking_token_budget", "include_reasoning", "reasoning_effort",
        "documents", "chat_template", "chat_template_kwargs", "functions", "function_call", "audio", "modalities", "prediction",
        "web_search_options", "kv_transfer_params", "mm_processor_kwargs", "parallel_tool_calls",
    };

    /// <summary>Reads the shared fields of <paramref name="body"/>; <paramref name="maxTokensFields"/> are the names a
    /// route takes for the token limit (chat takes max_completion_tokens too).</summary>
    public static SamplingFields Read(JsonFields body, params string[] maxTokensFields)
    {
        foreach (var (name, isNeutral, neutral) in NeutralOnly)
        {
            if (body.Raw(name) is { } v && !isNeutral(v))
            {
                throw OpenAiError.BadField(name, $"'{name}' {JsonFields.Describe(v)} is not supported by this server: it takes only {neutral}.");
            }
        }

        foreach (var name in Unsupported)
        {
            if (body.Raw(name) is not null)
            {
                throw OpenAiError.BadField(name, $"'{name}' is not supported by this server; leave it out.");
            }
        }

        body.String("user"); // OpenAI's end-user id: for the caller's records; it changes no output.
        int? maxTokens = null;
        string? maxTokensName = null;
        foreach (var name in maxTokensFields)
        {
            if (body.Int(name) is int m)
            {
                if (maxTokens is int other && other != m)
                {
                    throw OpenAiError.BadField(name, $"'{name}' ({m}) and '{maxTokensName}' ({other}) disagree; give one.");
                }

                if (m < 1)
                {
                    throw OpenAiError.BadField(name, $"'{name}' must be at least 1 (got {m}).");
                }

                maxTokens = m;
                maxTokensName = name;
            }
        }

        double temperature = body.Number("temperature") ?? 1.0;
        if (temperature < 0) throw OpenAiError.BadField("temperature", $"'temperature' must be 0 (greedy) or more (got {JsonFields.Invariant(temperature)}).");
        double topP = body.Number("top_p") ?? 1.0;
        if (!(topP > 0 && topP <= 1)) throw OpenAiError.BadField("top_p", $"'top_p' must be in (0, 1] (got {JsonFields.Invariant(topP)}).");

        int topK = body.Int("top_k") ?? 0;
        if (topK < -1) throw OpenAiError.BadField("top_k", $"'top_k' must be -1 or 0 (keep all tokens) or positive (got {topK}).");
        var stop = ReadStop(body);
        var stopIds = new List<int>();
        if (body.Array("stop_token_ids") is { } ids)
        {
            for (int i = 0; i < ids.Count; i++) stopIds.Add(JsonFields.ToInt(ids[i], $"stop_token_ids[{i}]"));
        }

        bool ignoreEos = body.Bool("ignore_eos") ?? false;
        bool stream = body.Bool("stream") ?? false;
        bool includeUsage = false, continuous = false;
        if (body.Raw("stream_options") is { } so)
        {
            if (!stream) throw OpenAiError.BadField("stream_options", "'stream_options' is only allowed with \"stream\": true.");
            var options = JsonFields.Object(so, "stream_options");
            includeUsage = options.Bool("include_usage") ?? false;
            continuous = options.Bool("continuous_usage_stats") ?? false;
            options.RefuseUnread();
        }

        return new SamplingFields(maxTokens, maxTokensName ?? maxTokensFields[0], temperature, topP, Math.Max(topK, 0), body.Seed("seed"), stop, stopIds, ignoreEos, stream, includeUsage, continuous);
    }

    private static IReadOnlyList<string> ReadStop(JsonFields body)
    {
        if (body.Raw("stop") is not { } v) return Array.Empty<string>();
        var stops = v.ValueKind switch
        {
            JsonValueKind.String => new List<string> { v.GetString()! },
            JsonValueKind.Array => v.EnumerateArray().Select((s, i) => s.ValueKind == JsonValueKind.String
                ? s.GetString()!
                : throw OpenAiError.BadField($"stop[{i}]", $"'stop[{i}]' must be a string (got {JsonFields.Describe(s)}).")).ToList(),
            _ => throw body.Wrong("stop", "a string or an array of strings"),
        };
        if (stops.Count > MaxStopStrings) throw OpenAiError.BadField("stop", $"'stop' holds {stops.Count} strings; at most {MaxStopStrings} are allowed.");
        int empty = stops.FindIndex(string.IsNullOrEmpty);
        if (empty >= 0) throw OpenAiError.BadField("stop", $"'stop' holds an empty string (item {empty}); a stop string must not be empty.");
        return stops;
    }

    /// <summary>The engine's options, once the route has settled max_tokens and whether to add the bos token.</summary>
    public GenerationOptions ToOptions(int maxTokens, bool addBos) => new()
    {
        MaxTokens = maxTokens,
        Temperature = Temperature,
        TopP = TopP,
        TopK = TopK,
        Seed = Seed,
        StopStrings = Stop,
        StopTokenIds = StopTokenIds,
        IgnoreEos = IgnoreEos,
        AddBos = addBos,
    };

    private static bool IsNumber(JsonElement v, double value) => v.ValueKind == JsonValueKind.Number && v.GetDouble() == value;
}
