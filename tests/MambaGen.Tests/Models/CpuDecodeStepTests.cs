using System;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Cache;
using MambaGen.Checkpoints;
using MambaGen.Models;
using MambaGen.Ops;
using MambaGen.Testing;
using MambaGen.Tests.Ops;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace MambaGen.Tests.Models;

/// <summary>The CPU's one-pass decode step against the model's op-by-op forward through the reference ops.</summary>
public sealed class CpuDecodeStepTests
{
    [Theory]
    [InlineData("dev-mamba2", "float32", 1)]
    [InlineData("dev-mamba2", "float32", 2)]
    [InlineData("dev-mamba1", "float32", 1)]
    [InlineData("dev-mamba1", "float32", 2)]
    [InlineData("dev-mamba2", "bfloat16", 1)]
    [InlineData("dev-mamba1", "float16", 2)]
    // Two groups of B and C (Mamba-2); projection biases and an untied LM head (Mamba-1).
    [InlineData("tiny-mamba2", "float32", 2)]
    [InlineData("tiny-mamba1", "float32", 1)]
    public void One_pass_decode_steps_give_the_reference_logits_and_states_from_dirty_blocks_with_padding_rows(string fixture, string dtypeName, int threads)
    {
        using var scope = torch.NewDisposeScope();
        var dtype = dtypeName switch { "bfloat16" => ScalarType.BFloat16, "float16" => ScalarType.Float16, _ => ScalarType.Float32 };
        // The reference's half-width GEMM rounds its output; the step keeps fp32 sums.
        double tolerance = dtype == ScalarType.Float32 ? 1e-4 : 3e-2;
        using var model = fixture.StartsWith("tiny-", StringComparison.Ordinal)
            ? Generation.TinyLanguageModel.Create(fixture["tiny-".Length..])
            : MambaLanguageModel.Load(HuggingFaceCheckpoint.Open(RepoPaths.Combine("tests", "fixtures", fixture)), CPU, dtype);
        var step = CreateStep(model, new Cpu.CpuDecodeOps(threads, parallelWork: 0));
        using var cache = MambaStateCache.Allocate(model.Mixers, 4, CPU);
        using var g = new Generator(17);
        foreach (var state in model.Mixers.SelectMany(m => m.KvCache))
        {
            state.copy_(torch.randn(state.shape, generator: g) * 0.5);
        }

        int chunk = model.CheckpointConfig is Mamba2CheckpointConfig m2 ? m2.ChunkSize : 8;
        var builder = model.CheckpointConfig is Mamba2CheckpointConfig ? new Mamba2MetadataBuilder(CPU, chunk, MambaOps.Reference) : new MambaMetadataBuilder(CPU, MambaOps.Reference);
        var steps = new[] { new[] { 2 }, new[] { 0, -1, 3 }, new[] { 3, 1, 0, 2 }, new[] { 1, 3 } };
        long id = 5;
        foreach (var blocks in steps)
        {
            var ids = blocks.Select(_ => id++ * 7 % model.VocabSize).ToArray();
            var before = model.Mixers.SelectMany(m => m.KvCache).Select(s => s.clone()).ToArray();
            var logits = step.TryRun(ids, blocks);
            Assert.NotNull(logits);
            var after = model.Mixers.SelectMany(m => m.KvCache).Select(s => s.clone()).ToArray();

            // The same step op by op from the same states.
            foreach (var (state, saved) in model.Mixers.SelectMany(m => m.KvCache).Zip(before))
            {
                state.copy_(saved);
            }

            var common = new CommonAttentionMetadata(blocks.Select(b => b < 0 ? ScheduledRequest.Padding() : new ScheduledRequest(9, 1, b)).ToArray());
            using var metadata = builder.Build(common);
            var expected = ReferenceLogits(model, torch.tensor(ids), metadata);

            var real = torch.tensor(Enumerable.Range(0, blocks.Length).Where(i => blocks[i] >= 0).Select(i => (long)i).ToArray());
            OpsAssert.Close(expected.index_select(0, real), logits!.index_select(0, real), tolerance, tolerance, $"{fixture} {dtypeName} logits of blocks [{string.Join(", ", blocks)}]");
            foreach (var (state, one) in model.Mixers.SelectMany(m => m.KvCache).Zip(after))
            {
                OpsAssert.Close(state, one, tolerance, tolerance, $"{fixture} {dtypeName} states after blocks [{string.Join(", ", blocks)}]");
            }
        }
    }

    [Fact]
    public void Steps_it_does_not_take_leave_the_states_alone_and_a_token_outside_the_vocabulary_is_named()
    {
        using var scope = torch.NewDisposeScope();
        using var model = MambaLanguageModel.Load(HuggingFaceCheckpoint.Open(RepoPaths.Combine("tests", "fixtures", "dev-mamba2")), CPU);
        var step = CreateStep(model, new Cpu.CpuDecodeOps(1));
        using var cache = MambaStateCache.Allocate(model.Mixers, 2, CPU);
        var before = model.Mixers.SelectMany(m => m.KvCache).Select(s => s.clone()).ToArray();

        // Nine rows (more than the GEMV takes) and a block outside the cache run op by op, where the checks name them.
        Assert.Null(step.TryRun(new long[9], Enumerable.Range(0, 9).Select(i => i % 2).ToArray()));
        Assert.Null(step.TryRun(new long[] { 1 }, new[] { 2 }));
        var error = Assert.Throws<ArgumentException>(() => step.TryRun(new long[] { 3, model.VocabSize }, new[] { 0, 1 }));
        Assert.Contains($"Token id {model.VocabSize} (row 1)", error.Message);
        foreach (var (state, saved) in model.Mixers.SelectMany(m => m.KvCache).Zip(before))
        {
            Assert.True(state.allclose(saved, 0, 0), "a refused step changed a state");
        }
    }

    [Fact]
    public void The_model_says_its_cpu_decode_steps_run_in_one_pass()
    {
        using var model = MambaLanguageModel.Load(HuggingFaceCheckpoint.Open(RepoPaths.Combine("tests", "fixtures", "dev-mamba1")), CPU);
        Assert.Contains($"decode steps of up to {Cpu.CpuDecodeStep.MaxRows} rows in one pass", model.ExecutionPath);
    }

    private static Cpu.CpuDecodeStep CreateStep(MambaLanguageModel model, Cpu.CpuDecodeOps ops)
    {
        var backbone = Backbone(model);
        var step = Cpu.CpuDecodeStep.TryCreate(ops, backbone.Embeddings.weight!, LmHead(model), backbone.Blocks, backbone.FinalNorm, out var why);
        Assert.True(step is not null, why);
        return step!;
    }

    private static MambaBackbone Backbone(MambaLanguageModel model) => (MambaBackbone)model.named_children().Single(c => c.name == "backbone").module;

    private static Tensor LmHead(MambaLanguageModel model) =>
        model.named_parameters().Where(p => p.name == "lm_head.weight").Select(p => p.parameter).FirstOrDefault() ?? Backbone(model).Embeddings.weight!;

    private static Tensor ReferenceLogits(MambaLanguageModel model, Tensor ids, MambaAttentionMetadata metadata)
    {
        using var noGrad = torch.no_grad();
        var h = Backbone(model).Forward(ids, metadata);
        return ReferenceOps.Instance.Linear(h, LmHead(model), null).to(ScalarType.Float32);
    }
}
