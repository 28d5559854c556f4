using System;
using System.Linq;
using CustomLayers;
using MambaGen;
using TorchSharp;
using static TorchSharp.torch;

// Declared layers → generated state specs → a forward on TorchSharp.
var config = new EngineConfig(
    new ModelConfig("custom_hybrid", ScalarType.BFloat16, MaxModelLen: 4096),
    new CacheConfig { MambaSsmCacheDtype = MambaCacheDtype.Float32 },
    new ParallelConfig(TensorParallelSize: 1));

torch.manual_seed(0);
var lightning = new LightningAttention("layers.0.attn", config, hiddenSize: 64, numHeads: 4, headDim: 16);
MambaBase[] layers = { lightning, new GatedDeltaNetSpec("layers.1.gdn", config), new TokenShift("layers.2.shift", config, 64) };

Console.WriteLine("Generated state specs (model bf16, SSM cache fp32, TP 1):");
foreach (var layer in layers)
{
    var spec = layer.GetKvCacheSpec(config);
    Console.WriteLine($"  {layer.GetName(),-16} {layer.MambaType,-17} backend {layer.GetAttnBackend().Name}");
    for (int i = 0; i < spec.Shapes.Count; i++)
    {
        Console.WriteLine($"      state {i}: [{string.Join(", ", spec.Shapes[i])}] {spec.Dtypes[i]}");
    }

    Console.WriteLine($"      page {spec.PageSizeBytes:N0} bytes, block {spec.BlockSize} tokens");
}

// Run the linear-attention layer: 12 tokens of 3 sequences through its recurrent state, one decode step at a time,
// against the same layer computed as one quadratic attention over each whole sequence.
const int blocks = 4, tokens = 12, batch = 3;
var shape = lightning.GetStateShape()[0];
lightning.BindKvCache(new[] { torch.zeros(new long[] { blocks }.Concat(shape).ToArray(), dtype: lightning.GetStateDtype()[0]) });
lightning.KvStateTensor.fill_(float.NaN); // a dirty cache: the first step must not read it
var input = torch.randn(batch, tokens, 64);
var seqBlocks = torch.tensor(new long[] { 2, 0, 3 });
lightning.KvStateTensor.index_fill_(0, seqBlocks, 0);
var stepwise = torch.stack(Enumerable.Range(0, tokens).Select(t => lightning.Step(input[.., t], seqBlocks)), 1);
var quadratic = torch.stack(Enumerable.Range(0, batch).Select(b => lightning.Quadratic(input[b])), 0);
double diff = (stepwise - quadratic).abs().max().item<float>();
Console.WriteLine($"Linear attention, {batch} sequences x {tokens} tokens through a {lightning.KvStateTensor.dtype} state: " +
                  $"max |recurrent - quadratic| = {diff:E2}");
return diff < 2e-2 ? 0 : 1;
