using System.Collections.Generic;
using System.Linq;
using MambaGen.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Generation;

/// <summary>Top-k keeps the k most likely tokens; top-p then counts mass among them (vLLM's order).</summary>
public class TopKSamplingTests
{
    private static HashSet<int> Draws(float[] probs, SamplingParams p, int n = 300)
    {
        using var generator = new Generator(11, torch.CPU);
        using var logits = torch.tensor(probs).log().unsqueeze(0);
        var drawn = new HashSet<int>();
        for (int i = 0; i < n; i++)
        {
            drawn.Add(Sampler.Sample(logits, new[] { p }, new Generator?[] { generator })[0]);
        }

        return drawn;
    }

    private static readonly float[] Probs = { 0.1f, 0.5f, 0.1f, 0.2f, 0.1f };

    [Fact]
    public void Top_k_draws_only_the_k_most_likely_tokens()
    {
        Assert.Equal(new[] { 1, 3 }, Draws(Probs, new SamplingParams { Temperature = 1, TopK = 2 }).Order());
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, Draws(Probs, new SamplingParams { Temperature = 1, TopK = 0 }).Order());
        Assert.Equal(new[] { 1 }, Draws(Probs, new SamplingParams { Temperature = 1, TopK = 1 }).Order());
    }

    [Fact]
    public void Top_p_after_top_k_counts_mass_among_the_kept_tokens()
    {
        // Among the top 2 the top token holds 0.5 / 0.7 = 0.71 >= 0.6, so it stays alone; over all tokens (0.5 < 0.6) it would not.
        Assert.Equal(new[] { 1 }, Draws(Probs, new SamplingParams { Temperature = 1, TopK = 2, TopP = 0.6 }).Order());
        Assert.Equal(new[] { 1, 3 }, Draws(Probs, new SamplingParams { Temperature = 1, TopP = 0.6 }).Order());
    }

    [Fact]
    public void Sampling_draws_each_token_with_its_probability_from_the_rows_own_generator()
    {
        // Two rows drawn together, each from its own seed: the second row's draws are the same alone as beside the first.
        using var logits = torch.tensor(Probs).log().unsqueeze(0).expand(2, -1).contiguous();
        var p = new SamplingParams { Temperature = 1 };
        using var a = new Generator(3, torch.CPU);
        using var b = new Generator(4, torch.CPU);
        using var alone = new Generator(4, torch.CPU);
        var counts = new int[Probs.Length];
        const int n = 4000;
        for (int i = 0; i < n; i++)
        {
            var pair = Sampler.Sample(logits, new[] { p, p }, new Generator?[] { a, b });
            Assert.Equal(pair[1], Sampler.Sample(logits.narrow(0, 1, 1), new[] { p }, new Generator?[] { alone })[0]);
            counts[pair[0]]++;
        }

        for (int t = 0; t < Probs.Length; t++)
        {
            // Four standard deviations of a binomial count: a wrong distribution misses, a right one passes but for 1 in 15,000.
            double sd = System.Math.Sqrt(n * Probs[t] * (1 - Probs[t]));
            Assert.InRange(counts[t], n * Probs[t] - 4 * sd, n * Probs[t] + 4 * sd);
        }
    }
}
