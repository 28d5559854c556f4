using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Backends;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Attention;

/// <summary>
/// vLLM's attention metadata for one step over a paged KV cache, built once per step and shared by every attention
/// layer of the cache group: sequence lengths, each request's block table, each token's position and slot
/// (<c>block_table[pos / block_size] · block_size + pos % block_size</c>), and what the layers gather with: for the
/// decodes one padded block table and key mask (one batched attention), for each prefill its blocks and causal mask.
/// Host arrays give sizes; the tensors live on <see cref="Device"/> until <see cref="Dispose"/>.
/// </summary>
public sealed class AttentionMetadata : IDisposable
{
    private readonly List<Tensor> _tensors = new();
    private readonly Dictionary<(int, double), (Tensor, Tensor)> _angles = new();

    /// <param name="common">The step: decodes first, then prefills.</param>
    /// <param name="blockTables">Each request's attention blocks in order; enough to hold its sequence after this step.</param>
    /// <param name="blockSize">Tokens per block.</param>
    /// <param name="device">The layers' device.</param>
    public AttentionMetadata(CommonAttentionMetadata common, IReadOnlyList<int[]> blockTables, int blockSize, Device device)
    {
        ArgumentNullException.ThrowIfNull(common);
        ArgumentNullException.ThrowIfNull(blockTables);
        Device = device ?? throw new ArgumentNullException(nameof(device));
        if (blockSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "An attention block holds at least one token.");
        }

        if (blockTables.Count != common.NumReqs)
        {
            throw new ArgumentException($"The step has {common.NumReqs} requests but {blockTables.Count} attention block tables; each request needs one.", nameof(blockTables));
        }

        BlockSize = blockSize;
        NumReqs = common.NumReqs;
        NumActualTokens = common.NumActualTokens;
        NumDecodes = common.NumDecodes;
        NumDecodeTokens = common.NumDecodeTokens;
        QueryStartLoc = (int[])common.QueryStartLoc.Clone();
        SeqLens = (int[])common.SeqLens.Clone();
        NumComputedTokens = (int[])common.NumComputedTokens.Clone();
        BlockTables = new int[NumReqs][];
        var positions = new long[NumActualTokens];
        SlotMapping = new long[NumActualTokens];
        for (int i = 0; i < NumReqs; i++)
        {
            var table = blockTables[i] ?? throw new ArgumentException($"Request {Describe(common, i)} has no attention block table.", nameof(blockTables));
            int needed = (SeqLens[i] + blockSize - 1) / blockSize;
            if (table.Length < needed)
            {
                throw new ArgumentException($"Request {Describe(common, i)} runs to {SeqLens[i]} tokens, which need {needed} attention blocks of {blockSize}, but its block table holds {table.Length}.", nameof(blockTables));
            }

            for (int b = 0; b < needed; b++)
            {
                if (table[b] < 0)
                {
                    throw new ArgumentException($"Request {Describe(common, i)}: attention block {b} is {table[b]}; block ids are >= 0.", nameof(blockTables));
                }

                MaxBlockId = Math.Max(MaxBlockId, table[b]);
            }

            BlockTables[i] = table.Take(needed).ToArray();
            for (int t = QueryStartLoc[i]; t < QueryStartLoc[i + 1]; t++)
            {
                int pos = NumComputedTokens[i] + t - QueryStartLoc[i];
                positions[t] = pos;
                SlotMapping[t] = (long)BlockTables[i][pos / blockSize] * blockSize + pos % blockSize;
            }
        }

        Positions = Own(torch.tensor(positions, device: Device));
        SlotBlocks = Own(torch.tensor(SlotMapping.Select(s => s / blockSize).ToArray(), device: Device));
        SlotOffsets = Own(torch.tensor(SlotMapping.Select(s => s % blockSize).ToArray(), device: Device));

        if (NumDecodes > 0)
        {
            // One batched attention for the decodes: every block table padded to the longest (with block 0, masked out).
            int widest = BlockTables.Take(NumDecodes).Max(t => t.Length);
            var table = new long[NumDecodes * widest];
            var mask = new bool[NumDecodes * widest * blockSize];
            for (int i = 0; i < NumDecodes; i++)
            {
                for (int b = 0; b < BlockTables[i].Length; b++)
                {
                    table[i * widest + b] = BlockTables[i][b];
                }

                for (int k = 0; k < SeqLens[i]; k++)
                {
                    mask[i * widest * blockSize + k] = true;
                }
            }

            DecodeBlockTable = Own(torch.tensor(table, device: Device).view(NumDecodes, widest));
            DecodeKeyMask = Own(torch.tensor(mask, device: Device).view(NumDecodes, 1, 1, widest * blockSize));
        }

        var prefillBlocks = new Tensor?[NumReqs - NumDecodes];
        var prefillMasks = new Tensor?[NumReqs - NumDecodes];
        var runs = new List<FreshPrefillRun>();
        for (int p = 0; p < prefillBlocks.Length; p++)
        {
            int i = NumDecodes + p;
            int length = QueryStartLoc[i + 1] - QueryStartLoc[i];
            if (NumComputedTokens[i] == 0)
            {
                // Nothing cached before this step: the prefill attends to its own new keys alone.
                if (runs.Count > 0 && runs[^1] is var last && last.FirstPrefill + last.Count == p && last.Length == length)
                {
                    runs[^1] = last with { Count = last.Count + 1 };
                }
                else
                {
                    runs.Add(new FreshPrefillRun(p, 1, length, QueryStartLoc[i]));
                }

                continue;
            }

            prefillBlocks[p] = Own(torch.tensor(BlockTables[i].Select(b => (long)b).ToArray(), device: Device));
            // Query j sits at position computed + j and sees keys 0 ..= computed + j.
            int nq = QueryStartLoc[i + 1] - QueryStartLoc[i];
            var keys = torch.arange(SeqLens[i], dtype: ScalarType.Int64, device: Device).unsqueeze(0);
            var queries = torch.arange(NumComputedTokens[i], NumComputedTokens[i] + nq, dtype: ScalarType.Int64, device: Device).unsqueeze(1);
            prefillMasks[p] = Own(keys.le(queries));
            keys.Dispose();
            queries.Dispose();
        }

        PrefillBlocks = prefillBlocks;
        PrefillMasks = prefillMasks;
        FreshPrefillRuns = runs;
    }

    /// <summary>
    /// A pure-decode step's metadata computed on the device from a CUDA graph's static inputs, so that a replay reads
    /// the values copied in before it: <paramref name="seqLens"/> int64 [rows] (0 marks a padding row) and
    /// <paramref name="blockTable"/> int64 [rows, width] (each row's blocks, padded with block 0). Call it inside the
    /// captured region. Padding rows see key 0 of block 0 and write back what slot 0 of block 0 holds
    /// (<see cref="DecodeRealRows"/>); a decode never writes there itself (its position is at least 1). The host
    /// arrays that hold values (<see cref="SeqLens"/>, <see cref="NumComputedTokens"/>, <see cref="BlockTables"/>,
    /// <see cref="SlotMapping"/>) are empty here: the caller checks the block ids against the cache before each replay.
    /// </summary>
    public static AttentionMetadata ForDecodeGraph(Tensor seqLens, Tensor blockTable, int blockSize) => new(seqLens, blockTable, blockSize);

    private AttentionMetadata(Tensor seqLens, Tensor blockTable, int blockSize)
    {
        ArgumentNullException.ThrowIfNull(seqLens);
        ArgumentNullException.ThrowIfNull(blockTable);
        if (blockSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(blockSize), blockSize, "An attention block holds at least one token.");
        }

        int rows = (int)seqLens.shape[0];
        if (seqLens.dim() != 1 || blockTable.dim() != 2 || blockTable.shape[0] != rows || seqLens.dtype != ScalarType.Int64 || blockTable.dtype != ScalarType.Int64)
        {
            throw new ArgumentException($"A decode graph's sequence lengths must be int64 [rows] and its block table int64 [rows, width]; got {seqLens.dtype} [{string.Join(", ", seqLens.shape)}] and {blockTable.dtype} [{string.Join(", ", blockTable.shape)}].");
        }

        Device = seqLens.device;
        BlockSize = blockSize;
        NumReqs = NumActualTokens = NumDecodes = NumDecodeTokens = rows;
        QueryStartLoc = Enumerable.Range(0, rows + 1).ToArray();
        SeqLens = NumComputedTokens = Array.Empty<int>();
        BlockTables = Array.Empty<int[]>();
        SlotMapping = Array.Empty<long>();
        using (var scope = torch.NewDisposeScope())
        {
            var real = seqLens.gt(0);
            var length = seqLens.clamp_min(1);
            var position = length - 1;
            long keys = blockTable.shape[1] * blockSize;
            Positions = Own(position.MoveToOuterDisposeScope());
            SlotBlocks = Own(blockTable.gather(1, position.div(blockSize, rounding_mode: RoundingMode.floor).unsqueeze(1)).squeeze(1).MoveToOuterDisposeScope());
            SlotOffsets = Own(position.remainder(blockSize).MoveToOuterDisposeScope());
            DecodeBlockTable = Own(blockTable.contiguous().MoveToOuterDisposeScope());
            DecodeKeyMask = Own(torch.arange(keys, dtype: ScalarType.Int64, device: Device).unsqueeze(0).lt(length.unsqueeze(1))
                .view(rows, 1, 1, keys).MoveToOuterDisposeScope());
            DecodeRealRows = Own(real.MoveToOuterDisposeScope());
        }

        PrefillBlocks = Array.Empty<Tensor?>();
        PrefillMasks = Array.Empty<Tensor?>();
        FreshPrefillRuns = Array.Empty<FreshPrefillRun>();
    }

    public Device Device { get; }

    /// <summary>Tokens per block.</summary>
    public int BlockSize { get; }

    public int NumReqs { get; }

    public int NumActualTokens { get; }

    public int NumDecodes { get; }

    public int NumDecodeTokens { get; }

    public int NumPrefills => NumReqs - NumDecodes;

    /// <summary>[num_reqs + 1].</summary>
    public int[] QueryStartLoc { get; }

    /// <summary>Tokens of each request after this step: [num_reqs].</summary>
    public int[] SeqLens { get; }

    /// <summary>[num_reqs].</summary>
    public int[] NumComputedTokens { get; }

    /// <summary>Each request's blocks, as many as its sequence needs after this step.</summary>
    public int[][] BlockTables { get; }

    /// <summary>The largest block id the step reads or writes (layers check it against their cache).</summary>
    public int MaxBlockId { get; }

    /// <summary>Each token's cache slot, block · block_size + offset: [num_actual_tokens].</summary>
    public long[] SlotMapping { get; }

    /// <summary>int64 [num_actual_tokens]: each token's position in its sequence.</summary>
    public Tensor Positions { get; }

    /// <summary>int64 [num_actual_tokens]: the block of each token's slot.</summary>
    public Tensor SlotBlocks { get; }

    /// <summary>int64 [num_actual_tokens]: the offset of each token's slot in its block.</summary>
    public Tensor SlotOffsets { get; }

    /// <summary>int64 [num_decodes, widest]: the decodes' block tables, padded with block 0.</summary>
    public Tensor? DecodeBlockTable { get; }

    /// <summary>bool [num_decodes, 1, 1, widest · block_size]: which gathered keys each decode sees.</summary>
    public Tensor? DecodeKeyMask { get; }

    /// <summary>bool [num_decodes] in a decode graph's metadata (<see cref="ForDecodeGraph"/>): which rows are real
    /// (padding rows write no K or V); null elsewhere, where every row is real.</summary>
    public Tensor? DecodeRealRows { get; }

    /// <summary>Per prefill that resumes a cached sequence, int64 [blocks]: its block table (null for a fresh prefill).</summary>
    public IReadOnlyList<Tensor?> PrefillBlocks { get; }

    /// <summary>Per prefill that resumes a cached sequence, bool [scheduled tokens, seq len]: the causal mask over its
    /// whole sequence (null for a fresh prefill).</summary>
    public IReadOnlyList<Tensor?> PrefillMasks { get; }

    /// <summary>The fresh prefills (nothing cached before this step), as runs of consecutive prefills of one length: a
    /// run is one causal attention over its own new keys, with no cache gather and no mask.</summary>
    public IReadOnlyList<FreshPrefillRun> FreshPrefillRuns { get; }

    /// <summary>The cos and sin of <see cref="Positions"/> for <paramref name="rope"/>, made once per step for all layers that share its dims and θ.</summary>
    public (Tensor Cos, Tensor Sin) RotaryAngles(RotaryEmbedding rope)
    {
        ArgumentNullException.ThrowIfNull(rope);
        var key = (rope.RotaryDim, rope.Theta);
        if (!_angles.TryGetValue(key, out var angles))
        {
            var (cos, sin) = rope.Angles(Positions);
            angles = (Own(cos), Own(sin));
            _angles.Add(key, angles);
        }

        return angles;
    }

    private static string Describe(CommonAttentionMetadata common, int i) =>
        common.Requests[i].RequestId is { } id ? $"{i} ('{id}')" : $"{i}";

    private Tensor Own(Tensor tensor)
    {
        tensor.DetachFromDisposeScope();
        _tensors.Add(tensor);
        return tensor;
    }

    public void Dispose()
    {
        foreach (var t in _tensors)
        {
            t.Dispose();
        }

        _tensors.Clear();
        _angles.Clear();
    }
}

/// <summary>
/// Consecutive fresh prefills of one length: prefills <see cref="FirstPrefill"/> .. + <see cref="Count"/> - 1 (counted
/// among the step's prefills), whose tokens are <see cref="Count"/> · <see cref="Length"/> rows from
/// <see cref="TokenStart"/>.
/// </summary>
public readonly record struct FreshPrefillRun(int FirstPrefill, int Count, int Length, int TokenStart);
