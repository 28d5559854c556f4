using System;
using System.Diagnostics;
using System.IO;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using MambaGen.Models;
using MambaGen.Models.Hybrid;
using static TorchSharp.torch;

namespace MambaGen.Cli;

/// <summary>A checkpoint folder (given, or the embedded default) opened and its model loaded onto a device: a
/// <see cref="MambaLanguageModel"/> over a state cache or a <see cref="HybridLanguageModel"/> over a page pool.</summary>
internal sealed class LoadedModel : IDisposable
{
    private LoadedModel(OpenedCheckpoint checkpoint, bool isDefault, MambaLanguageModel? mamba, HybridLanguageModel? hybrid, TimeSpan loadTime)
    {
        Checkpoint = checkpoint;
        IsDefault = isDefault;
        Mamba = mamba;
        Hybrid = hybrid;
        LoadTime = loadTime;
    }

    public OpenedCheckpoint Checkpoint { get; }

    public bool IsDefault { get; }

    /// <summary>The Mamba model; null for a hybrid checkpoint.</summary>
    public MambaLanguageModel? Mamba { get; }

    /// <summary>The hybrid model; null for a Mamba checkpoint.</summary>
    public HybridLanguageModel? Hybrid { get; }

    public ICausalLanguageModel Model => (ICausalLanguageModel?)Mamba ?? Hybrid!;

    public TimeSpan LoadTime { get; }

    /// <summary>Where the model came from, for the user.</summary>
    public string Description => IsDefault ? $"default model ({Checkpoint.Folder})" : Checkpoint.Folder;

    /// <summary>How steps run: the Mamba model's ops and graphs, or the ops a hybrid's layers call.</summary>
    public string ExecutionPath => Mamba?.ExecutionPath ?? Hybrid!.ExecutionPath;

    /// <summary>Opens the folder --model names, or the extracted default model when it is absent (config and weight headers only).</summary>
    public static (OpenedCheckpoint Checkpoint, bool IsDefault) Open(string? modelOption) =>
        string.IsNullOrEmpty(modelOption)
            ? (OpenedCheckpoint.Open(DefaultModel.EnsureExtracted()), true)
            : (OpenedCheckpoint.Open(Path.GetFullPath(modelOption)), false);

    public static LoadedModel Load(OpenedCheckpoint checkpoint, bool isDefault, Device device, ScalarType dtype, int maxModelLen = 2048)
    {
        var watch = Stopwatch.StartNew();
        return checkpoint.Hybrid is { } hybrid
            ? new LoadedModel(checkpoint, isDefault, null, hybrid.LoadModel(device, dtype), watch.Elapsed)
            : new LoadedModel(checkpoint, isDefault, MambaLanguageModel.Load(checkpoint.Mamba!, device, dtype, maxModelLen: maxModelLen), null, watch.Elapsed);
    }

    /// <summary>A cache with room for <paramref name="numRequests"/> requests of up to <paramref name="maxTokens"/>
    /// tokens at once; its <see cref="RequestCache.Engine"/> runs them.</summary>
    public RequestCache Cache(int numRequests, int maxTokens) =>
        Mamba is not null ? RequestCache.For(Mamba, numRequests) : RequestCache.For(Hybrid!, numRequests, maxTokens);

    /// <summary>The model against references computed by another implementation.</summary>
    public ReferenceCheckReport Check(ExpectedOutputs expected, double tolerance) =>
        Mamba is not null ? ReferenceCheck.Run(Mamba, expected, tolerance) : ReferenceCheck.Run(Hybrid!, expected, tolerance);

    public void Dispose()
    {
        Mamba?.Dispose();
        Hybrid?.Dispose();
    }
}
