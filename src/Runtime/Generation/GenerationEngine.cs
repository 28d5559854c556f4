using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using MambaGen.Backends;
using MambaGen.Cache;
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
    private int _nextId;

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
        _scheduler = new Scheduler(options ?? new SchedulerOptions());
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
        _blocks.Free(r);

        r.Generator?.Dispose();
        return true;
    }

    /// <summary>Whether a request with this id is in the engine (waiting or running).</summary>
    public bool Contains(string requestId) => _requests.ContainsKey(requestId);

    /// <summary>Runs one step; returns a token for every request whose known tokens were all computed in it.</summary>
    public IReadOnlyList<RequestOutput> Step()
    {
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
        var tokens = Sampler.Sample(picked, requests.Select(r => r.Sampling).ToArray(), requests.Select(r => r.Generator).ToArray(), requests.Select(r => r.Id).ToArray(),
            _model.Greedy);
        var outputs = new RequestOutput[requests.Length];
        for (int i = 0; i < requests.Length; i++)
        {
            var r = requests[i];
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

            outputs[i] = new RequestOutput(r.Id, tokens[i], finish);
        }

        return outputs;
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
