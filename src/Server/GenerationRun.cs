using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using MambaGen.Generation;
using MambaGen.Serving;

namespace MambaGen.Server;

/// <summary>
/// One request's run through the engine, as a route sees it: started (and admitted or refused) before any response
/// byte is written, read piece by piece, timed into <see cref="ServerMetrics"/>. Disposing it before the last piece
/// aborts the request in the engine, which frees its state block.
/// </summary>
internal sealed class GenerationRun : IAsyncDisposable
{
    private readonly IAsyncEnumerator<GeneratedPiece> _pieces;
    private readonly ServerMetrics _metrics;
    private readonly long _arrival;
    private readonly string _promptField;
    private GeneratedPiece? _pending;
    private Task<bool>? _firstPiece;
    private long _lastPiece;
    private bool _ended;
    private bool _admitted;

    private GenerationRun(IAsyncEnumerator<GeneratedPiece> pieces, ServerMetrics metrics, long arrival, int promptTokens, string promptField)
    {
        _promptField = promptField;
        _pieces = pieces;
        _metrics = metrics;
        _arrival = arrival;
        PromptTokens = promptTokens;
    }

    public int PromptTokens { get; }

    /// <summary>Tokens generated so far (a stop token included, as vLLM counts it).</summary>
    public int CompletionTokens { get; private set; }

    public FinishReason? Finish { get; private set; }

    /// <summary>
    /// Submits the request; returns once the engine service has taken it (it may still wait for a state block).
    /// Refusals surface here, before the route writes anything: <see cref="EngineQueueFullException"/>,
    /// <see cref="EngineFaultedException"/>, and argument errors as a 400 naming the request field
    /// (<paramref name="promptField"/> for the prompt).
    /// </summary>
    public static async Task<GenerationRun> StartAsync(EngineService engine, ServerMetrics metrics, int[] prompt, GenerationOptions options,
        long arrival, string promptField, CancellationToken cancellationToken)
    {
        IAsyncEnumerator<GeneratedPiece> pieces;
        try
        {
            pieces = engine.GenerateAsync(prompt, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
        }
        catch (ArgumentException e)
        {
            throw ToBadField(e, promptField);
        }

        var run = new GenerationRun(pieces, metrics, arrival, prompt.Length, promptField);
        // The service submits the request, or refuses it, before its enumeration first waits: a first piece still
        // pending means the request was taken, and a stream can start before the request gets its block.
        var first = pieces.MoveNextAsync();
        if (first.IsCompleted)
        {
            try
            {
                run._pending = await run.FirstAsync(first).ConfigureAwait(false);
            }
            catch
            {
                await run.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
        else
        {
            run._firstPiece = first.AsTask();
        }

        run._admitted = true;
        metrics.AddPromptTokens(prompt.Length);
        if (run._pending is { } piece) run.Observe(piece);
        return run;
    }

    private async Task<GeneratedPiece> FirstAsync(ValueTask<bool> first)
    {
        try
        {
            return await first.ConfigureAwait(false) ? _pieces.Current : throw new InvalidOperationException("The engine ended the request without a piece.");
        }
        catch (ArgumentException e)
        {
            // The engine's own checks when its loop adds the request.
            throw ToBadField(e, _promptField);
        }
    }

    /// <summary>The next piece, or null after the last one.</summary>
    public async ValueTask<GeneratedPiece?> NextAsync()
    {
        if (_firstPiece is { } firstPiece)
        {
            _firstPiece = null;
            var piece = await FirstAsync(new ValueTask<bool>(firstPiece)).ConfigureAwait(false);
            Observe(piece);
            return piece;
        }

        if (_pending is { } first)
        {
            _pending = null;
            return first;
        }

        if (_ended || Finish is not null || !await _pieces.MoveNextAsync().ConfigureAwait(false))
        {
            return null;
        }

        Observe(_pieces.Current);
        return _pieces.Current;
    }

    private void Observe(GeneratedPiece piece)
    {
        long now = Stopwatch.GetTimestamp();
        int tokens = piece.TokenIds.Count;
        CompletionTokens += tokens;
        _metrics.AddGenerationTokens(tokens);
        if (_lastPiece == 0)
        {
            _metrics.TimeToFirstToken.Observe(Stopwatch.GetElapsedTime(_arrival, now).TotalSeconds);
        }
        else if (tokens > 0)
        {
            // Tokens held back together (inside a character or a possible stop string) share their interval evenly.
            _metrics.InterTokenLatency.Observe(Stopwatch.GetElapsedTime(_lastPiece, now).TotalSeconds / tokens, tokens);
        }

        _lastPiece = now;
        if (piece.Finish is FinishReason finish)
        {
            Finish = finish;
            End(finish);
        }
    }

    private void End(FinishReason? finish)
    {
        // A refused request never ran: it is no finished request.
        if (_ended || !_admitted) return;
        _ended = true;
        _metrics.Finished(finish, Stopwatch.GetElapsedTime(_arrival).TotalSeconds);
    }

    /// <summary>Aborts the request unless it finished (its block is free when this returns) and counts it as aborted.</summary>
    public async ValueTask DisposeAsync()
    {
        End(null);
        try
        {
            if (_firstPiece is { } pending)
            {
                // An enumerator cannot be disposed while a MoveNextAsync is pending; the route only gets here
                // with one pending when its client left, whose cancellation ends it.
                await pending.ConfigureAwait(false);
            }

            await _pieces.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or InvalidOperationException or ArgumentException)
        {
            // The request is gone either way; the route reports the first failure, not this one.
        }
    }

    private static OpenAiError ToBadField(ArgumentException e, string promptField)
    {
        string param = e.ParamName switch
        {
            "Temperature" => "temperature",
            "TopP" => "top_p",
            "TopK" => "top_k",
            "MaxTokens" => "max_tokens",
            "options" => "stop",
            _ => promptField,
        };
        string message = e.Message;
        int cut = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return OpenAiError.BadField(param, $"'{param}': {(cut >= 0 ? message[..cut] : message)}");
    }
}
