using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Cuda;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Models;

/// <summary>
/// The decode graphs of one model by bucket, shared by the pure and the hybrid models' graphs: the bucket sizes, the
/// graphs captured so far, dropping them all when the cache they were captured on moves, and turning them off for good
/// with the reason when a capture fails.
/// </summary>
internal sealed class CapturedGraphs<TKey, TGraph> : IDisposable
    where TKey : notnull
    where TGraph : IDisposable
{
    private readonly Dictionary<TKey, TGraph> _graphs = new();
    private IntPtr[] _cacheAddresses = Array.Empty<IntPtr>();

    /// <summary>Why graphs are off, once they are; null while they are on.</summary>
    public string? Disabled { get; private set; }

    public int Count => _graphs.Count;

    /// <summary>Drops every graph when the cache's tensors are not where the graphs were captured (or on the first step).</summary>
    public void Track(IntPtr[] cacheAddresses)
    {
        if (!cacheAddresses.AsSpan().SequenceEqual(_cacheAddresses))
        {
            Drop();
            _cacheAddresses = cacheAddresses;
        }
    }

    public bool TryGet(TKey key, out TGraph graph) => _graphs.TryGetValue(key, out graph!);

    public void Add(TKey key, TGraph graph) => _graphs[key] = graph;

    /// <summary>Turns the graphs off for good, with the reason.</summary>
    public void Disable(string reason)
    {
        Disabled = reason;
        Drop();
    }

    public void Drop()
    {
        foreach (var g in _graphs.Values)
        {
            g.Dispose();
        }

        _graphs.Clear();
    }

    public void Dispose() => Drop();
}

/// <summary>What the pure and the hybrid models' decode graphs decide alike: whether they can run, their buckets, and which ids they take.</summary>
internal static class CapturedGraphs
{
    /// <summary>
    /// Readies a capture of steps whose mamba layers run through <paramref name="builders"/> on <paramref name="device"/>:
    /// false with the reason when <see cref="DecodeGraphs.Variable"/> turns graphs off, the device is not CUDA, the
    /// fused kernels are not in use, or no side stream can be made current (capture needs one other than the legacy
    /// default stream; libtorch's ops and the kernels then run on it).
    /// </summary>
    public static bool TryPrepare(Device device, IEnumerable<MambaMetadataBuilder> builders, int largestBatch, out int cudaDevice, out string reason)
    {
        cudaDevice = Math.Max(device.index, 0);
        if (Config.EnvironmentSwitch.OffValue(DecodeGraphs.Variable) is { } setting)
        {
            reason = $"{DecodeGraphs.Variable}={setting}";
            return false;
        }

        if (device.type != DeviceType.CUDA)
        {
            reason = $"device {device}";
            return false;
        }

        if (builders.Any(b => b.Ops == Ops.MambaOps.Reference))
        {
            reason = "the fused CUDA kernels are not in use";
            return false;
        }

        if (largestBatch < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(largestBatch), largestBatch, "The largest graph batch must be at least 1.");
        }

        return TorchCuda.TryUseSideStream(cudaDevice, out _, out reason);
    }

    /// <summary>Whether <paramref name="ids"/> are a step's <paramref name="rows"/> token ids on the graphs' device (the last step's picks), which a replay copies in.</summary>
    public static bool TakesDeviceIds(Tensor ids, long rows, DeviceType type, int index) =>
        ids.dim() == 1 && ids.shape[0] == rows && ids.dtype == ScalarType.Int64 && ids.device_type == type && ids.device_index == index;

    /// <summary>Batch buckets 1, 2, 4, ... below <paramref name="largest"/>, then <paramref name="largest"/>.</summary>
    public static int[] BatchBuckets(int largest)
    {
        var buckets = new List<int>();
        for (int b = 1; b < largest; b *= 2)
        {
            buckets.Add(b);
        }

        buckets.Add(largest);
        return buckets.ToArray();
    }
}
