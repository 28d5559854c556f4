using System.Collections.Generic;
using MambaGen.Backends;
using MambaGen.Tests.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Layers;

/// <summary>Splitting a sequence over steps (prefill chunks, then decodes) gives what one full forward gives.</summary>
public class ChunkedPrefillTests
{
    private const double Rtol = 1e-4, Atol = 2e-5;

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void Chunked_prefill_equals_one_shot_prefill(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind);
        const int length = 13;
        var x = mixer.Hidden(7, length);
        using var cache = mixer.Allocate(2);
        var oneShot = mixer.Step(x, new ScheduledRequest(0, length, 0, "one-shot"));

        // Chunks of 5, 1 (a resumed one-token chunk takes the decode path), 4 and 3: none ends on an SSD chunk boundary.
        var chunks = new[] { 5, 1, 4, 3 };
        var outputs = new List<Tensor>();
        int done = 0;
        foreach (var n in chunks)
        {
            outputs.Add(mixer.Step(x.narrow(0, done, n), new ScheduledRequest(done, n, 1, "chunked")));
            done += n;
        }

        OpsAssert.Close(oneShot, torch.cat(outputs.ToArray()), Rtol, Atol, $"{kind}: outputs of the chunked prefill");
        AssertSameStates(mixer, 0, 1, $"{kind}: final states of the chunked prefill");
    }

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void Chunked_prefill_batched_with_other_requests_equals_one_shot_prefill(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind);
        const int length = 10;
        var x = mixer.Hidden(8, length);
        var other = mixer.Hidden(9, 9);
        using var cache = mixer.Allocate(3);
        var oneShot = mixer.Step(x, new ScheduledRequest(0, length, 0, "one-shot"));

        // Step 1: the other request's prompt and the first 3 tokens; step 2: its decode, then the next 6; step 3: the last token.
        var s1 = mixer.Step(torch.cat(new[] { other.narrow(0, 0, 7), x.narrow(0, 0, 3) }), new ScheduledRequest(0, 7, 2, "other"), new ScheduledRequest(0, 3, 1, "chunked"));
        var s2 = mixer.Step(torch.cat(new[] { other.narrow(0, 7, 1), x.narrow(0, 3, 6) }), new ScheduledRequest(7, 1, 2, "other"), new ScheduledRequest(3, 6, 1, "chunked"));
        var s3 = mixer.Step(torch.cat(new[] { x.narrow(0, 9, 1), other.narrow(0, 8, 1) }), new ScheduledRequest(9, 1, 1, "chunked"), new ScheduledRequest(8, 1, 2, "other"));

        OpsAssert.Close(oneShot, torch.cat(new[] { s1.narrow(0, 7, 3), s2.narrow(0, 1, 6), s3.narrow(0, 0, 1) }), Rtol, Atol, $"{kind}: outputs of the batched chunked prefill");
        AssertSameStates(mixer, 0, 1, $"{kind}: final states of the batched chunked prefill");
    }

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void Prefill_then_decode_equals_the_full_sequence_forward(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind);
        const int length = 10, prompt = 6;
        var x = mixer.Hidden(10, length);
        using var cache = mixer.Allocate(2);
        var full = mixer.Step(x, new ScheduledRequest(0, length, 0, "full"));

        var prefill = mixer.Step(x.narrow(0, 0, prompt), new ScheduledRequest(0, prompt, 1, "stepped"));
        OpsAssert.Close(full.narrow(0, 0, prompt), prefill, Rtol, Atol, $"{kind}: prefill part");
        for (int t = prompt; t < length; t++)
        {
            var decoded = mixer.Step(x.narrow(0, t, 1), new ScheduledRequest(t, 1, 1, "stepped"));
            OpsAssert.Close(full.narrow(0, t, 1), decoded, Rtol, Atol, $"{kind}: decode of token {t}");
        }

        AssertSameStates(mixer, 0, 1, $"{kind}: states after the last decode");
    }

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void Token_by_token_from_the_first_token_equals_the_full_sequence_forward(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind);
        const int length = 6;
        var x = mixer.Hidden(11, length);
        using var cache = mixer.Allocate(2);
        var full = mixer.Step(x, new ScheduledRequest(0, length, 0, "full"));

        // The first token is a one-token prefill (nothing computed), every later one a decode.
        for (int t = 0; t < length; t++)
        {
            var y = mixer.Step(x.narrow(0, t, 1), new ScheduledRequest(t, 1, 1, "stepped"));
            OpsAssert.Close(full.narrow(0, t, 1), y, Rtol, Atol, $"{kind}: token {t}");
        }

        AssertSameStates(mixer, 0, 1, $"{kind}: states after the last token");
    }

    internal static void AssertSameStates(MixerUnderTest mixer, int expectedBlock, int actualBlock, string what)
    {
        var expected = mixer.StatesOf(expectedBlock);
        var actual = mixer.StatesOf(actualBlock);
        for (int i = 0; i < expected.Length; i++)
        {
            OpsAssert.Close(expected[i], actual[i], Rtol, Atol, $"{what}, state {i}");
        }
    }
}
