using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using MambaGen.ChatTemplates;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace MambaGen.Serving;

/// <summary>What the engine held the last time its loop looked: a snapshot, safe to read from any thread.</summary>
/// <param name="Waiting">Requests in the engine waiting for cache blocks.</param>
/// <param name="Running">Requests holding cache blocks.</param>
/// <param name="FreeBlocks">Blocks free in the cache (state blocks, or a hybrid's pages).</param>
/// <param name="NumBlocks">Blocks in the cache: for a state cache also the most requests that run at once
/// (a hybrid's bound is <see cref="ServedModel.MaxConcurrentRequests"/>).</param>
public sealed record EngineServiceStats(int Waiting, int Running, int FreeBlocks, int NumBlocks);

/// <summary>
/// A <see cref="GenerationEngine"/> as a service: one loop on its own thread owns the model, the state cache and the
/// engine (the only thread that runs model steps, so CUDA work stays on that thread's stream); any number of callers
/// submit requests from any thread and read their tokens back through channels, as text pieces.
/// <para>The service holds at most one running request per state block plus
/// <see cref="EngineServiceOptions.MaxQueuedRequests"/> waiting ones; a request beyond that is refused with
/// <see cref="EngineQueueFullException"/>. A caller that cancels, or stops enumerating, aborts its request: its
/// state block is free by the time the enumeration ends. When a model step throws, the loop dies: <see cref="Fault"/>
/// holds the cause and every request held or submitted after fails with <see cref="EngineFaultedException"/>.
/// <see cref="Dispose"/> stops the loop, fails the requests still held with <see cref="ObjectDisposedException"/>,
/// and disposes the <see cref="ServedModel"/>.</para>
/// </summary>
public sealed class EngineService : IDisposable, IAsyncDisposable
{
    private static readonly Action<ILogger, int, int, Exception?> LogStarted = LoggerMessage.Define<int, int>(LogLevel.Information,
        new EventId(1, "EngineStarted"), "Engine loop started: {NumBlocks} cache blocks, up to {MaxQueued} queued requests");
    private static readonly Action<ILogger, string, int, int, Exception?> LogAdded = LoggerMessage.Define<string, int, int>(LogLevel.Debug,
        new EventId(2, "RequestAdded"), "Request {RequestId} added: {PromptTokens} prompt tokens, at most {MaxTokens} new");
    private static readonly Action<ILogger, string, FinishReason, int, Exception?> LogFinished = LoggerMessage.Define<string, FinishReason, int>(LogLevel.Debug,
        new EventId(3, "RequestFinished"), "Request {RequestId} finished ({Finish}) after {OutputTokens} tokens");
    private static readonly Action<ILogger, string, Exception?> LogAborted = LoggerMessage.Define<string>(LogLevel.Debug,
        new EventId(4, "RequestAborted"), "Request {RequestId} aborted; its state block is free");
    private static readonly Action<ILogger, int, Exception?> LogRefused = LoggerMessage.Define<int>(LogLevel.Warning,
        new EventId(5, "QueueFull"), "Request refused: the service holds its limit of {Limit} requests");
    private static readonly Action<ILogger, int, Exception?> LogFaulted = LoggerMessage.Define<int>(LogLevel.Error,
        new EventId(6, "EngineFaulted"), "Engine loop died; failing {Requests} requests");
    private static readonly Action<ILogger, Exception?> LogDisposeFailed = LoggerMessage.Define(LogLevel.Error,
        new EventId(8, "DisposeFailed"), "Disposing the served model failed");
    private static readonly Action<ILogger, Exception?> LogStopped = LoggerMessage.Define(LogLevel.Information,
        new EventId(7, "EngineStopped"), "Engine loop stopped");

    private readonly Channel<Command> _commands = Channel.CreateUnbounded<Command>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, ActiveRequest> _active = new(StringComparer.Ordinal); // loop thread only
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly EngineServiceOptions _options;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private readonly ServedModel _served;
    private readonly int _limit;
    private EngineServiceStats _stats;
    private Exception? _fault;
    private int _held;
    private long _nextId;
    private int _disposed;

    /// <summary>Starts the loop thread, runs <paramref name="load"/> on it (load the model there, e.g. with
    /// <see cref="ServedModel.Load(Checkpoints.HuggingFaceCheckpoint, TorchSharp.torch.Device, TorchSharp.torch.ScalarType, int, int)"/>) and returns once it is ready to take requests.</summary>
    /// <exception cref="Exception">Whatever <paramref name="load"/> threw; no thread is left running.</exception>
    public EngineService(Func<ServedModel> load, EngineServiceOptions? options = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(load);
        _options = options ?? new EngineServiceOptions();
        _options.Validate();
        _logger = logger ?? NullLogger.Instance;
        var ready = new TaskCompletionSource<ServedModel>(TaskCreationOptions.RunContinuationsAsynchronously);
        _thread = new Thread(() => Loop(load, ready)) { IsBackground = true, Name = "MambaGen engine loop" };
        _thread.Start();
        _served = ready.Task.GetAwaiter().GetResult();
        _limit = _served.MaxConcurrentRequests + _options.MaxQueuedRequests;
        _stats = new EngineServiceStats(0, 0, _served.NumBlocks, _served.NumBlocks);
    }

    /// <summary>Serves a model already loaded (on the CPU, or on a GPU from this thread); the service owns it from now on.</summary>
    public EngineService(ServedModel served, EngineServiceOptions? options = null, ILogger? logger = null)
        : this(() => served ?? throw new ArgumentNullException(nameof(served)), options, logger)
    {
    }

    /// <summary>The tokenizer of the served model, or null (token ids only).</summary>
    public ITextTokenizer? Tokenizer => _served.Tokenizer;

    public int? BosTokenId => _served.BosTokenId;

    public IReadOnlyList<int> EosTokenIds => _served.EosTokenIds;

    /// <summary>The served checkpoint's chat template, or null (see <see cref="ServedModel.ChatTemplate"/>).</summary>
    public ChatTemplate? ChatTemplate => _served.ChatTemplate;

    /// <summary>Why the checkpoint's chat template cannot be used, or null (see <see cref="ServedModel.ChatTemplateError"/>).</summary>
    public ChatTemplateException? ChatTemplateError => _served.ChatTemplateError;

    /// <summary>Renders and encodes a conversation with the served checkpoint's chat template; generate from its
    /// <see cref="ChatPrompt.TokenIds"/>. See <see cref="ServedModel.RenderChat"/>.</summary>
    public ChatPrompt RenderChat(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true, IReadOnlyDictionary<string, object?>? extra = null)
    {
        ThrowIfStopped();
        return _served.RenderChat(messages, addGenerationPrompt, extra);
    }

    /// <summary>Requests the service holds at most (running plus queued) before it refuses.</summary>
    public int MaxRequests => _limit;

    /// <summary>Requests held now: submitted and not yet finished, aborted or failed.</summary>
    public int HeldRequests => Volatile.Read(ref _held);

    public EngineServiceStats Stats => Volatile.Read(ref _stats);

    /// <summary>Why the loop died, or null while it runs (or after a plain <see cref="Dispose"/>).</summary>
    public Exception? Fault => Volatile.Read(ref _fault);

    /// <summary>Completes when the loop ends: successfully after <see cref="Dispose"/>, faulted with
    /// <see cref="EngineFaultedException"/> when it died.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Generates from a text prompt: encoded with the model's tokenizer, after its bos token (see
    /// <see cref="GenerationOptions.AddBos"/>). Arguments are checked now; the request is submitted when the
    /// enumeration starts, and refused then with <see cref="EngineQueueFullException"/> when the service is full.</summary>
    /// <exception cref="EngineFaultedException">The loop has died (also thrown by the enumeration).</exception>
    /// <exception cref="ObjectDisposedException">The service was disposed (also thrown by the enumeration).</exception>
    public IAsyncEnumerable<GeneratedPiece> GenerateAsync(string prompt, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        ThrowIfStopped();
        options ??= new GenerationOptions();
        return GenerateAsync(EncodePrompt(prompt, options.AddBos), options, cancellationToken);
    }

    /// <summary>The token ids a text prompt runs as: encoded with the model's tokenizer, after its bos token when
    /// <paramref name="addBos"/> and the text does not already start with it (as <c>mambagen generate</c>).</summary>
    /// <exception cref="InvalidOperationException">The served model has no tokenizer.</exception>
    /// <exception cref="ArgumentException">The prompt encodes to nothing and there is no bos token to start from.</exception>
    public int[] EncodePrompt(string prompt, bool addBos = true)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var tokenizer = Tokenizer ?? throw new InvalidOperationException("The served model has no tokenizer: give the prompt as token ids.");
        var ids = tokenizer.Encode(prompt);
        if (addBos && BosTokenId is int bos && (ids.Length == 0 || ids[0] != bos))
        {
            ids = ids.Prepend(bos).ToArray();
        }

        if (ids.Length == 0)
        {
            throw new ArgumentException("The prompt is empty and the model has no bos token to start from.", nameof(prompt));
        }

        return ids;
    }

    /// <summary>Size of the served model's vocabulary: token ids are in [0, VocabSize).</summary>
    public int VocabSize => _served.Model.VocabSize;

    /// <summary>Generates from token ids, taken as given (no bos is added). See <see cref="GenerateAsync(string, GenerationOptions?, CancellationToken)"/>.</summary>
    public IAsyncEnumerable<GeneratedPiece> GenerateAsync(IReadOnlyList<int> tokenIds, GenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tokenIds);
        ThrowIfStopped();
        options ??= new GenerationOptions();
        if (tokenIds.Count == 0)
        {
            throw new ArgumentException("A request needs at least one prompt token.", nameof(tokenIds));
        }

        int vocab = _served.Model.VocabSize;
        for (int i = 0; i < tokenIds.Count; i++)
        {
            if (tokenIds[i] < 0 || tokenIds[i] >= vocab)
            {
                throw new ArgumentException($"Prompt token {i} is {tokenIds[i]}, outside the vocabulary [0, {vocab}).", nameof(tokenIds));
            }
        }

        var stops = options.StopStrings?.ToArray() ?? Array.Empty<string>();
        if (stops.Length > 0 && Tokenizer is null)
        {
            throw new ArgumentException("Stop strings need text, and the served model has no tokenizer.", nameof(options));
        }

        if (stops.Any(string.IsNullOrEmpty))
        {
            throw new ArgumentException("A stop string must not be null or empty.", nameof(options));
        }

        var sampling = options.ToSampling(EosTokenIds);
        sampling.Validate();
        sampling.MaxSequenceLength(tokenIds.Count);
        return Stream(tokenIds.ToArray(), sampling, stops, cancellationToken);
    }

    private async IAsyncEnumerable<GeneratedPiece> Stream(int[] prompt, SamplingParams sampling, string[] stops,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var request = Submit(prompt, sampling);
        var detokenizer = Tokenizer is null ? null : new IncrementalDetokenizer(Tokenizer);
        var matcher = new StopStringMatcher(stops);
        var tokens = new List<int>();
        bool ended = false;
        try
        {
            var reader = request.Output.Reader;
            while (true)
            {
                // Tokens already in the channel do not delay a cancellation.
                cancellationToken.ThrowIfCancellationRequested();
                if (!reader.TryRead(out var output))
                {
                    if (!await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                    {
                        // Completed without a last token: the loop failed the request (fault, dispose); this rethrows why.
                        ended = true;
                        await reader.Completion.ConfigureAwait(false);
                        throw new InvalidOperationException($"Request {request.Id} ended without a finish reason.");
                    }

                    continue;
                }

                tokens.Add(output.Token);
                string text = detokenizer is null || output.Finish == FinishReason.Stop ? string.Empty : detokenizer.Add(output.Token);
                if (output.Finished && detokenizer is not null)
                {
                    text += detokenizer.Flush();
                }

                var (emit, stopped) = matcher.Push(text, output.Finished);
                var finish = stopped ? FinishReason.Stop : output.Finish;
                if (stopped && !output.Finished)
                {
                    // Frees the block before the caller sees the last piece.
                    await AbortAsync(request).ConfigureAwait(false);
                }

                if (finish is not null)
                {
                    ended = true;
                    yield return new GeneratedPiece(emit, tokens.ToArray(), finish);
                    yield break;
                }

                if (emit.Length > 0 || detokenizer is null)
                {
                    yield return new GeneratedPiece(emit, tokens.ToArray(), null);
                    tokens.Clear();
                }
            }
        }
        finally
        {
            if (!ended)
            {
                await AbortAsync(request).ConfigureAwait(false);
            }
        }
    }

    private ActiveRequest Submit(int[] prompt, SamplingParams sampling)
    {
        ThrowIfStopped();
        if (Interlocked.Increment(ref _held) > _limit)
        {
            Interlocked.Decrement(ref _held);
            LogRefused(_logger, _limit, null);
            throw new EngineQueueFullException(_served.MaxConcurrentRequests, _options.MaxQueuedRequests);
        }

        var request = new ActiveRequest($"req-{Interlocked.Increment(ref _nextId)}", prompt, sampling);
        if (!_commands.Writer.TryWrite(new SubmitCommand(request)))
        {
            Interlocked.Decrement(ref _held);
            ThrowIfStopped();
            throw new ObjectDisposedException(nameof(EngineService));
        }

        return request;
    }

    private void ThrowIfStopped()
    {
        if (Fault is Exception fault)
        {
            throw new EngineFaultedException(fault);
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
    }

    /// <summary>Aborts the request in the engine and waits until the loop has done it (its block is free), unless the loop has ended.</summary>
    private async Task AbortAsync(ActiveRequest request)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (_commands.Writer.TryWrite(new AbortCommand(request.Id, done)))
        {
            await done.Task.ConfigureAwait(false);
        }
    }

    private void Loop(Func<ServedModel> load, TaskCompletionSource<ServedModel> ready)
    {
        ServedModel served;
        GenerationEngine engine;
        try
        {
            served = load() ?? throw new InvalidOperationException("The load function returned no model.");
            engine = served.CreateEngine(_options.Scheduler ?? new SchedulerOptions(MaxNumSeqs: served.MaxConcurrentRequests));
        }
        catch (Exception e)
        {
            _commands.Writer.TryComplete();
            _completion.TrySetException(e);
            ready.SetException(e);
            return;
        }

        ready.SetResult(served);
        LogStarted(_logger, served.NumBlocks, _options.MaxQueuedRequests, null);
        var reader = _commands.Reader;
        Exception? fault = null;
        try
        {
            while (true)
            {
                if (!engine.HasUnfinishedRequests && !reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                {
                    break;
                }

                while (reader.TryRead(out var command))
                {
                    Handle(command, engine, served);
                }

                if (reader.Completion.IsCompleted)
                {
                    break;
                }

                if (engine.HasUnfinishedRequests)
                {
                    foreach (var output in engine.Step())
                    {
                        var request = _active[output.RequestId];
                        request.NumOutputTokens++;
                        request.Output.Writer.TryWrite(output);
                        if (output.Finish is FinishReason finish)
                        {
                            _active.Remove(output.RequestId);
                            request.Output.Writer.TryComplete();
                            Release(request);
                            LogFinished(_logger, request.Id, finish, request.NumOutputTokens, null);
                        }
                    }

                    Publish(engine, served);
                }
            }
        }
        catch (Exception e)
        {
            fault = e;
            Volatile.Write(ref _fault, e);
            _commands.Writer.TryComplete();
            LogFaulted(_logger, _active.Count, e);
        }

        Exception failure = fault is null ? new ObjectDisposedException(nameof(EngineService), "The engine service was disposed while the request ran.") : new EngineFaultedException(fault);
        foreach (var request in _active.Values)
        {
            request.Output.Writer.TryComplete(failure);
            Release(request);
        }

        _active.Clear();
        // Whatever came in after the end: submits fail, aborts are done.
        while (reader.TryRead(out var late))
        {
            switch (late)
            {
                case SubmitCommand s:
                    s.Request.Output.Writer.TryComplete(failure);
                    Release(s.Request);
                    break;
                case AbortCommand a:
                    a.Done.TrySetResult();
                    break;
            }
        }

        try
        {
            served.Dispose();
        }
        catch (Exception e)
        {
            // Logged, not thrown: an exception here would end the process from this thread.
            LogDisposeFailed(_logger, e);
        }

        Publish(null, null);
        LogStopped(_logger, null);
        if (fault is null)
        {
            _completion.TrySetResult();
        }
        else
        {
            _completion.TrySetException(new EngineFaultedException(fault));
        }
    }

    private void Handle(Command command, GenerationEngine engine, ServedModel served)
    {
        switch (command)
        {
            case SubmitCommand s:
                try
                {
                    engine.AddRequest(s.Request.Prompt, s.Request.Sampling, s.Request.Id);
                    _active.Add(s.Request.Id, s.Request);
                    LogAdded(_logger, s.Request.Id, s.Request.Prompt.Length, s.Request.Sampling.MaxTokens, null);
                }
                catch (ArgumentException e)
                {
                    s.Request.Output.Writer.TryComplete(e);
                    Release(s.Request);
                }

                break;
            case AbortCommand a:
                if (_active.Remove(a.RequestId, out var request))
                {
                    engine.Abort(a.RequestId);
                    request.Output.Writer.TryComplete();
                    Release(request);
                    LogAborted(_logger, a.RequestId, null);
                }

                Publish(engine, served);
                a.Done.TrySetResult();
                break;
        }
    }

    private void Publish(GenerationEngine? engine, ServedModel? served)
    {
        var stats = engine is null || served is null
            ? Stats with { Waiting = 0, Running = 0 }
            : new EngineServiceStats(engine.NumWaitingRequests, engine.NumRunningRequests, served.NumFreeBlocks, served.NumBlocks);
        Volatile.Write(ref _stats, stats);
    }

    private void Release(ActiveRequest request)
    {
        if (Interlocked.Exchange(ref request.Released, 1) == 0)
        {
            Interlocked.Decrement(ref _held);
        }
    }

    /// <summary>Stops the loop (after the step it is in), fails the requests it still holds with
    /// <see cref="ObjectDisposedException"/> and disposes the served model and cache on the loop thread.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _commands.Writer.TryComplete();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        _commands.Writer.TryComplete();
        return new ValueTask(_completion.Task.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default));
    }

    private abstract record Command;

    private sealed record SubmitCommand(ActiveRequest Request) : Command;

    private sealed record AbortCommand(string RequestId, TaskCompletionSource Done) : Command;

    private sealed class ActiveRequest
    {
        public ActiveRequest(string id, int[] prompt, SamplingParams sampling)
        {
            Id = id;
            Prompt = prompt;
            Sampling = sampling;
        }

        public string Id { get; }

        public int[] Prompt { get; }

        public SamplingParams Sampling { get; }

        public Channel<RequestOutput> Output { get; } = Channel.CreateUnbounded<RequestOutput>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        public int NumOutputTokens { get; set; }

        public int Released; // a field: Interlocked needs one.
    }
}
