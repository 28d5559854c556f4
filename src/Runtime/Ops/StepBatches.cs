using System;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// The decodes of one step as the ops see them: one token per row, each row's state block. Built once per step by the
/// backend's metadata builder and shared by every layer; what only the reference ops need is built on first use.
/// </summary>
public sealed class DecodeBatch : IDisposable
{
    private readonly int[] _stateIndices;
    private StateSlots? _slots;

    /// <param name="stateIndices">Block of each row, or <see cref="StateSlots.PadSlotId"/> for padding (host).</param>
    /// <param name="stateIndicesTensor">The same as int64 on the device; the batch does not own it.</param>
    public DecodeBatch(int[] stateIndices, Tensor stateIndicesTensor)
    {
        _stateIndices = stateIndices ?? throw new ArgumentNullException(nameof(stateIndices));
        MaxStateIndex = HighestBlock(stateIndices);
        StateIndices = stateIndicesTensor ?? throw new ArgumentNullException(nameof(stateIndicesTensor));
        if (stateIndicesTensor.dim() != 1 || stateIndicesTensor.size(0) != stateIndices.Length)
        {
            throw new ArgumentException($"Decode state indices on the device are [{string.Join(", ", stateIndicesTensor.shape)}] but the host has {stateIndices.Length}.", nameof(stateIndicesTensor));
        }
    }

    public int Count => _stateIndices.Length;

    /// <summary>Block of each row on the host, <see cref="StateSlots.PadSlotId"/> for padding: what CPU kernels read.</summary>
    public ReadOnlySpan<int> HostStateIndices => _stateIndices;

    /// <summary>The same array, for CPU loops that hand it to worker threads (a span cannot cross them); read only.</summary>
    internal int[] HostStateIndexArray => _stateIndices;

    /// <summary>The highest block a row addresses (-1 when all rows are padding): kernels check it against the cache.</summary>
    public int MaxStateIndex { get; }

    /// <summary>int64 [Count] on the device, <see cref="StateSlots.PadSlotId"/> for padding: what kernels read.</summary>
    public Tensor StateIndices { get; }

    /// <summary>The rows' blocks as the reference ops gather and scatter them (uploaded on first use).</summary>
    public StateSlots Slots => _slots ??= StateSlots.FromHost(_stateIndices, StateIndices.device).DetachFromDisposeScope();

    public void Dispose() => _slots?.Dispose();

    /// <summary>The highest block of a batch (-1 when all rows are padding), computed once per step, not per layer.</summary>
    internal static int HighestBlock(int[] stateIndices)
    {
        int max = -1;
        foreach (int s in stateIndices)
        {
            max = Math.Max(max, s);
        }

        return max;
    }
}

/// <summary>
/// The prefills of one step as the ops see them: packed varlen tokens, each sequence's state block and whether it
/// resumes a stored state. Built once per step; the reference ops' index plans are built on first use and shared by
/// every layer.
/// </summary>
public sealed class PrefillBatch : IDisposable
{
    private readonly int[] _stateIndices;
    private StateSlots? _slots;
    private PrefillChunks? _chunks;

    /// <param name="queryStartLoc">Prefill-local token offsets [B+1] (host).</param>
    /// <param name="queryStartLocTensor">The same as int64 on the device (not owned).</param>
    /// <param name="stateIndices">Block of each sequence or <see cref="StateSlots.PadSlotId"/> (host).</param>
    /// <param name="stateIndicesTensor">The same as int64 on the device (not owned).</param>
    /// <param name="hasInitialState">bool [B] on the device (not owned).</param>
    /// <param name="chunkLayout">The SSD chunks of these tokens, for backends that chunk (Mamba2); else null.</param>
    public PrefillBatch(int[] queryStartLoc, Tensor queryStartLocTensor, int[] stateIndices, Tensor stateIndicesTensor, Tensor hasInitialState, Mamba2ChunkLayout? chunkLayout)
    {
        QueryStartLoc = queryStartLoc ?? throw new ArgumentNullException(nameof(queryStartLoc));
        _stateIndices = stateIndices ?? throw new ArgumentNullException(nameof(stateIndices));
        MaxStateIndex = DecodeBatch.HighestBlock(stateIndices);
        if (queryStartLoc.Length != stateIndices.Length + 1)
        {
            throw new ArgumentException($"A prefill batch of {stateIndices.Length} sequences needs {stateIndices.Length + 1} query start offsets; got {queryStartLoc.Length}.", nameof(queryStartLoc));
        }

        QueryStartLocTensor = queryStartLocTensor ?? throw new ArgumentNullException(nameof(queryStartLocTensor));
        StateIndices = stateIndicesTensor ?? throw new ArgumentNullException(nameof(stateIndicesTensor));
        HasInitialState = hasInitialState ?? throw new ArgumentNullException(nameof(hasInitialState));
        ChunkLayout = chunkLayout;
        for (int s = 0; s < stateIndices.Length; s++)
        {
            LongestSequence = Math.Max(LongestSequence, queryStartLoc[s + 1] - queryStartLoc[s]);
        }
    }

    /// <summary>Sequences in the batch.</summary>
    public int Count => _stateIndices.Length;

    /// <summary>Each sequence's block (host), for the CPU loops.</summary>
    internal int[] HostStateIndexArray => _stateIndices;

    public int NumTokens => QueryStartLoc[^1];

    /// <summary>The most tokens one sequence has in this step (0 when there are none): kernels size grids and blocks by it.</summary>
    public int LongestSequence { get; }

    /// <summary>The highest block a sequence addresses (-1 when all are padding): kernels check it against the cache.</summary>
    public int MaxStateIndex { get; }

    /// <summary>Prefill-local token offsets [Count + 1] (host).</summary>
    public int[] QueryStartLoc { get; }

    /// <summary>int64 [Count + 1] on the device.</summary>
    public Tensor QueryStartLocTensor { get; }

    /// <summary>int64 [Count] on the device, <see cref="StateSlots.PadSlotId"/> for padding.</summary>
    public Tensor StateIndices { get; }

    /// <summary>bool [Count] on the device: start from the stored state (true) or from zeros.</summary>
    public Tensor HasInitialState { get; }

    /// <summary>The SSD chunk layout (Mamba2 backends); null where the backend does not chunk.</summary>
    public Mamba2ChunkLayout? ChunkLayout { get; }

    /// <summary>The sequences' blocks as the reference ops gather and scatter them (uploaded on first use).</summary>
    public StateSlots Slots => _slots ??= StateSlots.FromHost(_stateIndices, StateIndices.device).DetachFromDisposeScope();

    /// <summary>The batch in chunks of at most <paramref name="chunkTokens"/> tokens (built and uploaded on first use, then shared by every layer).</summary>
    public PrefillChunks Chunks(int chunkTokens)
    {
        if (_chunks is null || _chunks.ChunkTokens != chunkTokens)
        {
            _chunks?.Dispose();
            _chunks = new PrefillChunks(QueryStartLoc, chunkTokens, QueryStartLocTensor.device);
        }

        return _chunks;
    }

    public void Dispose()
    {
        _slots?.Dispose();
        _chunks?.Dispose();
    }
}
