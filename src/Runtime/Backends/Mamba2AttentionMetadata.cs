using MambaGen.Ops;
using static TorchSharp.torch;

namespace MambaGen.Backends;

/// <summary>
/// vLLM's <c>Mamba2AttentionMetadata</c>: the base metadata plus how the SSD op cuts the prefill tokens into chunks
/// (<see cref="Mamba2ChunkLayout"/>). Chunks never span two prefills and end on absolute multiples of
/// <see cref="ChunkSize"/>, so the state at the end of each prefill is that of its last chunk.
/// </summary>
public sealed class Mamba2AttentionMetadata : MambaAttentionMetadata
{
    public Mamba2AttentionMetadata(CommonAttentionMetadata common, int chunkSize, Device device, MambaOps? ops = null, Tensor? stateIndices = null)
        : base(common, device, ops, stateIndices)
    {
        try
        {
            ChunkSize = chunkSize;
            var layout = Mamba2ChunkLayout.Compute(NumComputedTokensP, NumPrefillTokensOfEach(), chunkSize);
            ChunkLayout = layout;
            CuChunkSeqlenP = layout.CuChunkSeqlen;
            SeqIdxP = layout.SeqIdx;
            LastChunkIndicesP = layout.LastChunkIndices;
            PrepInitialStates = System.Array.IndexOf(HasInitialStatesP, true) >= 0;
            CuChunkSeqlenPTensor = Own(CuChunkSeqlenP);
            SeqIdxPTensor = Own(SeqIdxP);
            LastChunkIndicesPTensor = Own(LastChunkIndicesP);
        }
        catch
        {
            // The base already owns device tensors; free them rather than leak them with the half-built object.
            Dispose();
            throw;
        }
    }

    /// <summary>The chunks of this step's prefills, as the SSD op takes them.</summary>
    public Mamba2ChunkLayout ChunkLayout { get; }

    /// <summary>The SSD chunk size, a power of two.</summary>
    public int ChunkSize { get; }

    /// <summary>Whether any prefill resumes a stored state, so the SSD must gather initial states at all.</summary>
    public bool PrepInitialStates { get; }

    public int NumChunks => SeqIdxP.Length;

    protected override Mamba2ChunkLayout? PrefillChunkLayout => ChunkLayout;

    /// <summary>Prefill-local token offset where each chunk starts, plus the total: [num_chunks + 1].</summary>
    public int[] CuChunkSeqlenP { get; }

    /// <summary>Prefill (0-based among prefills) each chunk belongs to: [num_chunks].</summary>
    public int[] SeqIdxP { get; }

    /// <summary>Index of each prefill's last chunk: [num_prefills].</summary>
    public int[] LastChunkIndicesP { get; }

    /// <summary>int64 [num_chunks + 1].</summary>
    public Tensor CuChunkSeqlenPTensor { get; }

    /// <summary>int64 [num_chunks].</summary>
    public Tensor SeqIdxPTensor { get; }

    /// <summary>int64 [num_prefills].</summary>
    public Tensor LastChunkIndicesPTensor { get; }

    private int[] NumPrefillTokensOfEach()
    {
        var n = new int[NumPrefills];
        for (int i = 0; i < n.Length; i++)
        {
            n[i] = QueryStartLocP[i + 1] - QueryStartLocP[i];
        }

        return n;
    }
}
