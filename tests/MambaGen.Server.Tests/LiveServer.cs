using System;
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;
using MambaGen.Checkpoints;
using MambaGen.Server;
using MambaGen.Serving;
using MambaGen.Testing;
using OpenAI;
using static TorchSharp.torch;

namespace MambaGen.Server.Tests;

/// <summary>A server on a free loopback port over a model folder, with plain HTTP and OpenAI SDK clients.</summary>
public sealed class LiveServer : IAsyncDisposable
{
    private LiveServer(EngineService engine, OpenAiServer server)
    {
        Engine = engine;
        Server = server;
        // No draining of a response disposed half-read: the connection closes, as a client that hangs up does.
        Http = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public EngineService Engine { get; }

    public OpenAiServer Server { get; }

    public HttpClient Http { get; }

    public const int MaxModelLen = 1_000_000;

    /// <summary>max_tokens of a request that holds its block until its client leaves: minutes of decoding at the
    /// fastest this machine runs, so no test's timing depends on how fast the others let it go.</summary>
    public const int HoldingTokens = 500_000;

    public string ModelName => "test-model";

    public static Task<LiveServer> StartAsync(string modelFolder, int blocks, int maxQueued) =>
        StartAsync(new EngineService(() => ServedModel.Load(HuggingFaceCheckpoint.Open(modelFolder), CPU, ScalarType.Float32, blocks),
            new EngineServiceOptions { MaxQueuedRequests = maxQueued }));

    public static async Task<LiveServer> StartAsync(EngineService engine)
    {
        // Room for a request that holds its block far longer than any test runs (see HoldingTokens).
        var server = await OpenAiServer.StartAsync(engine, new ServerOptions { ModelName = "test-model", Port = 0, MaxModelLen = MaxModelLen });
        return new LiveServer(engine, server);
    }

    /// <summary>The OpenAI SDK pointed at this server, without retries (a 429 or 503 must reach the test).</summary>
    public OpenAIClient OpenAi() => new(new ApiKeyCredential("unused"), new OpenAIClientOptions
    {
        Endpoint = new Uri(Server.Address, "v1"),
        RetryPolicy = new ClientRetryPolicy(0),
    });

    public async Task<HttpResponseMessage> PostAsync(string path, string json) =>
        await Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    /// <summary>GET /metrics as series (name with labels, model_name left out) to value.</summary>
    public async Task<Dictionary<string, double>> MetricsAsync()
    {
        var text = await Http.GetStringAsync("metrics");
        var series = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            int space = line.LastIndexOf(' ');
            string name = line[..space].Replace(",model_name=\"test-model\"", string.Empty, StringComparison.Ordinal)
                .Replace("{model_name=\"test-model\"}", string.Empty, StringComparison.Ordinal);
            series[name] = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }

        return series;
    }

    /// <summary>Polls /metrics until <paramref name="done"/> holds (a request's abort reaches the engine a moment after the client leaves).</summary>
    public async Task<Dictionary<string, double>> WaitForMetricsAsync(Func<Dictionary<string, double>, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var metrics = await MetricsAsync();
            if (done(metrics) || DateTime.UtcNow > deadline) return metrics;
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
        await Engine.DisposeAsync();
    }
}

/// <summary>Model folders for the tests: the default model as it is (no chat template), and a copy with one.</summary>
public static class TestModels
{
    public const string BosToken = "<|endoftext|>";

    /// <summary>A plain "role: content" template; the default model knows no chat format, but greedy output of the
    /// rendered text is what the chat route must give.</summary>
    public const string Template = "{{ bos_token }}{% for message in messages %}{{ message['role'] + ': ' + message['content'] + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ 'assistant:' }}{% endif %}";

    public static string DefaultModel => RepoPaths.Combine("models", "default");

    /// <summary>A temporary copy of the default model with a tokenizer_config.json carrying <see cref="Template"/>.</summary>
    public static string CopyWithChatTemplate()
    {
        string folder = Path.Combine(Path.GetTempPath(), "mambagen-server-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        foreach (var file in new[] { "config.json", "model.safetensors", "tokenizer.json" })
        {
            File.Copy(Path.Combine(DefaultModel, file), Path.Combine(folder, file));
        }

        var config = new Dictionary<string, object> { ["bos_token"] = BosToken, ["eos_token"] = BosToken, ["chat_template"] = Template };
        File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), System.Text.Json.JsonSerializer.Serialize(config));
        return folder;
    }
}

/// <summary>One server with a chat template for the tests of a class (loading the model once).</summary>
public sealed class ChatServerFixture : IAsyncLifetime
{
    private string? _folder;

    public LiveServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _folder = TestModels.CopyWithChatTemplate();
        Server = await LiveServer.StartAsync(_folder, blocks: 4, maxQueued: 16);
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        if (_folder is not null) Directory.Delete(_folder, recursive: true);
    }
}
