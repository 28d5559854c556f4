using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Cache;
using MambaGen.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Bench;

/// <summary>Times one Mamba2 layer of mamba2-130m's shape: prefill of 1 x 2048 tokens and one decode step at batch 1 and 32.</summary>
internal static class LayerTiming
{
    public static void Run(Device device, ScalarType dtype, TextWriter output)
    {
        var config = new EngineConfig(new ModelConfig("mamba2", dtype, 4096));
        var options = new Mamba2MixerOptions { HiddenSize = 768, NumHeads = 24, HeadDim = 64, NGroups = 1, StateSize = 128, ConvKernel = 4, ChunkSize = 256 };
        torch.manual_seed(0);
        using var layer = new Mamba2Mixer("mixer", config, options);
        layer.to(device);
        output.WriteLine($"Mamba2Mixer hidden 768, 24 heads x 64, state 128, conv 4, chunk 256, {dtype} on {device}");
        using var noGrad = torch.no_grad();

        using (var cache = MambaStateCache.Allocate(new MambaBase[] { layer }, 1, device))
        {
            var step = new CommonAttentionMetadata(new[] { new ScheduledRequest(0, 2048, 0) });
            var x = torch.randn(2048, 768, dtype: dtype, device: device);
            Report(output, "prefill 1 x 2048", Time(device, 5, 20, () => LayerPair.Run(layer, x, step, device, 256)));
        }

        foreach (int batch in new[] { 1, 32 })
        {
            using var cache = MambaStateCache.Allocate(new MambaBase[] { layer }, batch, device);
            var step = new CommonAttentionMetadata(Enumerable.Range(0, batch).Select(i => new ScheduledRequest(100, 1, i)).ToArray());
            var x = torch.randn(batch, 768, dtype: dtype, device: device);
            using var metadata = layer.GetAttnBackend().CreateMetadataBuilder(device, 256).Build(step);
            var m2 = (Mamba2AttentionMetadata)metadata;
            Report(output, $"decode step, batch {batch}", Time(device, 20, 200, () => layer.Forward(x, m2)));
            Report(output, $"  per-step metadata build, batch {batch} (once per step for all layers)", Time(device, 20, 200, () =>
            {
                layer.GetAttnBackend().CreateMetadataBuilder(device, 256).Build(step).Dispose();
                return torch.empty(0);
            }));
        }
    }

    /// <summary>
    /// Runs a fixed number of steps and nothing else, for a kernel counter: the difference between two runs with
    /// different counts is what one step launches (set-up kernels cancel out).
    /// </summary>
    public static void RunSteps(Device device, ScalarType dtype, int prefillSteps, int decodeSteps, int batch)
    {
        var config = new EngineConfig(new ModelConfig("mamba2", dtype, 4096));
        var options = new Mamba2MixerOptions { HiddenSize = 768, NumHeads = 24, HeadDim = 64, NGroups = 1, StateSize = 128, ConvKernel = 4, ChunkSize = 256 };
        torch.manual_seed(0);
        using var layer = new Mamba2Mixer("mixer", config, options);
        layer.to(device);
        using var noGrad = torch.no_grad();
        using var cache = MambaStateCache.Allocate(new MambaBase[] { layer }, batch, device);
        var prefill = new CommonAttentionMetadata(Enumerable.Range(0, batch).Select(i => new ScheduledRequest(0, 2048 / batch, i)).ToArray());
        var decode = new CommonAttentionMetadata(Enumerable.Range(0, batch).Select(i => new ScheduledRequest(100, 1, i)).ToArray());
        var xp = torch.randn(2048 / batch * batch, 768, dtype: dtype, device: device);
        var xd = torch.randn(batch, 768, dtype: dtype, device: device);
        using var prefillMetadata = (Mamba2AttentionMetadata)layer.GetAttnBackend().CreateMetadataBuilder(device, 256).Build(prefill);
        using var decodeMetadata = (Mamba2AttentionMetadata)layer.GetAttnBackend().CreateMetadataBuilder(device, 256).Build(decode);
        for (int i = 0; i < prefillSteps; i++)
        {
            using var scope = torch.NewDisposeScope();
            layer.Forward(xp, prefillMetadata);
        }

        for (int i = 0; i < decodeSteps; i++)
        {
            using var scope = torch.NewDisposeScope();
            layer.Forward(xd, decodeMetadata);
        }

        Sync(device);
    }

    /// <summary>Mean wall time of one call, device synchronised around the timed loop only.</summary>
    private static double Time(Device device, int warmup, int iterations, Func<Tensor> call)
    {
        for (int i = 0; i < warmup; i++)
        {
            using var scope = torch.NewDisposeScope();
            call();
        }

        Sync(device);
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < iterations; i++)
        {
            using var scope = torch.NewDisposeScope();
            call();
        }

        Sync(device);
        return watch.Elapsed.TotalMilliseconds * 1000 / iterations;
    }

    private static void Sync(Device device)
    {
        if (device.type == DeviceType.CUDA)
        {
            torch.cuda.synchronize(device);
        }
    }

    private static void Report(TextWriter output, string what, double micros) =>
        output.WriteLine($"  {what,-70} {micros,10:F1} us");
}
