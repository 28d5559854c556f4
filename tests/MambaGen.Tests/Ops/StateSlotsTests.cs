using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Ops;

public class StateSlotsTests
{
    [Fact]
    public void Negative_index_other_than_pad_slot_is_refused_with_its_row()
    {
        var e = Assert.Throws<System.ArgumentException>(() => StateSlots.FromHost(new[] { 0, -2 }, torch.CPU));
        Assert.Contains("batch row 1", e.Message);
    }

    [Fact]
    public void Float_state_indices_are_refused()
    {
        using var scope = torch.NewDisposeScope();
        Assert.Throws<System.ArgumentException>(() => StateSlots.FromDevice(torch.zeros(3)));
    }

    [Fact]
    public void Slots_for_another_batch_size_are_refused()
    {
        using var scope = torch.NewDisposeScope();
        using var slots = StateSlots.FromHost(new[] { 0, 1 }, torch.CPU);
        var e = Assert.Throws<System.ArgumentException>(() =>
            CausalConv1d.Update(torch.zeros(3, 4), torch.zeros(4, 2), null, false, torch.zeros(5, 1, 4), slots));
        Assert.Contains("2 rows", e.Message);
    }
}
