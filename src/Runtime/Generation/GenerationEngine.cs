using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using MambaGen.Backends;
using MambaGen.Cache;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Generation;

/// <summary>
/// A generation engine in vLLM's style: requests are added at any time; each <see cref="Step"/> runs one mixed batch
/// of decodes and (chunked) prefills over the state cache and returns each request's new token; a finished request
/// gives its state block back.
/// </summary>
public sealed class GenerationEngine
{
    private readonly ICausalLanguageModel _model;
    private readonly IRequestBlocks _blocks;
    private readonly Scheduler _scheduler;
    private readonly Dictionary<string, GenerationRequest> _requests = new(StringComparer.Ordinal);
    private readonly bool _asyncScheduling;
    private int _nextId;
    // A decode step queued from the previous step's picks on the device, not yet read (async scheduling).
    private InFlightStep? _inflight;

    public GenerationEngine(ICausalLanguageModel model, MambaStateCache cache, SchedulerOptions? options = null)
        : this(model, new StateCacheBlocks(cache ?? throw new ArgumentNullException(nameof(cache))), options)
    {
    }

    /// <summary>An engine over a hybrid model's page pool: requests take attention blocks as they grow and wait (or
    /// are preempted and recomputed, as in vLLM) when the pool runs out.</summary>
    public GenerationEngine(ICausalLanguageModel model, HybridKvCache cache, SchedulerOptions? options = null)
        : this(model, new HybridCacheBlocks(cache ?? throw new ArgumentNullException(nameof(cache))), options)
    {
    }

    private GenerationEngine(ICausalLanguageModel model, IRequestBlocks blocks, SchedulerOptions? options)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _blocks = blocks;
        options ??= new SchedulerOptions();
        _scheduler = new Scheduler(options);
        _asyncScheduling = options.AsyncScheduling;
    }

    public bool HasUnfinishedRequests => _scheduler.HasUnfinished;

    public int NumWaitingRequests => _scheduler.NumWaiting;

    public int NumRunningRequests => _scheduler.NumRunning;

    /// <summary>Running requests the engine sent back to the queue because the cache ran out of blocks; each later
    /// recomputes its tokens (vLLM's recompute preemption). Always 0 over a state cache.</summary>
    public int NumPreemptions => _scheduler.NumPreemptions;

    /// <summary>Queues a request; it starts when a state block is free. Returns its id.</summary>
    public string AddRequest(IReadOnlyList<int> promptTokenIds, SamplingParams sampling, string? requestId = null)
    {
        ArgumentNullException.ThrowIfNull(promptTokenIds);
        ArgumentNullException.ThrowIfNull(sampling);
        sampling.Validate();
        var id = requestId ?? $"req-{_nextId++}";
        if (promptTokenIds.Count == 0)
        {
            throw new ArgumentException($"Request '{id}' has an empty prompt; a request needs at least one token.", nameof(promptTokenIds));
        }

        for (int i = 0; i < promptTokenIds.Count; i++)
        {
            if (promptTokenIds[i] < 0 || promptTokenIds[i] >= _model.VocabSize)
            {
                throw new ArgumentException($"Request '{id}': prompt token {i} is {promptTokenIds[i]}, outside the vocabulary [0, {_model.VocabSize}).", nameof(promptTokenIds));
            }
        }

        int maxLength = sampling.MaxSequenceLength(promptTokenIds.Count);
        if (_model.MaxSequenceLength is { } modelLimit && maxLength > modelLimit)
        {
            throw new ArgumentException($"Request '{id}': its prompt of {promptTokenIds.Count} tokens plus MaxTokens {sampling.MaxTokens} is {maxLength} tokens, more than the model's {modelLimit} positions ({_model.MaxSequenceLengthSource}).", nameof(promptTokenIds));
        }

        if (maxLength > _blocks.MaxTokensPerRequest)
        {
            throw new ArgumentException($"Request '{id}': its prompt of {promptTokenIds.Count} tokens plus MaxTokens {sampling.MaxTokens} is {maxLength} tokens, but the cache's {_blocks.NumBlocks} blocks hold at most {_blocks.MaxTokensPerRequest} tokens for one request; allocate more blocks or lower MaxTokens.", nameof(promptTokenIds));
        }

        if (_requests.ContainsKey(id))
        {
            throw new ArgumentException($"A request with id '{id}' is already in the engine.", nameof(requestId));
        }

        var generator = sampling.Temperature > 0 ? RequestGenerator(sampling.Seed ?? (ulong)Random.Shared.NextInt64()) : null;
        var request = new GenerationRequest(id, promptTokenIds.ToArray(), sampling, generator);
        _requests.Add(id, request);
        _scheduler.Add(request);
        return id;
    }

    /// <summary>A request's own generator, on the model's device so its draws need no copy; on the CPU where that device has none.</summary>
    private Generator RequestGenerator(ulong seed)
    {
        if (_model.Device.type != DeviceType.CPU)
        {
            try
            {
                return new Generator(seed, _model.Device);
            }
            catch (Exception e) when (e is ExternalException or ArgumentException or NotSupportedException)
            {
                // The sampler copies a CPU generator's draws to the logits' device.
            }
        }

        return new Generator(seed, torch.CPU);
    }

    /// <summary>
    /// Ends a request now, waiting or running: its state block is free when this returns, and it produces no more
    /// output. Call it between steps, on the thread that steps the engine (the engine is not thread-safe).
    /// </summary>
    /// <returns>False when no such request is in the engine (it already finished, or never was).</returns>
    public bool Abort(string requestId)
    {
        ArgumentNullException.ThrowIfNull(requestId);
        if (!_requests.Remove(requestId, out var r))
        {
            return false;
        }

        _scheduler.Remove(r);
        // A step in flight may still write its block: the block's next user is queued on the device after that step.
        _blocks.Free(r);

        r.Generator?.Dispose();
        DropInFlightWithoutRequests();
        return true;
    }

    /// <summary>Whether a request with this id is in the engine (waiting or running).</summary>
    public bool Contains(string requestId) => _requests.ContainsKey(requestId);

    /// <summary>
    /// Runs one step; returns a token for every request whose known tokens were all computed in it. With
    /// <see cref="SchedulerOptions.AsyncScheduling"/>, a step of greedy decodes of every running request also queues the
    /// next one from its picks on the device before it reads them, so the device runs it while the host reads, commits
    /// and returns these tokens; the next call then returns that step's.
    /// </summary>
    public IReadOnlyList<RequestOutput> Step()
    {
        if (_inflight is { } queued)
        {
            _inflight = null;
            return Complete(queued);
        }

        if (!_scheduler.HasUnfinished)
        {
            return Array.Empty<RequestOutput>();
        }

        var chunks = _scheduler.Schedule(_blocks.TryGrow, _blocks.Free);
        if (chunks.Count == 0)
        {
            throw new InvalidOperationException($"No request could be scheduled: {_scheduler.NumWaiting} wait for cache blocks but all {_blocks.NumBlocks} blocks are held by {_scheduler.NumRunning} running requests.");
        }

        var ids = new long[chunks.Sum(c => c.NumTokens)];
        int at = 0;
        foreach (var c in chunks)
        {
            for (int i = 0; i < c.NumTokens; i++)
            {
                ids[at++] = c.Request.Tokens[c.Request.NumComputedTokens + i];
            }
        }

        var step = _blocks.Describe(chunks);
        using var scope = torch.NewDisposeScope();
        // Ids stay on the host: the model uploads them (or a decode graph copies them into its static buffer).
        var logits = _model.Forward(torch.tensor(ids, dtype: ScalarType.Int64), step);

        // Only requests that caught up with their known tokens sample; a prefill chunk in the middle of a prompt does not.
        var rows = new List<int>();
        foreach (var (c, row) in chunks.Select((c, i) => (c, i)))
        {
            c.Request.NumComputedTokens += c.NumTokens;
            if (c.Request.NumPendingTokens == 0)
            {
                rows.Add(row);
            }
        }

        if (rows.Count == 0)
        {
            return Array.Empty<RequestOutput>();
        }

        // Most steps sample every row (all decodes): no gather, no upload of row indices.
        var picked = rows.Count == chunks.Count ? logits : logits.index_select(0, torch.tensor(rows.Select(r => (long)r).ToArray(), device: logits.device));
        var requests = rows.Select(r => chunks[r].Request).ToArray();
        if (rows.Count == chunks.Count && Pipelines(requests) && _model.Greedy!.PickAsync(picked) is { } pending)
        {
            return Complete(new InFlightStep(requests, pending, picked.DetachFromDisposeScope()));
        }

        var tokens = Sampler.Sample(picked, requests.Select(r => r.Sampling).ToArray(), requests.Select(r => r.Generator).ToArray(), requests.Select(r => r.Id).ToArray(),
            _model.Greedy);
        return Commit(requests, tokens);
    }

    /// <summary>
    /// Whether a step of these requests can feed the next one from its picks on the device: the switch is on, the
    /// model picks on its device, every running request is in the step and decodes greedily, and none waits to join
    /// (a step with a newcomer's prefill is scheduled the ordinary way).
    /// </summary>
    private bool Pipelines(IReadOnlyList<GenerationRequest> requests) =>
        _asyncScheduling && _model.Greedy is not null && _scheduler.NumWaiting == 0 && requests.Count == _scheduler.NumRunning
        && requests.All(r => r.Sampling.Temperature == 0);

    /// <summary>Queues the step after <paramref name="step"/> where all of its requests go on to it, then reads and commits <paramref name="step"/>.</summary>
    private IReadOnlyList<RequestOutput> Complete(InFlightStep step)
    {
        using (step)
        {
            try
            {
                _inflight = Continues(step) ? Launch(step) : null;
                var tokens = Sampler.TokensOfPicks(step.Picks.Read(), step.Logits, step.Requests.Select(r => r.Id).ToArray());
                var outputs = Commit(step.Requests, tokens);
                DropInFlightWithoutRequests();
                return outputs;
            }
            catch
            {
                _inflight?.Dispose();
                _inflight = null;
                throw;
            }
        }
    }

    /// <summary>Whether every request of <paramref name="step"/> goes on to the next step whatever token it picked (a stop
    /// token shows only when read: that row's next token is then dropped), and the cache has room for it.</summary>
    private bool Continues(InFlightStep step) =>
        step.Requests.All(Running) && Pipelines(step.Requests)
        && step.Requests.All(r => r.NumOutputTokens + 1 < r.Sampling.MaxTokens)
        && step.Requests.All(r => _blocks.TryGrow(r, r.NumComputedTokens + 1));

    /// <summary>The decode step after <paramref name="step"/>, its input ids being <paramref name="step"/>'s picks still on the device.</summary>
    private InFlightStep? Launch(InFlightStep step)
    {
        var requests = step.Requests;
        var metadata = _blocks.Describe(requests.Select(r => new ScheduledChunk(r, 1)).ToArray());
        using var scope = torch.NewDisposeScope();
        var logits = _model.Forward(step.Picks.Tokens, metadata);
        foreach (var r in requests)
        {
            r.NumComputedTokens++;
        }

        // The same op set took the last step's logits of this shape; were it to decline these, their picks are read at once.
        var pending = _model.Greedy!.PickAsync(logits) ?? PickedNow(logits);
        return new InFlightStep(requests, pending, logits.DetachFromDisposeScope());
    }

    /// <summary>Picks read at once, in the form of pending ones.</summary>
    private PendingPicks PickedNow(Tensor logits)
    {
        var picks = _model.Greedy!.Pick(logits) ?? Sampler.GreedyRows(logits);
        return new PendingPicks(picks.select(1, 0).contiguous(), picks.cpu(), () => { });
    }

    private bool Running(GenerationRequest r) => _requests.TryGetValue(r.Id, out var live) && ReferenceEquals(live, r);

    /// <summary>A queued step none of whose requests is left (all finished or aborted) is not waited for: its picks are dropped.</summary>
    private void DropInFlightWithoutRequests()
    {
        if (_inflight is { } queued && !queued.Requests.Any(Running))
        {
            queued.Dispose();
            _inflight = null;
        }
    }

    /// <summary>Adds each live request's token, ends those that stop or reach their length, and says what each got.</summary>
    private IReadOnlyList<RequestOutput> Commit(IReadOnlyList<GenerationRequest> requests, int[] tokens)
    {
        var outputs = new List<RequestOutput>(requests.Count);
        for (int i = 0; i < requests.Count; i++)
        {
            var r = requests[i];
            // Aborted (or ended by a stop token read after this step was queued): its token goes nowhere.
            if (!Running(r))
            {
                continue;
            }

            r.Tokens.Add(tokens[i]);
            FinishReason? finish = r.Sampling.StopTokenIds.Contains(tokens[i]) ? FinishReason.Stop
                : r.NumOutputTokens >= r.Sampling.MaxTokens ? FinishReason.Length : null;
            if (finish is not null)
            {
                _scheduler.Finish(r);
                _blocks.Free(r);
                _requests.Remove(r.Id);
                r.Generator?.Dispose();
            }

            outputs.Add(new RequestOutput(r.Id, tokens[i], finish));
        }

        return outputs;
    }

    /// <summary>A step queued on the device whose picks the host has not read yet.</summary>
    private sealed record InFlightStep(IReadOnlyList<GenerationRequest> Requests, PendingPicks Picks, Tensor Logits) : IDisposable
    {
        public void Dispose()
        {
            Picks.Dispose();
            Logits.Dispose();
        }
    }

    /// <summary>Steps until every request has finished, yielding each new token as it comes.</summary>
    public IEnumerable<RequestOutput> Run()
    {
        while (HasUnfinishedRequests)
        {
            foreach (var o in Step())
            {
                yield return o;
            }
        }
    }
}
