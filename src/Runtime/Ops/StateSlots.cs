using System;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// The cache blocks a batch reads its states from and writes them back to, built once per step from vLLM's
/// <c>state_indices_tensor</c> ([batch], int32/int64, a row of <see cref="PadSlotId"/> is padding) and shared by every
/// layer of the step. Padding rows are no-ops for the caches: their state is never written, and never used as an
/// initial state in prefill (it reads as zeros there); their outputs are unspecified (decode computes them from block 0).
/// </summary>
/// <remarks>
/// Writing back without a host sync: an <c>index_copy_</c> cannot skip rows, so each padding row is redirected to
/// repeat the write of the first real row (same block, same value), which makes the duplicate writes harmless; when
/// every row is padding, each writes the block's own old contents back. Built from a host <c>int[]</c>, the slots know
/// whether padding exists and skip that redirection entirely.
/// </remarks>
public sealed class StateSlots : IDisposable
{
    /// <summary>vLLM's <c>PAD_SLOT_ID</c>.</summary>
    public const int PadSlotId = -1;

    private StateSlots(Tensor readIndices, Tensor valid, Tensor? writeRows, Tensor? writeIndices, bool? anyValid)
    {
        ReadIndices = readIndices;
        Valid = valid;
        WriteRows = writeRows;
        WriteIndices = writeIndices;
        AnyValid = anyValid;
        Count = readIndices.size(0);
    }

    /// <summary>Number of batch rows (real and padding).</summary>
    public long Count { get; }

    /// <summary>The device the indices live on (the device of the caches they address).</summary>
    public Device Device => ReadIndices.device;

    /// <summary>Block of each row, padding clamped to block 0 (its reads are masked): int64 [batch].</summary>
    internal Tensor ReadIndices { get; }

    /// <summary>Whether each row is real (not padding): bool [batch].</summary>
    internal Tensor Valid { get; }

    /// <summary>Row whose value each row writes (itself, or the first real row for padding); null when no row is padding.</summary>
    internal Tensor? WriteRows { get; }

    /// <summary>Block each row writes; null when no row is padding (then <see cref="ReadIndices"/> is used).</summary>
    internal Tensor? WriteIndices { get; }

    /// <summary>Known on the host only when built from host indices: false means nothing is written at all.</summary>
    internal bool? AnyValid { get; }

    /// <summary>Slots from host state indices: no kernels, two to four small asynchronous uploads (pinned memory).</summary>
    /// <param name="stateIndices">Block of each batch row, or <see cref="PadSlotId"/>.</param>
    /// <param name="device">The device of the state caches.</param>
    public static StateSlots FromHost(ReadOnlySpan<int> stateIndices, Device device)
    {
        int n = stateIndices.Length;
        var read = new long[n];
        var valid = new bool[n];
        int firstValid = -1;
        for (int i = 0; i < n; i++)
        {
            int s = stateIndices[i];
            if (s < PadSlotId)
            {
                throw new ArgumentException($"State index {s} at batch row {i} is negative and not PAD_SLOT_ID ({PadSlotId}).", nameof(stateIndices));
            }

            valid[i] = s != PadSlotId;
            read[i] = Math.Max(s, 0);
            if (valid[i] && firstValid < 0)
            {
                firstValid = i;
            }
        }

        var readT = OpArgs.Upload(read, device);
        var validT = OpArgs.Upload(valid, device);
        if (firstValid < 0 || Array.TrueForAll(valid, v => v))
        {
            return new StateSlots(readT, validT, null, null, firstValid >= 0);
        }

        var rows = new long[n];
        var write = new long[n];
        for (int i = 0; i < n; i++)
        {
            rows[i] = valid[i] ? i : firstValid;
            write[i] = read[rows[i]];
        }

        return new StateSlots(readT, validT, OpArgs.Upload(rows, device), OpArgs.Upload(write, device), true);
    }

    /// <summary>Slots from device state indices, without a host sync (a handful of tiny kernels; build once per step).</summary>
    /// <param name="stateIndices">int32 or int64 [batch]: block of each row, or <see cref="PadSlotId"/>.</param>
    public static StateSlots FromDevice(Tensor stateIndices)
    {
        if (stateIndices.dim() != 1 || (stateIndices.dtype != ScalarType.Int32 && stateIndices.dtype != ScalarType.Int64))
        {
            throw new ArgumentException($"State indices must be int32/int64 [batch]; got {stateIndices.dtype} [{string.Join(", ", stateIndices.shape)}].", nameof(stateIndices));
        }

        using var scope = torch.NewDisposeScope();
        var idx = stateIndices.to(ScalarType.Int64);
        var valid = idx.ne(PadSlotId);
        var read = idx.clamp(min: 0);
        // First real row (argmax of the mask picks it; row 0 when there is none).
        var first = valid.to(ScalarType.Int32).argmax();
        var rows = torch.where(valid, torch.arange(idx.size(0), dtype: ScalarType.Int64, device: idx.device), first);
        var write = read.index_select(0, rows);
        var slots = new StateSlots(read, valid, rows, write, null);
        read.MoveToOuterDisposeScope();
        valid.MoveToOuterDisposeScope();
        rows.MoveToOuterDisposeScope();
        write.MoveToOuterDisposeScope();
        return slots;
    }

    /// <summary>Whether <see cref="Scatter"/> needs the gathered states unchanged (only when padding may be present).</summary>
    internal bool NeedsGatheredStates => WriteRows is not null;

    /// <summary>
    /// The gathered states as fp32, safe to update in place: the gathered copy itself when nothing else needs it.
    /// </summary>
    internal Tensor Fp32Working(Tensor gathered) =>
        gathered.dtype == ScalarType.Float32 && NeedsGatheredStates ? gathered.clone() : gathered.to(ScalarType.Float32);

    /// <summary>Each row's stored state (a copy; padding rows read block 0): [batch, ...].</summary>
    internal Tensor Gather(Tensor cache) => cache.index_select(0, ReadIndices);

    /// <summary>
    /// <paramref name="gathered"/> (from <see cref="Gather"/>) where the row is real and <paramref name="hasInitialState"/>
    /// holds, else zeros, in the gathered dtype: a reused block's dirty contents never leak into a fresh sequence.
    /// </summary>
    internal Tensor Masked(Tensor gathered, Tensor? hasInitialState)
    {
        using var scope = torch.NewDisposeScope();
        var use = hasInitialState is null ? Valid : Valid.logical_and(hasInitialState.to(ScalarType.Bool));
        var shape = new long[gathered.dim()];
        Array.Fill(shape, 1L);
        shape[0] = Count;
        var zero = torch.zeros(1, dtype: gathered.dtype, device: gathered.device);
        return torch.where(use.view(shape), gathered, zero).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Writes <paramref name="states"/> [batch, ...] to the rows' blocks of <paramref name="cache"/> in place, in the
    /// cache's dtype. <paramref name="gathered"/> is <see cref="Gather"/>'s result from before the update (used only
    /// to make an all-padding batch write each block's own contents back).
    /// </summary>
    internal void Scatter(Tensor cache, Tensor states, Tensor gathered)
    {
        if (AnyValid == false)
        {
            return;
        }

        using var scope = torch.NewDisposeScope();
        var values = states.to(cache.dtype);
        if (WriteRows is null)
        {
            cache.index_copy_(0, ReadIndices, values);
            return;
        }

        var shape = new long[values.dim()];
        Array.Fill(shape, 1L);
        shape[0] = Count;
        var kept = torch.where(Valid.view(shape), values, gathered.to(cache.dtype));
        cache.index_copy_(0, WriteIndices!, kept.index_select(0, WriteRows));
    }

    /// <summary>Checks that the slots fit a batch of <paramref name="batch"/> rows and the cache's device.</summary>
    internal void Check(long batch, Tensor cache, string cacheName)
    {
        if (Count != batch)
        {
            throw new ArgumentException($"State slots cover {Count} rows but the batch has {batch}.");
        }

        if (cache.device_type != Device.type || cache.device_index != Device.index)
        {
            throw new ArgumentException($"{cacheName} is on {cache.device} but the state slots are on {Device}.");
        }
    }

    /// <summary>Takes the slots' tensors out of any dispose scope (slots built lazily inside a layer outlive it).</summary>
    internal StateSlots DetachFromDisposeScope()
    {
        foreach (var t in new[] { ReadIndices, Valid, WriteRows, WriteIndices })
        {
            t?.DetachFromDisposeScope();
        }

        return this;
    }

    public void Dispose()
    {
        ReadIndices.Dispose();
        Valid.Dispose();
        WriteRows?.Dispose();
        WriteIndices?.Dispose();
    }
}
