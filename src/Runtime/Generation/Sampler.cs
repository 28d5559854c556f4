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
    public static int[] Sample(Tensor logits, IReadOnlyList<SamplingParams> parameters, IReadOnlyList<Generator?> generators)
    {
        if (logits.dim() != 2 || logits.shape[0] != parameters.Count || generators.Count != parameters.Count)
        {
            throw new ArgumentException($"Sampler needs logits [requests, vocab] with one parameter set and generator per row: logits [{string.Join(", ", logits.shape)}], {parameters.Count} parameter sets, {generators.Count} generators.");
        }

        using var scope = torch.NewDisposeScope();
        // Greedy rows take their argmax on the logits' device: only token ids cross to the host, not [rows, vocab].
        var greedy = logits.argmax(-1).cpu().data<long>().ToArray();
        var tokens = new int[parameters.Count];
        for (int r = 0; r < parameters.Count; r++)
        {
            var p = parameters[r];
            tokens[r] = p.Temperature == 0 ? (int)greedy[r] : SampleRow(logits[r].to(ScalarType.Float32).cpu(), p, generators[r]);
        }

        return tokens;
    }

    private static int SampleRow(Tensor logits, SamplingParams p, Generator? generator)
    {
        var probs = torch.softmax(logits / p.Temperature, -1);
        if (p.TopP < 1.0)
        {
            var (sorted, order) = probs.sort(descending: true);
            // Drop a token when the tokens ranked above it already reach TopP; the top token always stays.
            var before = sorted.cumsum(0) - sorted;
            sorted = sorted.masked_fill(before >= p.TopP, 0);
            probs = torch.zeros_like(probs).scatter_(0, order, sorted);
        }

        return (int)torch.multinomial(probs / probs.sum(), 1, generator: generator).item<long>();
    }
}
