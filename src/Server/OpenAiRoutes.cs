using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using MambaGen.ChatTemplates;
using MambaGen.Serving;
using MambaGen.Server.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MambaGen.Server;

/// <summary>POST /v1/completions and POST /v1/chat/completions: requests read and checked field by field, run
/// through the engine, answered whole or streamed as server-sent events; every refusal an OpenAI error body.</summary>
internal sealed class OpenAiRoutes
{
    /// <summary>OpenAI's default max_tokens on /v1/completions (vLLM's too).</summary>
    private const int DefaultCompletionTokens = 16;

    private static readonly Action<ILogger, string, Exception?> LogFailed = LoggerMessage.Define<string>(LogLevel.Error,
        new EventId(1, "RequestFailed"), "Request to {Path} failed");

    private readonly EngineService _engine;
    private readonly ServerMetrics _metrics;
    private readonly ServerOptions _options;
    private readonly ILogger _logger;

    public OpenAiRoutes(EngineService engine, ServerMetrics metrics, ServerOptions options, ILogger logger)
    {
        _engine = engine;
        _metrics = metrics;
        _options = options;
        _logger = logger;
    }

    public Task Completions(HttpContext context) => Guard(context, async () =>
    {
        long arrival = Stopwatch.GetTimestamp();
        using var document = await ReadBodyAsync(context).ConfigureAwait(false);
        var body = JsonFields.Body(document.RootElement);
        CheckModel(body);
        var promptValue = body.Raw("prompt") ?? throw OpenAiError.BadField("prompt", "'prompt' is required.");
        bool addBos = body.Bool("add_special_tokens") ?? true;
        var sampling = SamplingFields.Read(body, "max_tokens");
        body.RefuseUnread();
        var prompt = CompletionPrompt(promptValue, addBos);
        int maxTokens = MaxTokens(sampling, prompt.Length, defaultTokens: DefaultCompletionTokens, "prompt");
        await RunAsync(context, prompt, sampling, maxTokens, "prompt", chat: false, arrival).ConfigureAwait(false);
    });

    public Task ChatCompletions(HttpContext context) => Guard(context, async () =>
    {
        long arrival = Stopwatch.GetTimestamp();
        using var document = await ReadBodyAsync(context).ConfigureAwait(false);
        var body = JsonFields.Body(document.RootElement);
        CheckModel(body);
        var messages = ChatMessages.Read(body);
        bool addGenerationPrompt = body.Bool("add_generation_prompt") ?? true;
        // vLLM's chat default: the template writes the special tokens it wants; none is added around it.
        bool addBos = body.Bool("add_special_tokens") ?? false;
        var sampling = SamplingFields.Read(body, "max_completion_tokens", "max_tokens");
        body.RefuseUnread();
        var prompt = RenderChat(messages, addGenerationPrompt, addBos);
        int maxTokens = MaxTokens(sampling, prompt.Length, defaultTokens: null, "messages");
        await RunAsync(context, prompt, sampling, maxTokens, "messages", chat: true, arrival).ConfigureAwait(false);
    });

    private async Task RunAsync(HttpContext context, int[] prompt, SamplingFields sampling, int maxTokens, string promptField, bool chat, long arrival)
    {
        var cancel = context.RequestAborted;
        string id = (chat ? "chatcmpl-" : "cmpl-") + Guid.NewGuid().ToString("N");
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        string model = _options.ModelName;
        await using var run = await GenerationRun.StartAsync(_engine, _metrics, prompt, sampling.ToOptions(maxTokens, addBos: false), arrival, promptField, cancel)
            .ConfigureAwait(false);
        if (!sampling.Stream)
        {
            var text = new StringBuilder();
            while (await run.NextAsync().ConfigureAwait(false) is { } piece) text.Append(piece.Text);
            await WriteJsonAsync(context, StatusCodes.Status200OK, json =>
            {
                if (chat) OpenAiJson.ChatCompletion(json, id, created, model, text.ToString(), run.Finish, run.PromptTokens, run.CompletionTokens);
                else OpenAiJson.Completion(json, id, created, model, text.ToString(), run.Finish, (run.PromptTokens, run.CompletionTokens));
            }).ConfigureAwait(false);
            return;
        }

        var sse = new SseWriter(context.Response);
        await sse.StartAsync(cancel).ConfigureAwait(false);
        (int, int)? Usage() => sampling.ContinuousUsage ? (run.PromptTokens, run.CompletionTokens) : null;
        if (chat) await sse.WriteAsync(j => OpenAiJson.ChatChunk(j, id, created, model, delta: true, role: true, string.Empty, null, Usage()), cancel).ConfigureAwait(false);
        while (await run.NextAsync().ConfigureAwait(false) is { } piece)
        {
            if (piece.Text.Length == 0 && !piece.IsLast) continue;
            var usage = Usage();
            await sse.WriteAsync(json =>
            {
                if (chat) OpenAiJson.ChatChunk(json, id, created, model, delta: true, role: false, piece.Text.Length > 0 ? piece.Text : null, piece.Finish, usage);
                else OpenAiJson.Completion(json, id, created, model, piece.Text, piece.Finish, usage);
            }, cancel).ConfigureAwait(false);
        }

        if (sampling.IncludeUsage)
        {
            var usage = (run.PromptTokens, run.CompletionTokens);
            await sse.WriteAsync(json =>
            {
                if (chat) OpenAiJson.ChatChunk(json, id, created, model, delta: false, role: false, null, null, usage);
                else OpenAiJson.Completion(json, id, created, model, null, null, usage);
            }, cancel).ConfigureAwait(false);
        }

        await sse.DoneAsync(cancel).ConfigureAwait(false);
    }

    /// <summary>A completions prompt: text (encoded, bos first unless add_special_tokens is false) or token ids as given.</summary>
    private int[] CompletionPrompt(JsonElement value, bool addBos)
    {
        if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0
            && value[0].ValueKind is JsonValueKind.String or JsonValueKind.Array)
        {
            if (value.GetArrayLength() > 1)
            {
                throw OpenAiError.BadField("prompt", $"'prompt' holds {value.GetArrayLength()} prompts; this server takes one per request (send one request each, concurrently).");
            }

            value = value[0];
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return Encode(value.GetString()!, addBos, "prompt");
            case JsonValueKind.Array:
                var ids = new int[value.GetArrayLength()];
                if (ids.Length == 0) throw OpenAiError.BadField("prompt", "'prompt' is an empty list of token ids; a request needs at least one prompt token.");
                for (int i = 0; i < ids.Length; i++)
                {
                    ids[i] = JsonFields.ToInt(value[i], $"prompt[{i}]");
                    if (ids[i] < 0 || ids[i] >= _engine.VocabSize)
                    {
                        throw OpenAiError.BadField($"prompt[{i}]", $"'prompt[{i}]' is token {ids[i]}, outside the vocabulary [0, {_engine.VocabSize}).");
                    }
                }

                return ids;
            default:
                throw OpenAiError.BadField("prompt", $"'prompt' must be a string or a list of token ids (got {JsonFields.Describe(value)}).");
        }
    }

    private int[] Encode(string text, bool addBos, string field)
    {
        if (_engine.Tokenizer is null)
        {
            throw OpenAiError.BadField(field, $"The model '{_options.ModelName}' has no tokenizer (no tokenizer.json): give the prompt as token ids on /v1/completions.");
        }

        try
        {
            return _engine.EncodePrompt(text, addBos);
        }
        catch (ArgumentException e)
        {
            throw OpenAiError.BadField(field, $"'{field}': {e.Message.Split(" (Parameter", 2)[0]}");
        }
    }

    /// <summary>The conversation through the checkpoint's chat template, encoded as vLLM's chat route does.</summary>
    private int[] RenderChat(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, bool addBos)
    {
        if (_engine.ChatTemplate is null && _engine.ChatTemplateError is null)
        {
            throw OpenAiError.BadField("messages", $"The model '{_options.ModelName}' has no chat template (no chat_template in tokenizer_config.json, no chat_template.jinja), so it cannot chat: use /v1/completions with a plain prompt.");
        }

        if (_engine.Tokenizer is null)
        {
            throw OpenAiError.BadField("messages", $"The model '{_options.ModelName}' has no tokenizer (no tokenizer.json), so a chat cannot be encoded: use /v1/completions with token ids.");
        }

        ChatPrompt prompt;
        try
        {
            prompt = _engine.RenderChat(messages, addGenerationPrompt);
        }
        catch (ChatTemplateException e)
        {
            // A template's raise_exception is how it refuses a conversation (e.g. roles out of turn).
            throw OpenAiError.BadField("messages", $"The chat template failed on these messages: {e.Message}");
        }

        if (prompt.TokenIds.Count == 0 && !addBos)
        {
            throw OpenAiError.BadField("messages", "The chat template rendered these messages as an empty prompt; a request needs at least one prompt token.");
        }

        // add_special_tokens: the bos token unless the template already wrote it (as mambagen generate's rule).
        return addBos ? Encode(prompt.Text, addBos: true, "messages") : prompt.TokenIds.ToArray();
    }

    /// <summary>max_tokens as asked, or the route's default, checked against the context length as vLLM does.</summary>
    private int MaxTokens(SamplingFields sampling, int promptTokens, int? defaultTokens, string promptField)
    {
        int? asked = sampling.MaxTokens;
        string maxTokensField = sampling.MaxTokensField;
        int limit = _options.MaxModelLen;
        int left = limit - promptTokens;
        if (left < 1)
        {
            throw OpenAiError.BadField(promptField, string.Create(CultureInfo.InvariantCulture,
                $"This model's maximum context length is {limit} tokens, and the prompt is {promptTokens} tokens: no room for a completion. Shorten the prompt."));
        }

        if (asked is int m && m > left)
        {
            throw OpenAiError.BadField(maxTokensField, string.Create(CultureInfo.InvariantCulture,
                $"This model's maximum context length is {limit} tokens. However, you requested {promptTokens + (long)m} tokens ({promptTokens} in the prompt, {m} for the completion). Lower {maxTokensField} or shorten the prompt."));
        }

        return asked ?? Math.Min(defaultTokens ?? left, left);
    }

    private void CheckModel(JsonFields body)
    {
        if (body.String("model") is { } model && !string.Equals(model, _options.ModelName, StringComparison.Ordinal))
        {
            throw new OpenAiError(StatusCodes.Status404NotFound, "invalid_request_error",
                $"The model '{model}' does not exist; this server serves '{_options.ModelName}' (GET /v1/models).", "model", "model_not_found");
        }
    }

    private static async Task<JsonDocument> ReadBodyAsync(HttpContext context)
    {
        try
        {
            return await JsonDocument.ParseAsync(context.Request.Body, new JsonDocumentOptions { MaxDepth = 64 }, context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw OpenAiError.BadRequest($"The request body is not valid JSON: {e.Message}");
        }
    }

    /// <summary>Runs a route and answers any failure as OpenAI does: a JSON error body with its status before the
    /// response started, an error event and [DONE] inside a stream already going. A client that left gets nothing.</summary>
    private async Task Guard(HttpContext context, Func<Task> route)
    {
        try
        {
            await route().ConfigureAwait(false);
        }
        catch (Exception e) when (context.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException)
        {
            // The client disconnected: its request was aborted (its block freed) on the way out.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            var error = ToError(e);
            if (error.Status >= 500) LogFailed(_logger, context.Request.Path, e);
            try
            {
                if (!context.Response.HasStarted)
                {
                    if (error.RetryAfterSeconds is int seconds) context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                    await WriteJsonAsync(context, error.Status, error.WriteBody).ConfigureAwait(false);
                }
                else
                {
                    var sse = new SseWriter(context.Response);
                    await sse.WriteAsync(error.WriteBody, context.RequestAborted).ConfigureAwait(false);
                    await sse.DoneAsync(context.RequestAborted).ConfigureAwait(false);
                }
            }
            catch (Exception) when (context.RequestAborted.IsCancellationRequested)
            {
                // Gone while we told it.
            }
        }
    }

    private OpenAiError ToError(Exception e) => e switch
    {
        OpenAiError error => error,
        EngineQueueFullException full => new OpenAiError(StatusCodes.Status429TooManyRequests, "rate_limit_error",
            $"The server is at capacity: {full.MaxRunningRequests} requests run and {full.MaxQueuedRequests} wait (--max-concurrent, --max-queue). Retry after {_options.RetryAfterSeconds} s.",
            code: "queue_full") { RetryAfterSeconds = _options.RetryAfterSeconds },
        EngineFaultedException dead => new OpenAiError(StatusCodes.Status503ServiceUnavailable, "server_error",
            $"The engine has died and serves no more requests (restart the server): {dead.InnerException?.Message}", code: "engine_dead"),
        ObjectDisposedException => new OpenAiError(StatusCodes.Status503ServiceUnavailable, "server_error", "The server is shutting down.", code: "shutting_down"),
        _ => new OpenAiError(StatusCodes.Status500InternalServerError, "server_error", $"The request failed: {e.GetType().Name}: {e.Message}"),
    };

    public static async Task WriteJsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer, OpenAiJson.WriterOptions))
        {
            write(json);
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = buffer.WrittenCount;
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
