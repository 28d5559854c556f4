using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using MambaGen.Attention;
using MambaGen.Backends;
using MambaGen.Cache;
using MambaGen.Cuda;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Models.Hybrid;

/// <summary>
/// A hybrid model's pure-decode step as CUDA graphs, one per (batch bucket, attention width bucket): batches of 1, 2,
/// 4, ... up to the largest, and block tables padded to 1, 2, 4, ... blocks. Each graph reads one static int64 buffer
/// of its width: the token ids, the sequence lengths (0 for a padding row), each mamba group's state blocks
/// (<see cref="ScheduledRequest.PadSlotId"/> for padding) and each attention group's block table; a step copies its
/// values in and replays. The attention metadata is computed inside the graph from that buffer
/// (<see cref="AttentionMetadata.ForDecodeGraph"/>), the mamba metadata is built once per graph on the static state
/// blocks, as <see cref="DecodeGraphs"/> does for pure models. The graphs bake in the cache's addresses: when any bound
/// cache tensor moves they are dropped. A step the graphs cannot take (too many rows, a block id the cache lacks) runs
/// eagerly, which names what is wrong; anything that fails in a capture turns the graphs off with the reason.
/// </summary>
internal sealed class HybridDecodeGraphs : IDisposable
{
    private readonly Func<Tensor, HybridStepMetadata, Tensor> _decode;
    private readonly HybridPageLayout _layout;
    private readonly object[] _builders;
    private readonly ILinearOps _linear;
    private readonly Func<Tensor[]> _caches;
    private readonly Device _device;
    private readonly int? _cudaDevice;  // null: no capture, each replay runs the step eagerly on the same buffers (tests)
    private readonly int[] _buckets;
    private readonly int[] _mambaGroups;
    private readonly int[] _attentionGroups;
    private readonly Dictionary<int, Inputs> _inputs = new();
    private readonly CapturedGraphs<(int Rows, int Width), Captured> _graphs = new();

    private HybridDecodeGraphs(Func<Tensor, HybridStepMetadata, Tensor> decode, HybridPageLayout layout, object[] builders, ILinearOps linear,
        Func<Tensor[]> caches, Device device, int? cudaDevice, int largest)
    {
        (_decode, _layout, _builders, _linear, _caches, _device, _cudaDevice) = (decode, layout, builders, linear, caches, device, cudaDevice);
        _buckets = CapturedGraphs.BatchBuckets(largest);
        _mambaGroups = layout.Groups.Where(g => !g.IsAttention).Select(g => g.Index).ToArray();
        _attentionGroups = layout.Groups.Where(g => g.IsAttention).Select(g => g.Index).ToArray();
    }

    /// <summary>Why graphs are off, once they are; null while they are on.</summary>
    public string? Disabled => _graphs.Disabled;

    /// <summary>The largest decode batch a graph serves; larger batches run eagerly.</summary>
    public int LargestBatch => _buckets[^1];

    /// <summary>How many (batch, width) buckets have a captured graph now.</summary>
    public int CapturedBuckets => _graphs.Count;

    /// <summary>Graphs on CUDA with the fused kernels, or null and why not (<see cref="CapturedGraphs.TryPrepare"/>).
    /// <paramref name="builders"/> holds each cache group's metadata builder, in the layout's group order.</summary>
    public static HybridDecodeGraphs? TryCreate(Func<Tensor, HybridStepMetadata, Tensor> decode, HybridPageLayout layout, object[] builders, ILinearOps linear,
        Func<Tensor[]> caches, Device device, int largestBatch, out string reason) =>
        CapturedGraphs.TryPrepare(device, builders.OfType<MambaMetadataBuilder>(), largestBatch, out int cudaDevice, out reason)
            ? new HybridDecodeGraphs(decode, layout, builders, linear, caches, device, cudaDevice, largestBatch)
            : null;

    /// <summary>The same buffers, buckets and metadata with no capture: each replay runs the step eagerly (for tests on
    /// the CPU, where there are no graphs).</summary>
    internal static HybridDecodeGraphs Uncaptured(Func<Tensor, HybridStepMetadata, Tensor> decode, HybridPageLayout layout, object[] builders, ILinearOps linear,
        Func<Tensor[]> caches, Device device, int largestBatch) =>
        new(decode, layout, builders, linear, caches, device, null, largestBatch);

    /// <summary>
    /// Runs a pure-decode step through its bucket's graph, capturing it first if needed. Returns the logits of the
    /// step's rows [rows, vocab] (a view of the graph's output, valid until the next step), or null when the step must
    /// run eagerly.
    /// </summary>
    /// <param name="tokenIds">The step's token ids (host).</param>
    /// <param name="step">The step, with each cache group's block tables.</param>
    public Tensor? TryRun(ReadOnlySpan<long> tokenIds, CommonAttentionMetadata step) =>
        tokenIds.Length == step.NumReqs ? TryRun(tokenIds, null, step) : null;

    /// <summary>As <see cref="TryRun(ReadOnlySpan{long}, CommonAttentionMetadata)"/> with the token ids on the device (the last step's picks), copied in there.</summary>
    /// <param name="tokenIds">[rows] int64 on the graphs' device.</param>
    /// <param name="step">The step, with each cache group's block tables.</param>
    public Tensor? TryRun(Tensor tokenIds, CommonAttentionMetadata step) =>
        CapturedGraphs.TakesDeviceIds(tokenIds, step.NumReqs, _device.type, _device.index) ? TryRun(default, tokenIds, step) : null;

    private Tensor? TryRun(ReadOnlySpan<long> hostIds, Tensor? deviceIds, CommonAttentionMetadata step)
    {
        int rows = step.NumReqs;
        var tables = step.GroupBlockTables;
        if (Disabled is not null || rows == 0 || rows > LargestBatch || tables is null || tables.Count != _layout.Groups.Count || step.NumPrefills != 0)
        {
            return null;
        }

        var caches = _caches();
        if (caches.Length == 0 || !TryWidth(step, tables, caches.Min(c => c.shape[0]), out int width))
        {
            return null;
        }

        // The cache moved (or this is the first step): every graph points at the old blocks.
        _graphs.Track(caches.Select(TorchCuda.DataPtrOfAnyDevice).ToArray());
        int bucket = _buckets.First(b => b >= rows);
        if (!_graphs.TryGet((bucket, width), out var captured))
        {
            captured = Capture(bucket, width);
            if (captured is null)
            {
                return null;
            }

            _graphs.Add((bucket, width), captured);
        }

        var inputs = InputsFor(width);
        inputs.Fill(hostIds, deviceIds, step, tables, bucket, _layout.Groups, _mambaGroups, _attentionGroups);
        captured.Replay();
        return captured.Logits!.narrow(0, 0, rows);
    }

    /// <summary>The width bucket (blocks per row) the step's attention tables need, or false when a block id is not
    /// in the cache or a row's table is short (the eager path then names it).</summary>
    private bool TryWidth(CommonAttentionMetadata step, IReadOnlyList<IReadOnlyList<int[]>> tables, long numBlocks, out int width)
    {
        width = 1;
        foreach (int g in _mambaGroups)
        {
            foreach (var t in tables[g])
            {
                if (t.Length != 1 || t[0] < 0 || t[0] >= numBlocks)
                {
                    return false;
                }
            }
        }

        int needed = 1;
        foreach (int g in _attentionGroups)
        {
            for (int i = 0; i < step.NumReqs; i++)
            {
                int blocks = _layout.Groups[g].BlocksFor(step.SeqLens[i]);
                var t = tables[g][i];
                if (t.Length < blocks)
                {
                    return false;
                }

                for (int b = 0; b < blocks; b++)
                {
                    if (t[b] < 0 || t[b] >= numBlocks)
                    {
                        return false;
                    }
                }

                needed = Math.Max(needed, blocks);
            }
        }

        while (width < needed)
        {
            width *= 2;
        }

        return true;
    }

    private Inputs InputsFor(int width)
    {
        if (!_inputs.TryGetValue(width, out var inputs))
        {
            inputs = new Inputs(LargestBatch, _mambaGroups.Length, _attentionGroups.Length, width, _device);
            _inputs[width] = inputs;
        }

        return inputs;
    }

    private Captured? Capture(int bucket, int width)
    {
        var inputs = InputsFor(width);
        var groups = new IDisposable[_layout.Groups.Count];
        try
        {
            using var noGrad = torch.no_grad();
            inputs.FillPadding(bucket);
            var padding = Enumerable.Range(0, bucket).Select(i => new ScheduledRequest(1, 1, ScheduledRequest.PadSlotId, $"graph-{i}")).ToArray();
            for (int k = 0; k < _mambaGroups.Length; k++)
            {
                groups[_mambaGroups[k]] = ((MambaMetadataBuilder)_builders[_mambaGroups[k]]).Build(new CommonAttentionMetadata(padding), inputs.StateBlocks(k, bucket));
            }

            var ids = inputs.TokenIds(bucket);
            int bs = _layout.AttentionBlockSize;
            Tensor Step()
            {
                if (_cudaDevice is null)
                {
                    // The CPU's ops read the rows' state blocks from the host, so uncaptured steps tell them the real ones.
                    for (int k = 0; k < _mambaGroups.Length; k++)
                    {
                        var rows = Enumerable.Range(0, bucket).Select(i => new ScheduledRequest(1, 1, inputs.HostStateBlock(k, i), $"graph-{i}")).ToArray();
                        groups[_mambaGroups[k]]?.Dispose();
                        groups[_mambaGroups[k]] = ((MambaMetadataBuilder)_builders[_mambaGroups[k]]).Build(new CommonAttentionMetadata(rows), inputs.StateBlocks(k, bucket));
                    }
                }

                // The attention metadata is computed from the static buffer inside the step, so a replay recomputes it.
                for (int j = 0; j < _attentionGroups.Length; j++)
                {
                    groups[_attentionGroups[j]] = AttentionMetadata.ForDecodeGraph(inputs.SeqLens(bucket), inputs.BlockTable(j, bucket), bs);
                }

                return _decode(ids, new HybridStepMetadata(_layout, groups, _linear));
            }

            if (_cudaDevice is not int device)
            {
                return new Captured(null, Step, _attentionGroups, groups);
            }

            using (var warm = torch.NewDisposeScope())
            {
                Step();
                DisposeAttention(groups);
            }

            Tensor? logits = null;
            var graph = CudaGraph.TryCapture(device, () => logits = Step(), out var reason);
            if (graph is null || logits is null)
            {
                Disable($"capture of the batch-{bucket}, {width}-block decode step failed: {reason}");
                DisposeAll(groups);
                return null;
            }

            logits.DetachFromDisposeScope();
            return new Captured(graph, null, _attentionGroups, groups) { Logits = logits };
        }
        catch (Exception e) when (e is CudaException or ExternalException or InvalidOperationException or OutOfMemoryException)
        {
            DisposeAll(groups);
            Disable($"capture of the batch-{bucket}, {width}-block decode step failed: {e.GetType().Name}: {e.Message}");
            return null;
        }
    }

    private void DisposeAttention(IDisposable?[] groups)
    {
        foreach (int g in _attentionGroups)
        {
            groups[g]?.Dispose();
            groups[g] = null!;
        }
    }

    private static void DisposeAll(IDisposable?[] groups)
    {
        foreach (var g in groups)
        {
            g?.Dispose();
        }
    }

    private void Disable(string reason) => _graphs.Disable(reason);

    public void Dispose()
    {
        _graphs.Dispose();
        foreach (var i in _inputs.Values)
        {
            i.Dispose();
        }

        _inputs.Clear();
    }

    /// <summary>
    /// One width's static inputs, int64 on the device with a host copy (pinned on CUDA): [largest] token ids, [largest]
    /// sequence lengths, [largest] state blocks per mamba group, [largest, width] block table per attention group.
    /// </summary>
    private sealed class Inputs : IDisposable
    {
        private readonly int _largest, _mambaGroups, _width;
        private readonly Tensor _device;
        private readonly HostInputsInTurn _hosts;

        public Inputs(int largest, int mambaGroups, int attentionGroups, int width, Device device)
        {
            (_largest, _mambaGroups, _width) = (largest, mambaGroups, width);
            long length = (long)largest * (2 + mambaGroups) + (long)largest * width * attentionGroups;
            // Outside any dispose scope: the buffers live as long as the graphs that read them.
            using var scope = torch.NewDisposeScope();
            _device = torch.zeros(length, dtype: ScalarType.Int64, device: device).DetachFromDisposeScope();
            _hosts = new HostInputsInTurn(length, pinned: device.type == DeviceType.CUDA);
        }

        private readonly Dictionary<(string, int, int), Tensor> _views = new();

        // The views live as long as the buffer, outside any step's dispose scope: a graph's replay reads them.
        private Tensor View(string what, int group, int rows, Func<Tensor> make)
        {
            if (!_views.TryGetValue((what, group, rows), out var view))
            {
                view = make().DetachFromDisposeScope();
                _views[(what, group, rows)] = view;
            }

            return view;
        }

        public Tensor TokenIds(int rows) => View("ids", 0, rows, () => _device.narrow(0, 0, rows));

        public Tensor SeqLens(int rows) => View("lens", 0, rows, () => _device.narrow(0, _largest, rows));

        public Tensor StateBlocks(int group, int rows) => View("state", group, rows, () => _device.narrow(0, (long)_largest * (2 + group), rows));

        public Tensor BlockTable(int group, int rows) => View("table", group, rows, () =>
            _device.narrow(0, TableStart(group), (long)_largest * _width).view(_largest, _width).narrow(0, 0, rows));

        /// <summary>Row <paramref name="row"/>'s state block in mamba group <paramref name="group"/>, as last filled.</summary>
        public int HostStateBlock(int group, int row) => (int)_hosts.Current.data<long>()[(long)_largest * (2 + group) + row];

        private long TableStart(int group) => (long)_largest * (2 + _mambaGroups) + (long)group * _largest * _width;

        /// <summary>Padding in every row of the bucket, for the warm-up and the capture.</summary>
        public void FillPadding(int rows)
        {
            TokenIds(rows).fill_(0);
            SeqLens(rows).fill_(0);
            for (int k = 0; k < _mambaGroups; k++)
            {
                StateBlocks(k, rows).fill_(ScheduledRequest.PadSlotId);
            }

            // Tables fill with block 0 (zeros from allocation and Fill), which padding rows and table tails point at.
        }

        /// <summary>The step's rows, then padding up to the bucket, copied to the device in one transfer; the rows' token
        /// ids from <paramref name="hostIds"/>, or from <paramref name="deviceIds"/> on the device when given.</summary>
        public void Fill(ReadOnlySpan<long> hostIds, Tensor? deviceIds, CommonAttentionMetadata step, IReadOnlyList<IReadOnlyList<int[]>> tables, int bucket,
            IReadOnlyList<KvCacheGroup> groups, int[] mambaGroups, int[] attentionGroups)
        {
            int rows = step.NumReqs;
            var buffer = _hosts.Next();
            var host = buffer.data<long>();
            for (int i = 0; i < bucket; i++)
            {
                bool real = i < rows;
                host[i] = real && deviceIds is null ? hostIds[i] : 0;
                host[_largest + i] = real ? step.SeqLens[i] : 0;
                for (int k = 0; k < mambaGroups.Length; k++)
                {
                    host[(long)_largest * (2 + k) + i] = real ? tables[mambaGroups[k]][i][0] : ScheduledRequest.PadSlotId;
                }

                for (int j = 0; j < attentionGroups.Length; j++)
                {
                    long at = TableStart(j) + (long)i * _width;
                    int blocks = real ? groups[attentionGroups[j]].BlocksFor(step.SeqLens[i]) : 0;
                    var table = real ? tables[attentionGroups[j]][i] : null;
                    for (int b = 0; b < _width; b++)
                    {
                        host[at + b] = b < blocks ? table![b] : 0;
                    }
                }
            }

            _device.copy_(buffer, buffer.is_pinned());
            if (deviceIds is not null)
            {
                // After the host copy, which wrote zeros there.
                TokenIds(rows).copy_(deviceIds, true);
            }
        }

        public void Dispose()
        {
            foreach (var v in _views.Values)
            {
                v.Dispose();
            }

            _device.Dispose();
            _hosts.Dispose();
        }
    }

    /// <summary>A bucket's graph (or, uncaptured, its step run eagerly at each replay), its output and its metadata.</summary>
    private sealed class Captured : IDisposable
    {
        private readonly CudaGraph? _graph;
        private readonly Func<Tensor>? _eager;
        private readonly int[] _attentionGroups;
        private readonly IDisposable?[] _groups;

        public Captured(CudaGraph? graph, Func<Tensor>? eager, int[] attentionGroups, IDisposable?[] groups) =>
            (_graph, _eager, _attentionGroups, _groups) = (graph, eager, attentionGroups, groups);

        public Tensor? Logits { get; set; }

        public void Replay()
        {
            if (_graph is not null)
            {
                _graph.Replay();
                return;
            }

            foreach (int g in _attentionGroups)
            {
                _groups[g]?.Dispose();
            }

            Logits?.Dispose();
            using var noGrad = torch.no_grad();
            Logits = _eager!().DetachFromDisposeScope();
        }

        public void Dispose()
        {
            _graph?.Dispose();
            Logits?.Dispose();
            DisposeAll(_groups);
        }
    }
}
