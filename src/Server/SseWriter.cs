using System;
using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;

namespace MambaGen.Server;

/// <summary>Server-sent events as OpenAI streams them: one <c>data: {json}</c> event per chunk, flushed at once,
/// and <c>data: [DONE]</c> at the end.</summary>
internal sealed class SseWriter
{
    private static readonly byte[] Prefix = Encoding.ASCII.GetBytes("data: ");
    private static readonly byte[] Separator = Encoding.ASCII.GetBytes("\n\n");
    private static readonly byte[] Done = Encoding.ASCII.GetBytes("data: [DONE]\n\n");

    private readonly HttpResponse _response;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);

    public SseWriter(HttpResponse response)
    {
        _response = response;
    }

    public bool Started => _response.HasStarted;

    /// <summary>Sends the status and headers of an event stream now, before its first event (proxies are asked not to buffer it).</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _response.StatusCode = StatusCodes.Status200OK;
        _response.ContentType = "text/event-stream; charset=utf-8";
        _response.Headers.CacheControl = "no-cache";
        _response.Headers["X-Accel-Buffering"] = "no";
        await _response.StartAsync(cancellationToken).ConfigureAwait(false);
        // StartAsync only commits the headers; the flush puts them on the wire while the request may still wait for a block.
        await _response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task WriteAsync(Action<Utf8JsonWriter> chunk, CancellationToken cancellationToken)
    {
        _buffer.ResetWrittenCount();
        using (var json = new Utf8JsonWriter(_buffer, OpenAiJson.WriterOptions))
        {
            chunk(json);
        }

        await _response.Body.WriteAsync(Prefix, cancellationToken).ConfigureAwait(false);
        await _response.Body.WriteAsync(_buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        await _response.Body.WriteAsync(Separator, cancellationToken).ConfigureAwait(false);
        await _response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task DoneAsync(CancellationToken cancellationToken)
    {
        await _response.Body.WriteAsync(Done, cancellationToken).ConfigureAwait(false);
        await _response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
