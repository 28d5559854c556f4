using System.Linq;
using MambaGen.Layers;
using MambaGen.Ops;
using MambaGen.Tests.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Layers;

public class GatedMlpTests
{
    [Fact]
    public void Separate_and_fused_spellings_load_their_checkpoint_names_and_compute_down_of_silu_gate_times_up()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var separate = GatedMlp.Separate("feed_forward", 8, 12, ScalarType.Float32);
        var fused = GatedMlp.Fused("shared_mlp", 8, 12, ScalarType.Float32);
        Assert.Equal(new[] { "w1.weight", "w2.weight", "w3.weight" }, separate.state_dict().Keys.OrderBy(k => k).ToArray());
        Assert.Equal(new[] { "input_linear.weight", "output_linear.weight" }, fused.state_dict().Keys.OrderBy(k => k).ToArray());
        MixerUnderTest.SeedWeights(separate, 5);
        var s = separate.state_dict();
        fused.state_dict()["input_linear.weight"].copy_(torch.cat(new[] { s["w1.weight"], s["w3.weight"] }, 0));
        fused.state_dict()["output_linear.weight"].copy_(s["w2.weight"]);
        var x = torch.randn(5, 8, generator: new Generator(1));
        var expected = (nn.functional.silu(x.matmul(s["w1.weight"].t())) * x.matmul(s["w3.weight"].t())).matmul(s["w2.weight"].t());
        OpsAssert.Close(expected, separate.Forward(x, MambaOps.Reference.Linear), 1e-6, 1e-6, "separate");
        OpsAssert.Close(expected, fused.Forward(x, MambaOps.Reference.Linear), 1e-6, 1e-6, "fused");
    }
}
