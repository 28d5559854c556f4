using System;
using System.Collections.Generic;
using MambaGen.Generation;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Generation;

/// <summary>The sampler hands an all-greedy step to the op set's greedy picks (one kernel on CUDA) and reads two numbers a row back.</summary>
public class GreedyPickTests
{
    /// <summary>Picks as given, counting the calls; null: "these logits are not mine".</summary>
    private sealed class RecordingPicks(Func<Tensor, Tensor?> pick) : IGreedyOps
    {
        public int Calls;

        public Tensor? Pick(Tensor logits)
        {
            Calls++;
            return pick(logits);
        }
    }

    // bf16 logits on the CPU: not the host loop's fp32, so the sampler's device path runs.
    private static Tensor Logits() => torch.tensor(new float[] { 0, 3, 1, 2, 7, 5 }).view(2, 3).to(ScalarType.BFloat16);

    private static readonly IReadOnlyList<Generator?> NoGenerators = new Generator?[] { null, null };

    [Fact]
    public void An_all_greedy_step_takes_the_tokens_the_op_sets_picks_give()
    {
        var picks = new RecordingPicks(_ => torch.tensor(new long[] { 2, 1, 0, 1 }).view(2, 2));

        var tokens = Sampler.Sample(Logits(), new[] { SamplingParams.Greedy(4), SamplingParams.Greedy(4) }, NoGenerators, greedy: picks);

        Assert.Equal(new[] { 2, 0 }, tokens);
        Assert.Equal(1, picks.Calls);
    }

    [Fact]
    public void A_step_with_a_sampled_row_does_not_ask_for_greedy_picks()
    {
        var picks = new RecordingPicks(_ => throw new InvalidOperationException("asked"));
        using var generator = new Generator(3);

        var tokens = Sampler.Sample(Logits(), new[] { SamplingParams.Greedy(4), new SamplingParams { Temperature = 1e-6, MaxTokens = 4 } },
            new Generator?[] { null, generator }, greedy: picks);

        Assert.Equal(new[] { 1, 1 }, tokens);
        Assert.Equal(0, picks.Calls);
    }

    [Fact]
    public void Picks_that_decline_the_logits_leave_the_sampler_its_own_argmax()
    {
        var picks = new RecordingPicks(_ => null);

        var tokens = Sampler.Sample(Logits(), new[] { SamplingParams.Greedy(4), SamplingParams.Greedy(4) }, NoGenerators, greedy: picks);

        Assert.Equal(new[] { 1, 1 }, tokens);
        Assert.Equal(1, picks.Calls);
    }

    [Fact]
    public void A_row_the_picks_call_unhealthy_is_an_error_naming_its_request()
    {
        var logits = torch.tensor(new float[] { 0, 3, 1, float.NaN, 7, 5 }).view(2, 3).to(ScalarType.BFloat16);
        var picks = new RecordingPicks(_ => torch.tensor(new long[] { 1, 1, 0, 0 }).view(2, 2));

        var e = Assert.Throws<InvalidOperationException>(() =>
            Sampler.Sample(logits, new[] { SamplingParams.Greedy(4), SamplingParams.Greedy(4) }, NoGenerators, new[] { "a", "b" }, picks));

        Assert.Contains("request 'b'", e.Message);
        Assert.Contains("1 NaN or +Inf", e.Message);
    }
}
