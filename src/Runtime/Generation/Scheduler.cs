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
/// chunks of running and waiting requests, under a token budget. A waiting request is admitted only when a state
/// block is free for it.
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

    public void Add(GenerationRequest request) => _waiting.AddLast(request);

    /// <summary>Plans one step: decodes first, then prefill chunks, within the budget.</summary>
    /// <param name="tryAllocateBlock">Gives a waiting request a state block, or returns -1 when none is free.</param>
    public IReadOnlyList<ScheduledChunk> Schedule(Func<GenerationRequest, int> tryAllocateBlock)
    {
        int budget = _options.MaxNumBatchedTokens;
        var decodes = new List<ScheduledChunk>();
        var prefills = new List<ScheduledChunk>();
        foreach (var r in _running)
        {
            if (budget == 0 || decodes.Count + prefills.Count == _options.MaxNumSeqs)
            {
                break;
            }

            int n = Math.Min(r.NumPendingTokens, budget);
            var chunk = new ScheduledChunk(r, n);
            (chunk.IsDecode ? decodes : prefills).Add(chunk);
            budget -= n;
        }

        while (budget > 0 && _waiting.Count > 0 && _running.Count < _options.MaxNumSeqs && decodes.Count + prefills.Count < _options.MaxNumSeqs)
        {
            var r = _waiting.First!.Value;
            int block = tryAllocateBlock(r);
            if (block < 0)
            {
                break;
            }

            _waiting.RemoveFirst();
            r.Block = block;
            _running.Add(r);
            int n = Math.Min(r.NumPendingTokens, budget);
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
