using System.Linq;
using MambaGen.Attention;
using MambaGen.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Models.Hybrid;

/// <summary>Moving a module (to CUDA, or to another dtype) replaces its parameters: the layers must read the moved ones.</summary>
public class HybridModuleMoveTests
{
    [Fact]
    public void Attention_norms_and_expert_weights_follow_the_module_to_another_dtype()
    {
        using var attention = new SelfAttention("self_attn", new SelfAttentionOptions { HiddenSize = 8, NumHeads = 2, NumKvHeads = 1, HeadDim = 4, QkNorm = true }, ScalarType.Float32);
        using var moe = new TopKMoe("block_sparse_moe", 8, 4, 3, 2, ScalarType.Float32);
        attention.to(ScalarType.Float64);
        moe.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, attention.QNormWeight!.dtype);
        Assert.Equal(ScalarType.Float64, attention.KNormWeight!.dtype);
        Assert.Equal(ScalarType.Float64, moe.InputWeight.dtype);
        Assert.Equal(ScalarType.Float64, moe.OutputWeight.dtype);
        Assert.All(attention.parameters().Concat(moe.parameters()), p => Assert.Equal(ScalarType.Float64, p.dtype));
    }
}
