using System;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using MambaGen.Models;
using MambaGen.Backends;
using MambaGen.Cache;
using MambaGen.Serving;
using static TorchSharp.torch;

namespace MambaGen.Server.Tests;

/// <summary>What the server says when it cannot serve: a full queue, a model without a chat template, a dead engine.</summary>
public sealed class RefusalTests
{
    [Fact]
    public async Task Full_queue_is_a_429_with_Retry_After_and_a_model_without_template_refuses_chat_by_name()
    {
        await using var server = await LiveServer.StartAsync(TestModels.DefaultModel, blocks: 1, maxQueued: 0);
        var chat = await server.PostAsync("v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}");
        Assert.Equal(400, (int)chat.StatusCode);
        Assert.Contains("no chat template", await chat.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions")
        {
            Content = new StringContent($"{{\"prompt\": \"Gets\", \"max_tokens\": {LiveServer.HoldingTokens}, \"ignore_eos\": true, \"stream\": true}}", Encoding.UTF8, "application/json"),
        };
        using (var holding = await server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await holding.Content.ReadAsStreamAsync());
            await reader.ReadLineAsync(); // the one block is taken
            var refused = await server.PostAsync("v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 2}");
            Assert.Equal(429, (int)refused.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
            using var json = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
            Assert.Equal("queue_full", json.RootElement.GetProperty("error").GetProperty("code").GetString());
        }

        // Once the holder has gone, the block is free again and the same request runs.
        await server.WaitForMetricsAsync(m => m["vllm:num_requests_running"] == 0, TimeSpan.FromSeconds(10));
        Assert.Equal(200, (int)(await server.PostAsync("v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 2}")).StatusCode);
    }

    [Fact]
    public async Task Queued_stream_gets_its_headers_at_once_and_a_stream_beyond_the_queue_gets_429_not_an_event_stream()
    {
        await using var server = await LiveServer.StartAsync(TestModels.DefaultModel, blocks: 1, maxQueued: 1);
        static HttpRequestMessage Stream(int maxTokens) => new(HttpMethod.Post, "v1/completions")
        {
            Content = new StringContent($"{{\"prompt\": \"Gets\", \"max_tokens\": {maxTokens}, \"ignore_eos\": true, \"temperature\": 0, \"stream\": true}}", Encoding.UTF8, "application/json"),
        };

        using var holding = await server.Http.SendAsync(Stream(LiveServer.HoldingTokens), HttpCompletionOption.ResponseHeadersRead);
        using var holder = new StreamReader(await holding.Content.ReadAsStreamAsync());
        await holder.ReadLineAsync(); // the one block is taken

        // Taken into the queue: the event stream starts while the request still waits for the block.
        using var queued = await server.Http.SendAsync(Stream(4), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(200, (int)queued.StatusCode);
        Assert.Equal("text/event-stream", queued.Content.Headers.ContentType?.MediaType);
        Assert.Equal(1, (await server.WaitForMetricsAsync(m => m["vllm:num_requests_waiting"] == 1, TimeSpan.FromSeconds(10)))["vllm:num_requests_waiting"]);

        using var refused = await server.Http.SendAsync(Stream(4), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(429, (int)refused.StatusCode);
        Assert.Equal("application/json", refused.Content.Headers.ContentType?.MediaType);

        holding.Dispose(); // the holder hangs up; the queued request gets the block and runs to its end
        var events = (await queued.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        Assert.Contains("\"finish_reason\":\"length\"", events[^2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Engine_that_dies_mid_stream_ends_it_with_an_error_event_then_answers_503_and_health_says_so()
    {
        var checkpoint = HuggingFaceCheckpoint.Open(TestModels.DefaultModel);
        var engine = new EngineService(() =>
        {
            var model = MambaLanguageModel.Load(checkpoint, CPU, ScalarType.Float32);
            return new ServedModel(new FailingModel(model, failAt: 3), MambaStateCache.Allocate(model.Mixers, 1, CPU), checkpoint.LoadTokenizer(), 0, new[] { 0 });
        });
        await using var server = await LiveServer.StartAsync(engine);
        Assert.Equal(200, (int)(await server.Http.GetAsync("health")).StatusCode);

        // Two steps run (two tokens), the third throws: the stream already started ends with an error event.
        var streamed = await server.PostAsync("v1/completions", "{\"prompt\": \"Gets\", \"max_tokens\": 10, \"ignore_eos\": true, \"stream\": true}");
        Assert.Equal(200, (int)streamed.StatusCode);
        var events = (await streamed.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        Assert.Contains("\"code\":\"engine_dead\"", events[^2], StringComparison.Ordinal);
        Assert.Contains("simulated device fault", events[^2], StringComparison.Ordinal);

        var failed = await server.PostAsync("v1/completions", "{\"prompt\": \"x\", \"max_tokens\": 2}");
        Assert.Equal(503, (int)failed.StatusCode);
        Assert.Contains("engine_dead", await failed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var health = await server.Http.GetAsync("health");
        Assert.Equal(503, (int)health.StatusCode);
        Assert.Contains("simulated device fault", await health.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>A model whose step number <c>failAt</c> (1-based) and every later one throw, as a device fault would.</summary>
    private sealed class FailingModel : ICausalLanguageModel, IDisposable
    {
        private readonly MambaLanguageModel _inner;
        private readonly int _failAt;
        private int _steps;

        public FailingModel(MambaLanguageModel inner, int failAt)
        {
            _inner = inner;
            _failAt = failAt;
        }

        public int VocabSize => _inner.VocabSize;

        public Device Device => _inner.Device;

        public Tensor Forward(Tensor inputIds, CommonAttentionMetadata step) =>
            ++_steps >= _failAt ? throw new InvalidOperationException("simulated device fault") : _inner.Forward(inputIds, step);

        public void Dispose() => _inner.Dispose();
    }
}
