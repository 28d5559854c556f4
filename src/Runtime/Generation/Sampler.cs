using System;
using System.Collections.Generic;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Generation;

/// <summary>Picks the next token of each request from its logits: greedy, or temperature and top-p with the request's own seed.</summary>
public static class Sampler
{
    /// <param name="logits">[num_requests, vocab], on any device.</param>
    /// <param name="parameters">One per row.</param>
    /// <param name="generators">One per row: the request's CPU generator, or null for greedy rows.</param>
    /// <param name="requestIds">One per row, to name the request when its logits are not finite; null names rows by index.</param>
    /// <exception cref="InvalidOperationException">A row's logits hold NaN or +Inf, or are all -Inf: the model's output is
    /// garbage, and a token picked from it would be too.</exception>
    public static int[] Sample(Tensor logits, IReadOnlyList<SamplingParams> parameters, IReadOnlyList<Generator?> generators,
        IReadOnlyList<string>? requestIds = null)
    {
        if (logits.dim() != 2 || logits.size(0) != parameters.Count || generators.Count != parameters.Count ||
            (requestIds is not null && requestIds.Count != parameters.Count))
        {
            throw new ArgumentException($"Sampler needs logits [requests, vocab] with one parameter set, generator and request id per row: logits [{string.Join(", ", logits.shape)}], {parameters.Count} parameter sets, {generators.Count} generators, {requestIds?.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} request ids.");
        }

        using var scope = torch.NewDisposeScope();
        // Greedy rows take their argmax on the logits' device, and each row's health is one more reduction there: its
        // maximum is NaN when any logit is (max propagates NaN), +Inf when one is, -Inf when all are. -Inf alone is a
        // masked token, not a fault. Only [rows, 2] crosses to the host, in one copy, not [rows, vocab].
        var checkedRows = torch.stack(new[] { logits.argmax(-1), logits.amax(-1).isfinite().to(ScalarType.Int64) }, 1).cpu().data<long>().ToArray();
        var tokens = new int[parameters.Count];
        for (int r = 0; r < parameters.Count; r++)
        {
            if (checkedRows[2 * r + 1] == 0)
            {
                string request = requestIds is null ? $"row {r}" : $"request '{requestIds[r]}'";
                var row = logits[r];
                long bad = (row.isnan() | row.isposinf()).sum().item<long>();
                string what = bad > 0 ? $"hold {bad} NaN or +Inf value(s) of {logits.size(1)}" : "are all -Inf";
                throw new InvalidOperationException($"The model's logits for {request} {what}: no token can be sampled from them (NaN or Inf from overflowed weights or activations; in float16 try bfloat16 or float32).");
            }

            var p = parameters[r];
            tokens[r] = p.Temperature == 0 ? (int)checkedRows[2 * r] : SampleRow(logits[r].to(ScalarType.Float32).cpu(), p, generators[r]);
        }

        return tokens;
    }

    private static int SampleRow(Tensor logits, SamplingParams p, Generator? generator)
    {
        // Shifted so the top logit is 0: a small temperature sends the others to -inf (probability 0), never to NaN.
        var probs = torch.softmax((logits - logits.max()) / p.Temperature, -1);
        if (p.TopP < 1.0)
        {
            var (sorted, order) = probs.sort(descending: true);
            // Drop a token when the tokens ranked above it already reach TopP; the top token always stays.
            var drop = (sorted.cumsum(0) - sorted) >= p.TopP;
            drop[0] = torch.tensor(false);
            sorted = sorted.masked_fill(drop, 0);
            probs = torch.zeros_like(probs).scatter_(0, order, sorted);
        }

        return (int)torch.multinomial(probs / probs.sum(), 1, generator: generator).item<long>();
    }
}
