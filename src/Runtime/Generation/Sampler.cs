using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Generation;

/// <summary>Picks the next token of each request from its logits: greedy, or temperature, top-k and top-p with the request's own seed.</summary>
public static class Sampler
{
    /// <param name="logits">[num_requests, vocab], on any device.</param>
    /// <param name="parameters">One per row.</param>
    /// <param name="generators">One per row: the request's own generator (on any device; on the logits' device its draws need no copy), or null for greedy rows.</param>
    /// <param name="requestIds">One per row, to name the request when its logits are not finite; null names rows by index.</param>
    /// <param name="greedy">Where every row is greedy: the picks in one call on the logits' device (the fused kernels'), instead of the calls below.</param>
    /// <exception cref="InvalidOperationException">A row's logits hold NaN or +Inf, or are all -Inf: the model's output is
    /// garbage, and a token picked from it would be too.</exception>
    public static int[] Sample(Tensor logits, IReadOnlyList<SamplingParams> parameters, IReadOnlyList<Generator?> generators,
        IReadOnlyList<string>? requestIds = null, Ops.IGreedyOps? greedy = null)
    {
        if (logits.dim() != 2 || logits.size(0) != parameters.Count || generators.Count != parameters.Count ||
            (requestIds is not null && requestIds.Count != parameters.Count))
        {
            throw new ArgumentException($"Sampler needs logits [requests, vocab] with one parameter set, generator and request id per row: logits [{string.Join(", ", logits.shape)}], {parameters.Count} parameter sets, {generators.Count} generators, {requestIds?.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} request ids.");
        }

        if (GreedyOnHost(logits, parameters, requestIds) is { } picked)
        {
            return picked;
        }

        if (greedy is not null && parameters.All(p => p.Temperature == 0) && PickedOnDevice(logits, greedy, requestIds) is { } onDevice)
        {
            return onDevice;
        }

        using var scope = torch.NewDisposeScope();
        // Everything happens on the logits' device and only [rows, 3] crosses to the host, in one copy, not [rows, vocab]:
        // each row's argmax, its health and its sampled token (the argmax for greedy rows), stacked in one call.
        var argmax = logits.argmax(-1);
        var sampled = SampleRows(logits, parameters, generators) ?? argmax;
        var rows = torch.stack(new[] { argmax, Health(logits), sampled }, 1).cpu().data<long>().ToArray();
        var tokens = new int[parameters.Count];
        for (int r = 0; r < parameters.Count; r++)
        {
            if (rows[3 * r + 1] == 0)
            {
                throw Unhealthy(logits, r, requestIds);
            }

            tokens[r] = (int)rows[3 * r + (parameters[r].Temperature == 0 ? 0 : 2)];
        }

        return tokens;
    }

    /// <summary>Greedy rows picked by <paramref name="greedy"/>: [rows, 2] (token, healthy) back to the host in one copy; null where it does not take the logits.</summary>
    private static int[]? PickedOnDevice(Tensor logits, Ops.IGreedyOps greedy, IReadOnlyList<string>? requestIds)
    {
        using var scope = torch.NewDisposeScope();
        var picks = greedy.Pick(logits);
        if (picks is null)
        {
            return null;
        }

        return TokensOfPicks(picks.cpu().data<long>().ToArray(), logits, requestIds);
    }

    /// <summary>[rows, 2] int64 by TorchSharp calls, as <see cref="Ops.IGreedyOps.Pick"/> gives them: each row's argmax and <see cref="Health"/>.</summary>
    internal static Tensor GreedyRows(Tensor logits) => torch.stack(new[] { logits.argmax(-1), Health(logits) }, 1);

    /// <summary>[rows] int64, 1 where a row can be sampled: its maximum is NaN when any logit is (max propagates NaN),
    /// +Inf when one is, -Inf when all are; -Inf alone is a masked token, not a fault.</summary>
    private static Tensor Health(Tensor logits) => logits.amax(-1).isfinite().to(ScalarType.Int64);

    /// <summary>The tokens of <see cref="Ops.IGreedyOps.Pick"/>'s rows (token, healthy), or the error naming the first row that cannot be sampled.</summary>
    internal static int[] TokensOfPicks(long[] rows, Tensor logits, IReadOnlyList<string>? requestIds)
    {
        var tokens = new int[rows.Length / 2];
        for (int r = 0; r < tokens.Length; r++)
        {
            if (rows[2 * r + 1] == 0)
            {
                throw Unhealthy(logits, r, requestIds);
            }

            tokens[r] = (int)rows[2 * r];
        }

        return tokens;
    }

    private static InvalidOperationException Unhealthy(Tensor logits, int r, IReadOnlyList<string>? requestIds)
    {
        string request = requestIds is null ? $"row {r}" : $"request '{requestIds[r]}'";
        var row = logits[r];
        long bad = (row.isnan() | row.isposinf()).sum().item<long>();
        string what = bad > 0 ? $"hold {bad} NaN or +Inf value(s) of {logits.size(1)}" : "are all -Inf";
        return new InvalidOperationException($"The model's logits for {request} {what}: no token can be sampled from them (NaN or Inf from overflowed weights or activations; in float16 try bfloat16 or float32).");
    }

    /// <summary>
    /// Greedy rows of fp32 logits in host memory picked by one pass over each row (the same argmax, ties to the lowest
    /// id, and the same health check) instead of seven TorchSharp calls, a few percent of a small model's CPU decode
    /// step; null where a row samples or the logits are elsewhere.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static unsafe int[]? GreedyOnHost(Tensor logits, IReadOnlyList<SamplingParams> parameters, IReadOnlyList<string>? requestIds)
    {
        if (logits.device_type != DeviceType.CPU || logits.dtype != ScalarType.Float32 || !logits.is_contiguous())
        {
            return null;
        }

        for (int r = 0; r < parameters.Count; r++)
        {
            if (parameters[r].Temperature != 0)
            {
                return null;
            }
        }

        long vocab = logits.size(1);
        var tokens = new int[parameters.Count];
        float* data = (float*)Cuda.TorchCuda.DataPtrOfAnyDevice(logits);
        for (int r = 0; r < tokens.Length; r++)
        {
            float* row = data + r * vocab;
            float best = float.NegativeInfinity;
            int pick = -1;
            bool healthy = true;
            for (int i = 0; i < vocab; i++)
            {
                float v = row[i];
                if (float.IsNaN(v) || float.IsPositiveInfinity(v))
                {
                    healthy = false;
                    break;
                }

                if (v > best)
                {
                    (best, pick) = (v, i);
                }
            }

            if (!healthy || pick < 0)
            {
                throw Unhealthy(logits, r, requestIds);
            }

            tokens[r] = pick;
        }

        return tokens;
    }

    /// <summary>
    /// Every row's token with its temperature, top-k and top-p, all rows at once on the logits' device (greedy rows get
    /// some token that is not used); null when no row samples. The draw is an exponential race, argmax(p / E) with E
    /// ~ Exp(1) from the row's own generator (vLLM's way): a row's tokens depend on its seed alone, not on its batch.
    /// </summary>
    private static Tensor? SampleRows(Tensor logits, IReadOnlyList<SamplingParams> parameters, IReadOnlyList<Generator?> generators)
    {
        int count = parameters.Count;
        long vocab = logits.shape[1];
        bool any = false, topK = false, topP = false;
        var temperature = new float[count];
        var k = new long[count];
        var p = new float[count];
        for (int r = 0; r < count; r++)
        {
            var row = parameters[r];
            any |= row.Temperature > 0;
            temperature[r] = row.Temperature > 0 ? (float)row.Temperature : 1f;
            k[r] = row.Temperature > 0 && row.TopK > 0 && row.TopK < vocab ? row.TopK : vocab;
            p[r] = row.Temperature > 0 ? (float)row.TopP : 1f;
            topK |= k[r] < vocab;
            topP |= p[r] < 1f;
        }

        if (!any)
        {
            return null;
        }

        var device = logits.device;
        var x = logits.to(ScalarType.Float32);
        // Shifted so the top logit is 0: a small temperature sends the others to -inf (probability 0), never to NaN.
        var probs = torch.softmax((x - x.amax(new long[] { -1 }, keepdim: true)) / torch.tensor(temperature, device: device).unsqueeze(1), -1);
        if (topK || topP)
        {
            var (sorted, order) = probs.sort(-1, descending: true);
            var rank = torch.arange(vocab, device: device).unsqueeze(0);
            if (topK)
            {
                sorted = sorted.masked_fill(rank >= torch.tensor(k, device: device).unsqueeze(1), 0);
                sorted = sorted / sorted.sum(-1, keepdim: true);
            }

            if (topP)
            {
                // Drop a token when the tokens ranked above it already reach TopP; the top token always stays.
                var drop = ((sorted.cumsum(-1) - sorted) >= torch.tensor(p, device: device).unsqueeze(1)) & (rank > 0);
                sorted = sorted.masked_fill(drop, 0);
            }

            probs = torch.zeros_like(probs).scatter_(1, order, sorted);
        }

        // Uniform draws, each sampling row's from its own generator: in place where the generator is on the logits'
        // device, else drawn where it is and copied. Greedy rows draw nothing (their generator stays where it was).
        var uniform = torch.full(count, vocab, 0.5f, device: device);
        for (int r = 0; r < count; r++)
        {
            if (parameters[r].Temperature == 0)
            {
                continue;
            }

            var generator = generators[r];
            if (generator is null || generator.device.ToString() == device.ToString())
            {
                uniform[r].uniform_(0, 1, generator);
            }
            else
            {
                uniform[r].copy_(torch.rand(new long[] { vocab }, generator: generator, device: generator.device));
            }
        }

        // Exp(1) = -log(1 - U); the floor keeps a zero draw from dividing a masked token's zero into NaN, which argmax would pick.
        var race = torch.log1p(-uniform).neg_().clamp_min_(1e-30);
        return (probs / race).argmax(-1);
    }
}
