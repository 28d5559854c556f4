using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Cache;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using MambaGen.Models.Hybrid;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Models;

/// <summary>
/// Compares a model with references computed by another implementation: the full-forward logits, the logits of each
/// decode step through the recurrent state (teacher-forced on the reference tokens, so one early difference does not
/// cascade), and the greedy tokens the engine generates when it batches the requests, when it prefills them in small
/// chunks, and when it runs them one at a time.
/// </summary>
public static class ReferenceCheck
{
    public static ReferenceCheckReport Run(MambaLanguageModel model, ExpectedOutputs expected, double tolerance = 1e-3) =>
        Run(Target.Of(model ?? throw new ArgumentNullException(nameof(model))), expected, tolerance);

    /// <summary>The same checks for a hybrid model, each run on its own page pool.</summary>
    public static ReferenceCheckReport Run(HybridLanguageModel model, ExpectedOutputs expected, double tolerance = 1e-3) =>
        Run(Target.Of(model ?? throw new ArgumentNullException(nameof(model))), expected, tolerance);

    private static ReferenceCheckReport Run(Target model, ExpectedOutputs expected, double tolerance)
    {
        ArgumentNullException.ThrowIfNull(expected);
        double logitDiff = FullForwardDiff(model, expected);
        double stepDiff = StepLogitsDiff(model, expected);
        int mismatches = 0, compared = 0;
        var prompts = Rows(expected.GenPrompt);
        var reference = Rows(expected.GenTokens).Select((r, i) => r.Skip(prompts[i].Length).ToArray()).ToArray();
        int newTokens = (int)expected.NewTokenCount;
        // Batched together; prefilled in chunks of 3 tokens; one request at a time.
        foreach (var options in new[] { new SchedulerOptions(), new SchedulerOptions(MaxNumBatchedTokens: 3), new SchedulerOptions(MaxNumSeqs: 1) })
        {
            var generated = GenerateGreedy(model, prompts, newTokens, options);
            for (int r = 0; r < prompts.Length; r++)
            {
                compared += reference[r].Length;
                mismatches += reference[r].Zip(generated[r]).Count(p => p.First != p.Second) + Math.Abs(reference[r].Length - generated[r].Length);
            }
        }

        return new ReferenceCheckReport(logitDiff, stepDiff, mismatches, compared, tolerance);
    }

    /// <summary>
    /// Checks the reference against itself: for each row whose <c>input_ids</c> start with its <c>gen_prompt</c> (P
    /// tokens), the logits that picked the first generated token (<c>gen_logits[r, 0]</c>) must equal the full
    /// forward's logits at the prompt's last token (<c>logits[r, P - 1]</c>), since both see the same P tokens. When
    /// they differ, the reference generated from something else than its prompt (e.g. transformers' generate() masked a
    /// prompt token equal to pad_token_id), and the step-logit and token comparisons of that row cannot pass.
    /// </summary>
    public static ReferenceConsistencyReport ReferenceSelfConsistency(ExpectedOutputs expected, double tolerance = 1e-3)
    {
        ArgumentNullException.ThrowIfNull(expected);
        using var scope = torch.NewDisposeScope();
        var inputs = Rows(expected.InputIds);
        var prompts = Rows(expected.GenPrompt);
        int p = prompts.Length > 0 ? prompts[0].Length : 0;
        var diffs = new double?[prompts.Length];
        for (int r = 0; r < prompts.Length; r++)
        {
            // Only a row whose full-forward input begins with the prompt saw the same tokens in both runs.
            if (r >= inputs.Length || p == 0 || inputs[r].Length < p || !inputs[r].AsSpan(0, p).SequenceEqual(prompts[r])) continue;
            diffs[r] = MaxAbsDiff(expected.GenLogits[r, 0], expected.Logits[r, p - 1]);
        }

        return new ReferenceConsistencyReport(diffs, p, tolerance);
    }

    /// <summary>Greedy generation of every prompt through the engine, with its own state cache.</summary>
    public static int[][] GenerateGreedy(MambaLanguageModel model, IReadOnlyList<int[]> prompts, int maxTokens, SchedulerOptions options) =>
        GenerateGreedy(Target.Of(model ?? throw new ArgumentNullException(nameof(model))), prompts, maxTokens, options);

    /// <summary>Greedy generation of every prompt through the engine, on a page pool that holds them all at once.</summary>
    public static int[][] GenerateGreedy(HybridLanguageModel model, IReadOnlyList<int[]> prompts, int maxTokens, SchedulerOptions options) =>
        GenerateGreedy(Target.Of(model ?? throw new ArgumentNullException(nameof(model))), prompts, maxTokens, options);

    private static int[][] GenerateGreedy(Target model, IReadOnlyList<int[]> prompts, int maxTokens, SchedulerOptions options)
    {
        using var cache = model.Allocate(prompts.Count, prompts.Max(p => p.Length) + maxTokens);
        var engine = cache.Engine(options);
        var ids = prompts.Select(p => engine.AddRequest(p, SamplingParams.Greedy(maxTokens))).ToArray();
        var outputs = ids.ToDictionary(id => id, _ => new List<int>());
        foreach (var o in engine.Run())
        {
            outputs[o.RequestId].Add(o.Token);
        }

        return ids.Select(id => outputs[id].ToArray()).ToArray();
    }

    private static double FullForwardDiff(Target model, ExpectedOutputs expected)
    {
        using var scope = torch.NewDisposeScope();
        var rows = Rows(expected.InputIds);
        using var cache = model.Allocate(rows.Length, rows.Max(r => r.Length));
        var step = cache.Step(rows.Select(r => (0, r.Length)).ToArray());
        var logits = model.ForwardAllTokens(expected.InputIds.reshape(-1), step);
        return MaxAbsDiff(logits.view(expected.Logits.shape), expected.Logits);
    }

    private static double StepLogitsDiff(Target model, ExpectedOutputs expected)
    {
        using var scope = torch.NewDisposeScope();
        var prompts = Rows(expected.GenPrompt);
        var tokens = Rows(expected.GenTokens);
        int p = prompts[0].Length;
        using var cache = model.Allocate(prompts.Length, p + (int)expected.NewTokenCount);
        double worst = 0;
        // Step 0: prefill the prompts; step k: decode reference token p+k-1 on top of the state.
        var prefill = cache.Step(prompts.Select(r => (0, r.Length)).ToArray());
        var logits = model.Model.Forward(expected.GenPrompt.reshape(-1), prefill);
        worst = Math.Max(worst, MaxAbsDiff(logits, expected.GenLogits.select(1, 0)));
        for (int k = 1; k < expected.NewTokenCount; k++)
        {
            var decode = cache.Step(prompts.Select(_ => (p + k - 1, 1)).ToArray());
            var ids = torch.tensor(tokens.Select(t => (long)t[p + k - 1]).ToArray());
            logits = model.Model.Forward(ids, decode);
            worst = Math.Max(worst, MaxAbsDiff(logits, expected.GenLogits.select(1, k)));
        }

        return worst;
    }

    private static double MaxAbsDiff(Tensor actual, Tensor expected) =>
        (actual.cpu().to(ScalarType.Float64) - expected.to(ScalarType.Float64)).abs().max().item<double>();

    private static int[][] Rows(Tensor ids)
    {
        var flat = ids.to(ScalarType.Int64).cpu().data<long>().ToArray();
        int cols = (int)ids.shape[1];
        return Enumerable.Range(0, (int)ids.shape[0]).Select(r => flat.Skip(r * cols).Take(cols).Select(v => (int)v).ToArray()).ToArray();
    }

    /// <summary>A model under check and how it makes its cache (for n requests of up to T tokens).</summary>
    private sealed record Target(ICausalLanguageModel Model, Func<Tensor, CommonAttentionMetadata, Tensor> ForwardAllTokens, Func<int, int, RequestCache> Allocate)
    {
        public static Target Of(MambaLanguageModel model) => new(model, model.ForwardAllTokens, (requests, _) => RequestCache.For(model, requests));

        public static Target Of(HybridLanguageModel model) => new(model, model.ForwardAllTokens, (requests, maxTokens) => RequestCache.For(model, requests, maxTokens));
    }
}
