using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;

namespace MambaGen.Server.Tests;

/// <summary>The server's HTTP as a plain client sees it: SSE framing, error bodies, and metrics.</summary>
public sealed class WireFormatTests : IClassFixture<ChatServerFixture>
{
    private readonly LiveServer _server;

    public WireFormatTests(ChatServerFixture fixture)
    {
        _server = fixture.Server;
    }

    /// <summary>The data lines of an event stream, in order.</summary>
    private async Task<List<string>> StreamAsync(string path, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        using var response = await _server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e, StringComparison.Ordinal));
        return events.Select(e => e["data: ".Length..]).ToList();
    }

    [Fact]
    public async Task Streamed_completion_joins_to_the_whole_one_ends_with_usage_then_DONE()
    {
        const string prompt = "Gets the number of";
        var whole = await _server.PostAsync("v1/completions", JsonSerializer.Serialize(new { prompt, max_tokens = 12, temperature = 0 }));
        using var wholeJson = JsonDocument.Parse(await whole.Content.ReadAsStringAsync());
        var events = await StreamAsync("v1/completions", JsonSerializer.Serialize(new { prompt, max_tokens = 12, temperature = 0, stream = true, stream_options = new { include_usage = true } }));

        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c => Assert.Equal("text_completion", c.GetProperty("object").GetString()));
        var usage = chunks[^1];
        Assert.Equal(0, usage.GetProperty("choices").GetArrayLength());
        Assert.Equal(wholeJson.RootElement.GetProperty("usage").GetRawText(), usage.GetProperty("usage").GetRawText());
        var texts = chunks[..^1].Select(c => c.GetProperty("choices")[0]).ToList();
        Assert.Equal(wholeJson.RootElement.GetProperty("choices")[0].GetProperty("text").GetString(), string.Concat(texts.Select(t => t.GetProperty("text").GetString())));
        Assert.Equal("length", texts[^1].GetProperty("finish_reason").GetString());
        Assert.All(texts[..^1], t => Assert.Equal(JsonValueKind.Null, t.GetProperty("finish_reason").ValueKind));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
    }

    [Fact]
    public async Task Streamed_chat_starts_with_the_role_and_reports_usage_on_every_chunk_when_asked()
    {
        var events = await StreamAsync("v1/chat/completions", JsonSerializer.Serialize(new
        {
            model = "test-model", messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = 6, temperature = 0, ignore_eos = true,
            stream = true, stream_options = new { include_usage = true, continuous_usage_stats = true },
        }));
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.All(chunks, c => Assert.Equal(JsonValueKind.Object, c.GetProperty("usage").ValueKind));
        Assert.Equal(6, chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal("length", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Theory]
    [InlineData("{\"prompt\": \"x\", \"temperature\": \"hot\"}", "temperature")]
    [InlineData("{\"prompt\": \"x\", \"max_tokens\": 0}", "max_tokens")]
    [InlineData("{\"prompt\": \"x\", \"max_tokens\": 2000000}", "max_tokens")]
    [InlineData("{\"prompt\": \"x\", \"top_p\": 0}", "top_p")]
    [InlineData("{\"prompt\": \"x\", \"min_p\": 0.1}", "min_p")]
    [InlineData("{\"prompt\": \"x\", \"n\": 2}", "n")]
    [InlineData("{\"prompt\": \"x\", \"guided_json\": {}}", "guided_json")]
    [InlineData("{\"prompt\": \"x\", \"temprature\": 0}", "temprature")]
    [InlineData("{\"prompt\": \"x\", \"stop\": [\"a\", 3]}", "stop[1]")]
    [InlineData("{\"prompt\": \"x\", \"stream_options\": {\"include_usage\": true}}", "stream_options")]
    [InlineData("{\"prompt\": [5, 99999]}", "prompt[1]")]
    [InlineData("{\"prompt\": [\"a\", \"b\"]}", "prompt")]
    [InlineData("{\"max_tokens\": 4}", "prompt")]
    public async Task Bad_completion_field_is_a_400_naming_it(string body, string field)
    {
        var response = await _server.PostAsync("v1/completions", body);
        Assert.Equal(400, (int)response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = json.RootElement.GetProperty("error");
        Assert.Equal(field, error.GetProperty("param").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains(field, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"messages\": []}", "messages")]
    [InlineData("{\"messages\": [{\"role\": \"wizard\", \"content\": \"x\"}]}", "messages[0].role")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {}}]}]}", "messages[0].content[0].type")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\", \"mood\": 1}]}", "messages[0].mood")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 4, \"max_completion_tokens\": 5}", "max_tokens")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"tools\": [{\"type\": \"function\"}]}", "tools")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"max_completion_tokens\": 2000000}", "max_completion_tokens")]
    public async Task Bad_chat_field_is_a_400_naming_it(string body, string field)
    {
        var response = await _server.PostAsync("v1/chat/completions", body);
        Assert.Equal(400, (int)response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(field, json.RootElement.GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Body_that_is_not_json_is_a_400()
    {
        var response = await _server.PostAsync("v1/completions", "{\"prompt\": ");
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains("not valid JSON", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Honoured_vllm_fields_change_the_output_as_asked()
    {
        async Task<JsonElement> Complete(object body)
        {
            var response = await _server.PostAsync("v1/completions", JsonSerializer.Serialize(body));
            Assert.Equal(200, (int)response.StatusCode);
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("choices")[0];
        }

        var free = await Complete(new { prompt = "Gets the number of", max_tokens = 8, temperature = 0, ignore_eos = true });
        string text = free.GetProperty("text").GetString()!;
        // A stop string cut out of the greedy text ends it there; top_k 1 samples the greedy token at any temperature.
        string stop = text.Trim().Split(' ')[0];
        var stopped = await Complete(new { prompt = "Gets the number of", max_tokens = 8, temperature = 0, stop = new[] { stop } });
        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], stopped.GetProperty("text").GetString());
        Assert.Equal("stop", stopped.GetProperty("finish_reason").GetString());
        var topK = await Complete(new { prompt = "Gets the number of", max_tokens = 8, temperature = 1.5, top_k = 1, seed = 7, ignore_eos = true });
        Assert.Equal(text, topK.GetProperty("text").GetString());

        // stop_token_ids: the first greedy token as a stop token ends the request at once, its text left out.
        var firstToken = await Complete(new { prompt = "Gets the number of", max_tokens = 1, temperature = 0 });
        int firstId = Assert.Single(_server.Engine.Tokenizer!.Encode(firstToken.GetProperty("text").GetString()!));
        var response = await _server.PostAsync("v1/completions", JsonSerializer.Serialize(new { prompt = "Gets the number of", max_tokens = 8, temperature = 0, stop_token_ids = new[] { firstId } }));
        using var stoppedAtId = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("", stoppedAtId.RootElement.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("stop", stoppedAtId.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(1, stoppedAtId.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Metrics_carry_vllm_names_and_count_a_request()
    {
        var before = await _server.MetricsAsync();
        var response = await _server.PostAsync("v1/completions", JsonSerializer.Serialize(new { prompt = "Gets", max_tokens = 5, temperature = 0, ignore_eos = true }));
        Assert.Equal(200, (int)response.StatusCode);
        var after = await _server.MetricsAsync();
        foreach (var name in new[] { "vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:kv_cache_usage_perc" })
            Assert.True(after.ContainsKey(name), name + " missing");
        Assert.True(after["vllm:generation_tokens_total"] - before["vllm:generation_tokens_total"] >= 5);
        Assert.True(after["vllm:prompt_tokens_total"] > before["vllm:prompt_tokens_total"]);
        Assert.True(after["vllm:time_to_first_token_seconds_count"] > before["vllm:time_to_first_token_seconds_count"]);
        Assert.True(after["vllm:inter_token_latency_seconds_count"] - before["vllm:inter_token_latency_seconds_count"] >= 4);
        Assert.True(after["vllm:e2e_request_latency_seconds_bucket{le=\"+Inf\"}"] > before["vllm:e2e_request_latency_seconds_bucket{le=\"+Inf\"}"]);
        Assert.True(after["vllm:request_success_total{finished_reason=\"length\"}"] > before["vllm:request_success_total{finished_reason=\"length\"}"]);
    }

    [Fact]
    public async Task Client_that_disconnects_mid_stream_frees_its_block()
    {
        var before = await _server.MetricsAsync();
        var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { prompt = "Gets", max_tokens = LiveServer.HoldingTokens, ignore_eos = true, temperature = 0, stream = true }), Encoding.UTF8, "application/json"),
        };
        using (var response = await _server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: ", await reader.ReadLineAsync(), StringComparison.Ordinal);
            var running = await _server.MetricsAsync();
            Assert.True(running["vllm:num_requests_running"] >= 1);
            Assert.True(running["vllm:kv_cache_usage_perc"] > 0);
        }

        // Disposing the response closed the connection: the server aborts the request and frees its block.
        const string aborts = "vllm:request_success_total{finished_reason=\"abort\"}";
        var after = await _server.WaitForMetricsAsync(m => m["vllm:num_requests_running"] == 0 && m[aborts] > before[aborts], TimeSpan.FromSeconds(10));
        Assert.Equal(0, after["vllm:num_requests_running"]);
        Assert.Equal(0, after["vllm:kv_cache_usage_perc"]);
        Assert.Equal(before[aborts] + 1, after[aborts]);
        Assert.True(after["vllm:generation_tokens_total"] - before["vllm:generation_tokens_total"] < LiveServer.HoldingTokens, "the request ran to the end");
    }

    [Fact]
    public async Task Health_page_and_models_answer()
    {
        Assert.Equal(200, (int)(await _server.Http.GetAsync("health")).StatusCode);
        var page = await _server.Http.GetAsync("");
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        using var models = JsonDocument.Parse(await _server.Http.GetStringAsync("v1/models"));
        Assert.Equal(LiveServer.MaxModelLen, models.RootElement.GetProperty("data")[0].GetProperty("max_model_len").GetInt32());
    }
}
