using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Checkpoints;
using MambaGen.Layers;
using MambaGen.Models;
using static TorchSharp.torch;

namespace MambaGen.Bench;

/// <summary>
/// Equivalence on a device: each mixer against the same mixer on the CPU (whose ops the test suite checks against
/// sequential references) over prefill, mixed and padded decode steps from dirty blocks; then whole models against
/// HuggingFace references.
/// </summary>
internal static class Verify
{
    private const double LayerTolerance = 1e-4;

    // bf16 activations round at each op boundary; the two paths round at the same points but sum in another order.
    private const double Bf16LayerTolerance = 3e-2;

    public static bool Run(Device device, IReadOnlyList<string> referenceFolders, TextWriter output)
    {
        bool ok = true;
        var mixers = new (string Name, Func<EngineConfig, MambaBase> Create, int Hidden, int Chunk)[]
        {
            ("Mamba2Mixer", c => new Mamba2Mixer("mixer", c, new Mamba2MixerOptions { HiddenSize = 256, NumHeads = 8, HeadDim = 64, NGroups = 2, StateSize = 64, ChunkSize = 64 }), 256, 64),
            ("Mamba1Mixer", c => new Mamba1Mixer("mixer", c, new Mamba1MixerOptions { HiddenSize = 128, IntermediateSize = 256, StateSize = 16, TimeStepRank = 8 }), 128, 64),
            ("ShortConv", c => new ShortConv("conv", c, 128, 3), 128, 64),
            // mamba2-130m's layer: with 32 sequences the kernels take their many-rows-a-warp paths.
            ("Mamba2-130m", c => new Mamba2Mixer("mixer", c, new Mamba2MixerOptions { HiddenSize = 768, NumHeads = 24, HeadDim = 64, NGroups = 1, StateSize = 128, ChunkSize = 256 }), 768, 256),
        };
        output.WriteLine($"ops on {device}: {OpsSelection.Describe(device)}");
        if (device.type == TorchSharp.DeviceType.CUDA)
        {
            ok &= MmaProbe.Run(device, output);
        }

        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16, ScalarType.Float16 })
        foreach (var (name, create, hidden, chunk) in mixers)
        {
            var config = new EngineConfig(new ModelConfig("verify", dtype, 4096));
            double tolerance = dtype == ScalarType.Float32 ? LayerTolerance : Bf16LayerTolerance;  // fp16 rounds finer than bf16: the bf16 bound holds
            using var pair = new LayerPair(() => create(config), device, numBlocks: 40, chunk);
            var steps = new (string What, ScheduledRequest[] Batch)[]
            {
                ("prefill 300+77+5 from dirty blocks", new[] { new ScheduledRequest(0, 300, 2), new ScheduledRequest(0, 77, 0), new ScheduledRequest(0, 5, 5) }),
                ("2 decodes + resumed and new prefills", new[] { new ScheduledRequest(300, 1, 2), new ScheduledRequest(77, 1, 0), new ScheduledRequest(5, 40, 5), new ScheduledRequest(0, 130, 1) }),
                ("decodes with a padding row", new[] { new ScheduledRequest(301, 1, 2), ScheduledRequest.Padding(), new ScheduledRequest(78, 1, 0), new ScheduledRequest(45, 1, 5) }),
                ("32 new prefills of 20 tokens", Enumerable.Range(6, 32).Select(b => new ScheduledRequest(0, 20, b)).ToArray()),
                ("32 decodes of them", Enumerable.Range(6, 32).Select(b => new ScheduledRequest(20, 1, b)).ToArray()),
            };
            foreach (var (what, batch) in steps)
            {
                var (y, states) = pair.Step(batch, hidden);
                bool pass = y <= tolerance && states <= tolerance;
                ok &= pass;
                output.WriteLine($"{(pass ? "PASS" : "FAIL")}  {name,-12} {dtype,-9} {what,-40} rel diff output {y:E2}, states {states:E2}");
            }
        }

        foreach (var folder in referenceFolders)
        {
            // Hybrid checkpoints (LFM2, Granite 4.0-H) run the hybrid model over its page pool.
            using var hybrid = Models.Hybrid.HybridModelConfig.IsHybrid(folder) ? Models.Hybrid.HybridLanguageModel.Load(folder, device) : null;
            var checkpoint = hybrid is null ? HuggingFaceCheckpoint.Open(folder) : null;
            using var model = checkpoint is null ? null : MambaLanguageModel.Load(checkpoint, device);
            output.WriteLine($"{Path.GetFileName(Path.TrimEndingDirectorySeparator(folder))}: {model?.ExecutionPath ?? hybrid!.ExecutionPath}");
            using var expected = ExpectedOutputs.Load(folder, hybrid?.VocabSize ?? checkpoint!.Config.VocabSize);
            var report = hybrid is not null ? ReferenceCheck.Run(hybrid, expected) : ReferenceCheck.Run(model!, expected);
            ok &= report.Pass;
            output.WriteLine($"{(report.Pass ? "PASS" : "FAIL")}  {Path.GetFileName(Path.TrimEndingDirectorySeparator(folder)),-12} logits {report.MaxLogitDiff:E2}, step logits {report.MaxStepLogitDiff:E2}, greedy token mismatches {report.TokenMismatches}/{report.TokensCompared}");
        }

        return ok;
    }
}
