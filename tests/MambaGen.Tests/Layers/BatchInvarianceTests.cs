using MambaGen.Backends;
using MambaGen.Tests.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Layers;

/// <summary>A request's outputs and states do not depend on what else is in its batch.</summary>
public class BatchInvarianceTests
{
    // fp32 on CPU: batching changes only the matmul shapes, so differences stay at rounding level.
    private const double Rtol = 1e-4, Atol = 2e-5;

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void Request_alone_equals_request_batched_with_others_of_other_lengths_in_mixed_steps(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind);
        const int prompt = 11;
        var a = mixer.Hidden(1, prompt + 2);
        var b = mixer.Hidden(2, 5 + 3);
        var c = mixer.Hidden(3, 2 + 2);
        var e = mixer.Hidden(4, 6);

        Tensor alonePrefill, aloneDecode1, aloneDecode2;
        Tensor[] aloneStates;
        using (var cache = mixer.Allocate(4))
        {
            alonePrefill = mixer.Step(a.narrow(0, 0, prompt), new ScheduledRequest(0, prompt, 0, "a"));
            aloneDecode1 = mixer.Step(a.narrow(0, prompt, 1), new ScheduledRequest(prompt, 1, 0, "a"));
            aloneDecode2 = mixer.Step(a.narrow(0, prompt + 1, 1), new ScheduledRequest(prompt + 1, 1, 0, "a"));
            aloneStates = mixer.StatesOf(0);
        }

        using (var cache = mixer.Allocate(4))
        {
            // b (5 tokens) and c (2 tokens, shorter than the conv window) prefill together.
            mixer.Step(torch.cat(new[] { b.narrow(0, 0, 5), c.narrow(0, 0, 2) }), new ScheduledRequest(0, 5, 1, "b"), new ScheduledRequest(0, 2, 2, "c"));

            // b and c decode while a prefills in block 3.
            var step2 = mixer.Step(torch.cat(new[] { b.narrow(0, 5, 1), c.narrow(0, 2, 1), a.narrow(0, 0, prompt) }),
                new ScheduledRequest(5, 1, 1, "b"), new ScheduledRequest(2, 1, 2, "c"), new ScheduledRequest(0, prompt, 3, "a"));
            OpsAssert.Close(alonePrefill, step2.narrow(0, 2, prompt), Rtol, Atol, $"{kind}: a's prefill batched behind two decodes");

            // a decodes first in a batch with another decode and a new prefill in block 0.
            var step3 = mixer.Step(torch.cat(new[] { a.narrow(0, prompt, 1), b.narrow(0, 6, 1), e }),
                new ScheduledRequest(prompt, 1, 3, "a"), new ScheduledRequest(6, 1, 1, "b"), new ScheduledRequest(0, 6, 0, "e"));
            OpsAssert.Close(aloneDecode1, step3.narrow(0, 0, 1), Rtol, Atol, $"{kind}: a's first decode beside a decode and a prefill");

            // a decodes in the middle of three decodes.
            var step4 = mixer.Step(torch.cat(new[] { b.narrow(0, 7, 1), a.narrow(0, prompt + 1, 1), c.narrow(0, 3, 1) }),
                new ScheduledRequest(7, 1, 1, "b"), new ScheduledRequest(prompt + 1, 1, 3, "a"), new ScheduledRequest(3, 1, 2, "c"));
            OpsAssert.Close(aloneDecode2, step4.narrow(0, 1, 1), Rtol, Atol, $"{kind}: a's second decode between two decodes");

            var batchedStates = mixer.StatesOf(3);
            for (int i = 0; i < aloneStates.Length; i++)
            {
                OpsAssert.Close(aloneStates[i], batchedStates[i], Rtol, Atol, $"{kind}: a's state {i} after batched steps");
            }
        }
    }

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void Padding_rows_change_neither_other_rows_nor_any_state_block(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind);
        using var cache = mixer.Allocate(2);
        mixer.Step(mixer.Hidden(1, 8), new ScheduledRequest(0, 7, 0, "a"), new ScheduledRequest(0, 1, 1, "b"));
        var a0 = mixer.StatesOf(0);
        var b0 = mixer.StatesOf(1);
        var token = mixer.Hidden(2, 1);
        var alone = mixer.Step(token, new ScheduledRequest(7, 1, 0, "a"));
        var aAfter = mixer.StatesOf(0);
        for (int i = 0; i < a0.Length; i++)
        {
            mixer.Layer.KvCache[i][0].copy_(a0[i]);
        }

        var padded = mixer.Step(torch.cat(new[] { mixer.Hidden(3, 1), token, mixer.Hidden(4, 1) }),
            new CommonAttentionMetadata(new[] { ScheduledRequest.Padding(), new ScheduledRequest(7, 1, 0, "a"), ScheduledRequest.Padding() }));

        Assert.Equal(new long[] { 3, mixer.HiddenSize }, padded.shape);
        OpsAssert.Close(alone, padded.narrow(0, 1, 1), Rtol, Atol, $"{kind}: a's decode between padding rows");
        for (int i = 0; i < a0.Length; i++)
        {
            OpsAssert.Close(aAfter[i], mixer.StatesOf(0)[i], Rtol, Atol, $"{kind}: a's state {i} after a step with padding rows");
            OpsAssert.Same(b0[i], mixer.StatesOf(1)[i], $"{kind}: block 1 state {i} after a step with padding rows");
        }
    }
}
