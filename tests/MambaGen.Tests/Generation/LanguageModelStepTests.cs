using System;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Cache;
using MambaGen.Checkpoints;
using MambaGen.Models;
using MambaGen.Tests.Layers;
using MambaGen.Tests.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Generation;

/// <summary>One model step as the engine drives it: input checks, and a bf16 model keeping its SSM state in fp32.</summary>
public class LanguageModelStepTests
{
    [Fact]
    public void Input_ids_that_do_not_match_the_step_are_refused_with_both_shapes()
    {
        using var model = TinyLanguageModel.Create();
        using var cache = MambaStateCache.Allocate(model.Mixers, 1, model.Device);

        var e = Assert.Throws<ArgumentException>(() => model.Forward(torch.tensor(new long[] { 1, 2, 3 }), new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 4, 0, "r") })));
        Assert.Contains("[4]", e.Message);
        Assert.Contains("[3]", e.Message);
    }

    [Fact]
    public void Bf16_model_with_an_fp32_ssm_cache_gives_logits_close_to_the_fp32_model()
    {
        using var scope = torch.NewDisposeScope();
        using var fp32 = TinyLanguageModel.Create("mamba2", seed: 5);
        var config = (Mamba2CheckpointConfig)fp32.CheckpointConfig;
        using var bf16 = MambaLanguageModel.Create(config, new EngineConfig(
            new ModelConfig(config.ModelType, ScalarType.BFloat16, 128), new CacheConfig { MambaSsmCacheDtype = MambaCacheDtype.Float32 }, new ParallelConfig()));
        MixerUnderTest.SeedWeights(bf16, 5, scale: 0.5);
        using var fp32Cache = MambaStateCache.Allocate(fp32.Mixers, 2, fp32.Device);
        using var bf16Cache = MambaStateCache.Allocate(bf16.Mixers, 2, bf16.Device);

        Assert.All(bf16.Mixers, m => Assert.Equal(new[] { ScalarType.BFloat16, ScalarType.Float32 }, m.GetStateDtype()));
        long Elements(long[] shape) => shape.Aggregate(1L, (p, d) => p * d);
        Assert.Equal(bf16.Mixers.Sum(m => Elements(m.GetStateShape()[0]) * 2 + Elements(m.GetStateShape()[1]) * 4), bf16Cache.BytesPerBlock);
        Assert.Equal(fp32.Mixers.Sum(m => (Elements(m.GetStateShape()[0]) + Elements(m.GetStateShape()[1])) * 4), fp32Cache.BytesPerBlock);
        var prompts = TinyLanguageModel.Prompts(9, 6, 3);
        var ids = torch.tensor(prompts.SelectMany(p => p).Select(t => (long)t).ToArray());
        var step = new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 6, 0, "a"), new ScheduledRequest(0, 3, 1, "b") });

        var expected = fp32.Forward(ids, step);
        var actual = bf16.Forward(ids, step);
        double spread = expected.abs().max().item<float>();
        OpsAssert.Close(expected, actual, 0.05, 0.05 * spread, "bf16 model logits against fp32");
        Assert.Equal(expected.argmax(-1).data<long>().ToArray(), actual.argmax(-1).data<long>().ToArray());
    }

    [Fact]
    public void On_the_cpu_the_model_says_it_runs_the_fused_decode_loops()
    {
        using var model = TinyLanguageModel.Create();

        Assert.StartsWith("fused CPU decode loops (device cpu, ", model.ExecutionPath);
    }

    [Fact]
    public void Decode_graphs_are_not_made_off_cuda_and_say_why()
    {
        using var model = TinyLanguageModel.Create();
        var builder = model.Mixers[0].GetAttnBackend().CreateMetadataBuilder(CPU, 8);

        var graphs = DecodeGraphs.TryCreate((ids, metadata) => ids, builder, model.Mixers, 8, out var reason);

        Assert.Null(graphs);
        Assert.Equal("device cpu", reason);
    }

    [Fact]
    public void Logits_are_the_same_with_the_residual_add_fused_into_the_next_norm_as_block_by_block()
    {
        using var scope = torch.NewDisposeScope();
        using var model = TinyLanguageModel.Create("mamba2", seed: 3);
        using var cache = MambaStateCache.Allocate(model.Mixers, 1, model.Device);
        var ids = torch.tensor(TinyLanguageModel.Prompts(4, 7)[0].Select(t => (long)t).ToArray());
        var step = new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 7, 0, "a") });

        var fused = model.ForwardAllTokens(ids, step);

        // The same blocks one at a time, each returning hidden + mixer(norm(hidden)).
        using var metadata = model.Mixers[0].GetAttnBackend().CreateMetadataBuilder(CPU, ((Mamba2CheckpointConfig)model.CheckpointConfig).ChunkSize).Build(step);
        var backbone = (MambaBackbone)model.named_children().Single(c => c.name == "backbone").module;
        var h = backbone.Embeddings.forward(ids);
        foreach (var block in backbone.Blocks)
        {
            h = block.Forward(h, metadata);
        }

        var normF = (MambaGen.Layers.RmsNorm)backbone.named_children().Single(c => c.name == "norm_f").module;
        var blockwise = nn.functional.linear(normF.forward(h).to(backbone.Embeddings.weight!.dtype), backbone.Embeddings.weight!);
        OpsAssert.Close(blockwise, fused, 1e-5, 1e-5, "fused residual adds against block-by-block");
    }
}
