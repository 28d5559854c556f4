using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MambaGen.Serving;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace MambaGen.Server;

/// <summary>
/// An OpenAI-compatible HTTP server (Kestrel) over an <see cref="EngineService"/>: POST /v1/completions,
/// POST /v1/chat/completions (whole or streamed as server-sent events), GET /v1/models, GET /health, GET /metrics
/// (Prometheus, vLLM's names) and a chat page at /. See docs/serving.md. The engine stays the caller's: disposing
/// the server stops Kestrel, not the engine.
/// </summary>
public sealed class OpenAiServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OpenAiServer(WebApplication app, Uri address, ServerMetrics metrics)
    {
        _app = app;
        Address = address;
        Metrics = metrics;
    }

    /// <summary>Where the server listens, e.g. http://127.0.0.1:8000/ (with the real port when 0 was asked).</summary>
    public Uri Address { get; }

    public ServerMetrics Metrics { get; }

    /// <summary>Starts listening; returns once the port is bound.</summary>
    public static async Task<OpenAiServer> StartAsync(EngineService engine, ServerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = Array.Empty<string>(), ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        options.ConfigureLogging?.Invoke(builder.Logging);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Requests are JSON of a few kilobytes; a bound keeps a hostile body from filling memory.
            kestrel.Limits.MaxRequestBodySize = 16 * 1024 * 1024;
            kestrel.Listen(options.Address(), options.Port);
        });
        var app = builder.Build();
        var metrics = new ServerMetrics(engine, options.ModelName);
        var routes = new OpenAiRoutes(engine, metrics, options,
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("MambaGen.Server"));
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        app.MapPost("/v1/completions", routes.Completions);
        app.MapPost("/v1/chat/completions", routes.ChatCompletions);
        app.MapGet("/v1/models", context => OpenAiRoutes.WriteJsonAsync(context, StatusCodes.Status200OK, json =>
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            json.WriteStartObject();
            json.WriteString("id", options.ModelName);
            json.WriteString("object", "model");
            json.WriteNumber("created", created);
            json.WriteString("owned_by", "mambagen");
            json.WriteString("root", options.ModelName);
            json.WriteNull("parent");
            json.WriteNumber("max_model_len", options.MaxModelLen);
            json.WriteStartArray("permission");
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }));
        app.MapGet("/health", context =>
        {
            // 503 once the engine loop has ended (died, or stopped): a load balancer takes the server out.
            if (engine.Completion.IsCompleted)
            {
                string why = engine.Fault is { } fault ? $"The engine loop died: {fault.GetType().Name}: {fault.Message}" : "The engine has stopped.";
                return OpenAiRoutes.WriteJsonAsync(context, StatusCodes.Status503ServiceUnavailable,
                    new OpenAiError(StatusCodes.Status503ServiceUnavailable, "server_error", why, code: "engine_dead").WriteBody);
            }

            context.Response.StatusCode = StatusCodes.Status200OK;
            return Task.CompletedTask;
        });
        app.MapGet("/metrics", context =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            return context.Response.WriteAsync(metrics.Render(), context.RequestAborted);
        });
        byte[] page = ChatPageBytes();
        app.MapGet("/", context =>
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            context.Response.Headers.CacheControl = "no-cache";
            return context.Response.Body.WriteAsync(page, context.RequestAborted).AsTask();
        });

        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new OpenAiServer(app, new Uri(bound.Replace("[::]", "[::1]", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal) + "/"), metrics);
    }

    /// <summary>Completes when the host stops: Ctrl+C or SIGTERM (the console lifetime), or <paramref name="cancellationToken"/>.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => Microsoft.Extensions.Hosting.HostingAbstractionsHostExtensions.WaitForShutdownAsync(_app, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static byte[] ChatPageBytes()
    {
        using var stream = typeof(OpenAiServer).Assembly.GetManifestResourceStream("MambaGen.Server.ChatPage.html")
            ?? throw new InvalidOperationException("The chat page is not embedded in MambaGen.Server.");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }
}
