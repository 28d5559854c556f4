using System;
using System.Collections.Generic;
using System.Linq;
using CustomLayers;
using MambaGen;
using MambaGen.Attention;
using MambaGen.Generation;
using MambaGen.Models.Hybrid;
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

// The same layer in a model: registered for the layer type "lightning_attention", placed wherever the config's layer
// types name it, beside built-in attention layers, in one page pool; the engine runs three prompts batched.
var hybrid = new HybridModelConfig
{
    SourcePath = "samples/CustomLayers (built in code)",
    ModelType = "custom_hybrid",
    HiddenSize = 64,
    VocabSize = 50,
    LayerTypes = new[] { "lightning_attention", HybridLayerTypes.Attention, "lightning_attention" },
    NormEps = 1e-5,
    TieWordEmbeddings = true,
    MaxPositionEmbeddings = 256,
    Attention = new SelfAttentionOptions { HiddenSize = 64, NumHeads = 4, NumKvHeads = 2, HeadDim = 16, RotaryDim = 16 },
    MlpIntermediateSize = 128,
    FusedMlp = false,
    Names = new HybridCheckpointNames("norm", "input_layernorm", "post_attention_layernorm", "mlp", new Dictionary<string, string> { [HybridLayerTypes.Attention] = "self_attn" }),
};
var registry = HybridLayerRegistry.BuiltIn.With("lightning_attention", c => new LightningAttention(c.Name, c.Engine, 64, 4, 16), checkpointName: "linear_attn");
using var model = HybridLanguageModel.Create(hybrid, ScalarType.Float32, layers: registry);
using (torch.no_grad())
{
    foreach (var p in model.parameters())
    {
        p.copy_(torch.randn(p.shape) * 0.3);
    }
}

Console.WriteLine($"Hybrid model: layers {string.Join(", ", hybrid.LayerTypes)}; page pool: {model.PlanCache()}");
var prompts = new[] { new[] { 1, 2, 3, 4, 5 }, new[] { 6, 7 }, new[] { 8, 9, 10 } };
int[][] Generate(IReadOnlyList<int[]> batch)
{
    using var cache = model.AllocateCache(numBlocks: 16);
    var engine = new GenerationEngine(model, cache);
    var ids = batch.Select(p => engine.AddRequest(p, SamplingParams.Greedy(8))).ToArray();
    var tokens = ids.ToDictionary(id => id, _ => new List<int>());
    foreach (var o in engine.Run())
    {
        tokens[o.RequestId].Add(o.Token);
    }

    return ids.Select(id => tokens[id].ToArray()).ToArray();
}

var together = Generate(prompts);
bool same = true;
for (int r = 0; r < prompts.Length; r++)
{
    var alone = Generate(new[] { prompts[r] })[0];
    same &= alone.SequenceEqual(together[r]);
    Console.WriteLine($"  prompt [{string.Join(" ", prompts[r])}] -> [{string.Join(" ", together[r])}] batched, {(alone.SequenceEqual(together[r]) ? "the same" : "DIFFERENT")} alone");
}

return diff < 2e-2 && same ? 0 : 1;
