using System.Linq;
using MambaGen.Layers;
using MambaGen.Ops;
using MambaGen.Tests.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Layers;

public class TopKMoeTests
{
    [Fact]
    public void Each_token_gets_the_softmaxed_gate_weighted_sum_of_its_top_k_experts()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var moe = new TopKMoe("block_sparse_moe", 8, 6, numExperts: 5, topK: 2, ScalarType.Float32);
        Assert.Equal(new[] { "input_linear.weight", "output_linear.weight", "router.layer.weight" }, moe.state_dict().Keys.OrderBy(k => k).ToArray());
        MixerUnderTest.SeedWeights(moe, 11, scale: 0.5);
        var x = torch.randn(7, 8, generator: new Generator(2));

        var expected = torch.zeros(7, 8);
        for (int t = 0; t < 7; t++)
        {
            var xt = x[t];
            var logits = moe.RouterWeight.matmul(xt);
            var order = logits.data<float>().Select((v, e) => (v, e)).OrderByDescending(p => p.v).Take(2).ToArray();
            var gates = torch.tensor(order.Select(p => p.v).ToArray()).softmax(0);
            for (int k = 0; k < 2; k++)
            {
                var h = moe.InputWeight[order[k].e].matmul(xt);
                var act = nn.functional.silu(h[..6]) * h[6..];
                expected[t] += gates[k] * moe.OutputWeight[order[k].e].matmul(act);
            }
        }

        OpsAssert.Close(expected, moe.Forward(x, MambaOps.Reference.Linear), 1e-5, 1e-6, "MoE output");
    }
}
