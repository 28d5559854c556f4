using System;
using System.Collections.Generic;
using System.Linq;

namespace MambaGen.Generation;

/// <summary>One request's share of a step.</summary>
internal readonly record struct ScheduledChunk(GenerationRequest Request, int NumTokens)
{
    /// <summary>One token on top of a stored state: the backends' decode path.</summary>
    public bool IsDecode => NumTokens == 1 && Request.NumComputedTokens > 0;
}

/// <summary>
/// vLLM-style continuous batching: each step runs every running request's pending decode first, then prefill
/// chunks of running and waiting requests, under a token budget. A waiting request is admitted only when the cache
/// blocks it needs are free.
/// </summary>
internal sealed class Scheduler
{
    private readonly SchedulerOptions _options;
    private readonly LinkedList<GenerationRequest> _waiting = new();
    private readonly List<GenerationRequest> _running = new();

    public Scheduler(SchedulerOptions options)
    {
        options.Validate();
        _options = options;
    }

    public int NumWaiting => _waiting.Count;

    public int NumRunning => _running.Count;

    public bool HasUnfinished => _waiting.Count > 0 || _running.Count > 0;

    /// <summary>Running requests sent back to the queue because the cache ran out of blocks (vLLM's num_preemptions).</summary>
    public int NumPreemptions { get; private set; }

    public void Add(GenerationRequest request) => _waiting.AddLast(request);

    /// <summary>Plans one step: decodes first, then prefill chunks, within the budget.</summary>
    /// <param name="tryGrow">Gives a request room for the given number of tokens in all, or returns false (taking
    /// nothing) when too few blocks are free.</param>
    /// <param name="free">Takes back everything a request holds.</param>
    /// <remarks>
    /// A running request that cannot grow preempts the last running request (vLLM's recompute preemption: its blocks
    /// are freed, it goes back to the head of the queue and later recomputes its tokens), until it fits or is the one
    /// preempted. A waiting request starts only when its blocks are free.
    /// </remarks>
    public IReadOnlyList<ScheduledChunk> Schedule(Func<GenerationRequest, int, bool> tryGrow, Action<GenerationRequest> free)
    {
        int budget = _options.MaxNumBatchedTokens;
        var decodes = new List<ScheduledChunk>();
        var prefills = new List<ScheduledChunk>();
        for (int i = 0; i < _running.Count; i++)
        {
            if (budget == 0 || decodes.Count + prefills.Count == _options.MaxNumSeqs)
            {
                break;
            }

            var r = _running[i];
            int n = Math.Min(r.NumPendingTokens, budget);
            bool preemptedSelf = false;
            while (!tryGrow(r, r.NumComputedTokens + n))
            {
                var victim = _running[^1];
                _running.RemoveAt(_running.Count - 1);
                free(victim);
                victim.NumComputedTokens = 0;
                _waiting.AddFirst(victim);
                NumPreemptions++;
                if (ReferenceEquals(victim, r))
                {
                    preemptedSelf = true;
                    break;
                }
            }

            if (preemptedSelf)
            {
                break;
            }

            var chunk = new ScheduledChunk(r, n);
            (chunk.IsDecode ? decodes : prefills).Add(chunk);
            budget -= n;
        }

        while (budget > 0 && _waiting.Count > 0 && _running.Count < _options.MaxNumSeqs && decodes.Count + prefills.Count < _options.MaxNumSeqs)
        {
            var r = _waiting.First!.Value;
            int n = Math.Min(r.NumPendingTokens, budget);
            if (!tryGrow(r, n))
            {
                break;
            }

            _waiting.RemoveFirst();
            _running.Add(r);
            prefills.Add(new ScheduledChunk(r, n));
            budget -= n;
        }

        return decodes.Concat(prefills).ToArray();
    }

    /// <summary>Takes a finished request out of the running set.</summary>
    public void Finish(GenerationRequest request) => _running.Remove(request);

    /// <summary>Takes a request out wherever it is, waiting or running (an abort).</summary>
    public bool Remove(GenerationRequest request) => _running.Remove(request) || _waiting.Remove(request);
}
