using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using MambaGen.Backends;
using MambaGen.Cuda;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Models;

/// <summary>
/// The model's pure-decode step as CUDA graphs, one per batch-size bucket (1, 2, 4, ... up to the largest), each
/// captured after an eager warm-up the first time its bucket is needed and replayed with one small input copy per step.
/// A step's token ids and state blocks go into one static device buffer (rows past the batch are padding: state block
/// PAD_SLOT_ID, no state touched), so the captured kernels read them where they were at capture. The graphs bake in
/// the cache's addresses: when any bound state tensor moves, they are dropped and captured again. Anything that fails
/// (no side stream, capture refused, out of memory) turns the graphs off with the reason and the step runs eagerly.
/// </summary>
internal sealed class DecodeGraphs : IDisposable
{
    /// <summary>The environment variable that turns decode graphs off when set to 0, false or off.</summary>
    public const string Variable = "MAMBAGEN_CUDA_GRAPHS";

    private readonly Func<Tensor, MambaAttentionMetadata, Tensor> _decode;
    private readonly MambaMetadataBuilder _builder;
    private readonly IReadOnlyList<MambaBase> _mixers;
    private readonly int _device;
    private readonly int[] _buckets;
    private readonly Tensor _inputs;             // int64 [2 * largest]: token ids, then state blocks
    private readonly HostInputsInTurn _hostInputs;  // the same, pinned on the host
    private readonly CapturedGraphs<int, Captured> _graphs = new();

    private DecodeGraphs(Func<Tensor, MambaAttentionMetadata, Tensor> decode, MambaMetadataBuilder builder, IReadOnlyList<MambaBase> mixers, int device, int largest)
    {
        (_decode, _builder, _mixers, _device) = (decode, builder, mixers, device);
        _buckets = CapturedGraphs.BatchBuckets(largest);
        // Outside any dispose scope: the buffers live as long as the graphs that read them, not as the step that made them.
        using var scope = torch.NewDisposeScope();
        _inputs = torch.zeros(2L * largest, dtype: ScalarType.Int64, device: builder.Device).DetachFromDisposeScope();
        _hostInputs = new HostInputsInTurn(2L * largest, pinned: true);
    }

    /// <summary>Why graphs are off, once they are; null while they are on.</summary>
    public string? Disabled => _graphs.Disabled;

    /// <summary>The largest decode batch a graph serves; larger batches run eagerly.</summary>
    public int LargestBatch => _buckets[^1];

    /// <summary>How many buckets have a captured graph now.</summary>
    public int CapturedBuckets => _graphs.Count;

    /// <summary>Graphs for a model whose metadata builder runs the fused CUDA kernels, or null and why not.</summary>
    public static DecodeGraphs? TryCreate(Func<Tensor, MambaAttentionMetadata, Tensor> decode, MambaMetadataBuilder builder, IReadOnlyList<MambaBase> mixers,
        int largestBatch, out string reason)
    {
        if (!CapturedGraphs.TryPrepare(builder.Device, [builder], largestBatch, out int device, out reason))
        {
            return null;
        }

        reason = "";
        return new DecodeGraphs(decode, builder, mixers, device, largestBatch);
    }

    /// <summary>
    /// Runs a pure-decode step through its bucket's graph, capturing it first if needed. Returns the logits of the
    /// step's rows [rows, vocab] (a view of the graph's output, valid until the next step), or null when the step must
    /// run eagerly (too large, or graphs turned off).
    /// </summary>
    /// <param name="tokenIds">The step's token ids (host).</param>
    /// <param name="stateBlocks">Each row's state block (host).</param>
    public Tensor? TryRun(ReadOnlySpan<long> tokenIds, ReadOnlySpan<int> stateBlocks) =>
        tokenIds.Length == stateBlocks.Length ? TryRun(tokenIds, null, stateBlocks) : null;

    /// <summary>As <see cref="TryRun(ReadOnlySpan{long}, ReadOnlySpan{int})"/> with the token ids on the device (the last step's picks), copied in there.</summary>
    /// <param name="tokenIds">[rows] int64 on the graphs' device.</param>
    /// <param name="stateBlocks">Each row's state block (host).</param>
    public Tensor? TryRun(Tensor tokenIds, ReadOnlySpan<int> stateBlocks) =>
        CapturedGraphs.TakesDeviceIds(tokenIds, stateBlocks.Length, _inputs.device_type, _inputs.device_index) ? TryRun(default, tokenIds, stateBlocks) : null;

    private Tensor? TryRun(ReadOnlySpan<long> hostIds, Tensor? deviceIds, ReadOnlySpan<int> stateBlocks)
    {
        int rows = stateBlocks.Length;
        if (Disabled is not null || rows == 0 || rows > LargestBatch)
        {
            return null;
        }

        int bucket = _buckets.First(b => b >= rows);
        // The cache moved (or this is the first step): every graph points at the old blocks.
        _graphs.Track(CacheAddresses());
        if (!_graphs.TryGet(bucket, out var captured))
        {
            captured = Capture(bucket);
            if (captured is null)
            {
                return null;
            }

            _graphs.Add(bucket, captured);
        }

        int largest = LargestBatch;
        var pinned = _hostInputs.Next();
        var host = pinned.data<long>();
        for (int i = 0; i < bucket; i++)
        {
            host[i] = deviceIds is null && i < rows ? hostIds[i] : 0;
            host[largest + i] = i < rows ? stateBlocks[i] : Ops.StateSlots.PadSlotId;
        }

        _inputs.copy_(pinned, true);
        if (deviceIds is not null)
        {
            // After the host copy, which wrote zeros there: padding rows keep id 0.
            _inputs.narrow(0, 0, rows).copy_(deviceIds, true);
        }

        captured.Graph.Replay();
        return captured.Logits.narrow(0, 0, rows);
    }

    private Captured? Capture(int bucket)
    {
        var requests = Enumerable.Range(0, bucket).Select(i => new ScheduledRequest(1, 1, ScheduledRequest.PadSlotId, $"graph-{i}")).ToArray();
        MambaAttentionMetadata? metadata = null;
        try
        {
            int largest = LargestBatch;
            // Warm-up and capture on padding rows: the kernels touch no state for them.
            using (var noGrad = torch.no_grad())
            {
                _inputs.narrow(0, largest, bucket).fill_(Ops.StateSlots.PadSlotId);
                metadata = _builder.Build(new CommonAttentionMetadata(requests), _inputs.narrow(0, largest, bucket));
                var ids = _inputs.narrow(0, 0, bucket);
                using (var warm = torch.NewDisposeScope())
                {
                    _decode(ids, metadata);
                }

                Tensor? logits = null;
                var graph = CudaGraph.TryCapture(_device, () => logits = _decode(ids, metadata!), out var reason);
                if (graph is null || logits is null)
                {
                    Disable($"capture of the batch-{bucket} decode step failed: {reason}");
                    metadata.Dispose();
                    return null;
                }

                logits.DetachFromDisposeScope();
                return new Captured(graph, logits, metadata);
            }
        }
        catch (Exception e) when (e is CudaException or ExternalException or InvalidOperationException or OutOfMemoryException)
        {
            metadata?.Dispose();
            Disable($"capture of the batch-{bucket} decode step failed: {e.GetType().Name}: {e.Message}");
            return null;
        }
    }

    private IntPtr[] CacheAddresses() =>
        _mixers.SelectMany(m => m.KvCache).Select(TorchCuda.DataPtr).ToArray();

    private void Disable(string reason) => _graphs.Disable(reason);

    public void Dispose()
    {
        _graphs.Dispose();
        _inputs.Dispose();
        _hostInputs.Dispose();
    }

    private sealed record Captured(CudaGraph Graph, Tensor Logits, MambaAttentionMetadata Metadata) : IDisposable
    {
        public void Dispose()
        {
            Graph.Dispose();
            Logits.Dispose();
            Metadata.Dispose();
        }
    }
}
