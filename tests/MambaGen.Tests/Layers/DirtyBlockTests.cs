using MambaGen.Backends;
using MambaGen.Tests.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Layers;

/// <summary>A new request ignores whatever its reused block holds: blocks are handed out again without zeroing.</summary>
public class DirtyBlockTests
{
    private const double Rtol = 1e-4, Atol = 2e-5;

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void New_request_in_a_block_full_of_nan_gives_the_output_of_a_clean_block(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind);
        // A 9-token prompt and a 1-token prompt (a prefill, not a decode), then one decode each.
        var prompts = mixer.Hidden(20, 10);
        var next = mixer.Hidden(21, 2);
        var prefill = new[] { new ScheduledRequest(0, 9, 0, "long"), new ScheduledRequest(0, 1, 1, "one-token") };
        var decode = new[] { new ScheduledRequest(9, 1, 0, "long"), new ScheduledRequest(1, 1, 1, "one-token") };

        Tensor cleanPrefill, cleanDecode;
        using (var clean = mixer.Allocate(2))
        {
            cleanPrefill = mixer.Step(prompts, prefill);
            cleanDecode = mixer.Step(next, decode);
        }

        using var dirty = mixer.Allocate(2);
        // All bytes 0xFF: NaN in fp32 and bf16, so any read of the stale state (even multiplied by 0) shows.
        dirty.Layers[0].Raw.fill_(-1);
        var dirtyPrefill = mixer.Step(prompts, prefill);
        var dirtyDecode = mixer.Step(next, decode);

        OpsAssert.Close(cleanPrefill, dirtyPrefill, Rtol, Atol, $"{kind}: prefill in a NaN-filled block");
        OpsAssert.Close(cleanDecode, dirtyDecode, Rtol, Atol, $"{kind}: decode after a prefill in a NaN-filled block");
    }

    [Theory]
    [MemberData(nameof(MixerUnderTest.AllKinds), MemberType = typeof(MixerUnderTest))]
    public void New_request_in_a_block_left_by_a_finished_request_gives_the_output_of_a_clean_block(string kind)
    {
        using var scope = torch.NewDisposeScope();
        var mixer = MixerUnderTest.Create(kind);
        var x = mixer.Hidden(30, 7);
        using var cache = mixer.Allocate(2);
        var clean = mixer.Step(x, new ScheduledRequest(0, 7, 1, "new"));

        mixer.Step(mixer.Hidden(31, 12) * 50, new ScheduledRequest(0, 12, 0, "finished"));
        var reused = mixer.Step(x, new ScheduledRequest(0, 7, 0, "new"));

        OpsAssert.Close(clean, reused, Rtol, Atol, $"{kind}: prefill in a reused block");
        ChunkedPrefillTests.AssertSameStates(mixer, 1, 0, $"{kind}: states written over a reused block");
    }
}
