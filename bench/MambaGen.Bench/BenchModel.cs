using System;
using System.IO;
using System.Linq;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using MambaGen.Models;
using MambaGen.Models.Hybrid;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Bench;

/// <summary>
/// The model a whole-model bench runs: a Mamba checkpoint, a hybrid checkpoint, or a hybrid config.json alone (LFM2,
/// Granite 4.0-H shapes) built with seeded random weights, so that a real model's shape is timed without its weights.
/// </summary>
internal sealed class BenchModel : IDisposable
{
    private readonly MambaLanguageModel? _mamba;
    private readonly HybridLanguageModel? _hybrid;

    private BenchModel(MambaLanguageModel? mamba, HybridLanguageModel? hybrid, string weights)
    {
        _mamba = mamba;
        _hybrid = hybrid;
        Weights = weights;
    }

    public ICausalLanguageModel Model => (ICausalLanguageModel?)_mamba ?? _hybrid!;

    public int VocabSize => Model.VocabSize;

    /// <summary>"checkpoint" or "random (seeded)": what the figures were measured with.</summary>
    public string Weights { get; }

    public string ExecutionPath => _mamba?.ExecutionPath
        ?? $"{_hybrid!.ExecutionPath}; {Weights} weights; {_hybrid.PlanCache()}";

    public static BenchModel Load(string folder, Device device, ScalarType dtype)
    {
        if (!HybridModelConfig.IsHybrid(folder))
        {
            return new BenchModel(MambaLanguageModel.Load(HuggingFaceCheckpoint.Open(folder), device, dtype, maxModelLen: 4096), null, "checkpoint");
        }

        if (Directory.EnumerateFiles(folder, "*.safetensors").Any(f => !Path.GetFileName(f).StartsWith("expected", StringComparison.Ordinal)))
        {
            return new BenchModel(null, HybridLanguageModel.Load(folder, device, dtype), "checkpoint");
        }

        // On the CPU a bf16/f16 model is mixed precision, as Load makes it: fp32 built, its matmul weights then halved.
        bool mixed = MambaLanguageModel.UsesMixedPrecision(device, dtype);
        var model = HybridLanguageModel.Create(HybridModelConfig.Load(folder), mixed ? ScalarType.Float32 : dtype);
        using (torch.no_grad())
        using (var generator = new Generator(1234))
        {
            // Matrices ~ N(0, 0.02) as transformers initialises them; norms, A_log, dt_bias and D keep their build values.
            foreach (var p in model.parameters().Where(p => p.dim() >= 2))
            {
                using var noise = torch.randn(p.shape, dtype: ScalarType.Float32, generator: generator);
                p.copy_(noise * 0.02);
            }
        }

        if (mixed)
        {
            model.UseMixedPrecision(dtype);
        }

        model.to(device);
        return new BenchModel(null, model, "random (seeded)");
    }

    /// <summary>Room for <paramref name="requests"/> requests of <paramref name="maxTokens"/> tokens.</summary>
    public RequestCache Cache(int requests, int maxTokens) =>
        _mamba is not null ? RequestCache.For(_mamba, requests) : RequestCache.For(_hybrid!, requests, maxTokens);

    public void Dispose()
    {
        _mamba?.Dispose();
        _hybrid?.Dispose();
    }
}
