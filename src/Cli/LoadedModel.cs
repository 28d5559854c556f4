using System;
using System.Diagnostics;
using System.IO;
using MambaGen.Checkpoints;
using MambaGen.Models;
using static TorchSharp.torch;

namespace MambaGen.Cli;

/// <summary>A checkpoint folder (given, or the embedded default) opened and its model loaded onto a device.</summary>
internal sealed class LoadedModel : IDisposable
{
    private LoadedModel(HuggingFaceCheckpoint checkpoint, bool isDefault, MambaLanguageModel model, TimeSpan loadTime)
    {
        Checkpoint = checkpoint;
        IsDefault = isDefault;
        Model = model;
        LoadTime = loadTime;
    }

    public HuggingFaceCheckpoint Checkpoint { get; }

    public bool IsDefault { get; }

    public MambaLanguageModel Model { get; }

    public TimeSpan LoadTime { get; }

    /// <summary>Where the model came from, for the user.</summary>
    public string Description => IsDefault ? $"default model ({Checkpoint.Folder})" : Checkpoint.Folder;

    /// <summary>Opens the folder --model names, or the extracted default model when it is absent (config and weight headers only).</summary>
    public static (HuggingFaceCheckpoint Checkpoint, bool IsDefault) Open(string? modelOption) =>
        string.IsNullOrEmpty(modelOption)
            ? (HuggingFaceCheckpoint.Open(DefaultModel.EnsureExtracted()), true)
            : (HuggingFaceCheckpoint.Open(Path.GetFullPath(modelOption)), false);

    public static LoadedModel Load(HuggingFaceCheckpoint checkpoint, bool isDefault, Device device, ScalarType dtype, int maxModelLen = 2048)
    {
        var watch = Stopwatch.StartNew();
        var model = MambaLanguageModel.Load(checkpoint, device, dtype, maxModelLen: maxModelLen);
        return new LoadedModel(checkpoint, isDefault, model, watch.Elapsed);
    }

    public void Dispose() => Model.Dispose();
}
