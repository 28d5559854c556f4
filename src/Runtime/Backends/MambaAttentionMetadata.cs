using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Backends;

/// <summary>
/// vLLM's <c>BaseMambaAttentionMetadata</c>: what a mamba layer needs to run one step, built once per step and shared
/// by every layer of the backend's type. Mamba1 and short-conv layers read exactly this; Mamba2 reads
/// <see cref="Mamba2AttentionMetadata"/>.
/// <para>
/// The batch is decodes first, then prefills. A layer splits its flattened input <c>x [num_actual_tokens, ...]</c> as
/// <c>x[..NumDecodeTokens]</c> (one token per decode) and <c>x[NumDecodeTokens..]</c> (the prefills, varlen by
/// <see cref="QueryStartLocP"/>). A row whose state index is <see cref="ScheduledRequest.PadSlotId"/> is padding:
/// the layer must neither read nor write any state for it.
/// </para>
/// <para>
/// Host arrays give sizes and slice bounds without a device sync; the <c>...Tensor</c> twins hold the same values on
/// <see cref="Device"/> as int64 (bool for flags), ready for <c>index_select</c>/<c>index_copy_</c>. The metadata owns
/// its tensors: they live outside any dispose scope until <see cref="Dispose()"/>, which the engine calls after the step.
/// </para>
/// </summary>
public class MambaAttentionMetadata : IDisposable
{
    private readonly List<Tensor> _tensors = new();

    private DecodeBatch? _decode;
    private PrefillBatch? _prefill;

    /// <summary>Derives the metadata of <paramref name="common"/> and puts its tensors on <paramref name="device"/>.</summary>
    /// <param name="common">The step.</param>
    /// <param name="device">The layers' device.</param>
    /// <param name="ops">The op implementations the layers call this step; <see cref="MambaOps.Reference"/> when null.</param>
    /// <param name="stateIndices">
    /// The requests' state blocks already on the device (int64 [num_reqs], not owned), for a step replayed from a static
    /// buffer; uploaded from <paramref name="common"/> when null.
    /// </param>
    public MambaAttentionMetadata(CommonAttentionMetadata common, Device device, MambaOps? ops = null, Tensor? stateIndices = null)
    {
        Ops = ops ?? MambaOps.Reference;
        ArgumentNullException.ThrowIfNull(common);
        Device = device ?? throw new ArgumentNullException(nameof(device));
        NumReqs = common.NumReqs;
        NumActualTokens = common.NumActualTokens;
        NumDecodes = common.NumDecodes;
        NumDecodeTokens = common.NumDecodeTokens;
        NumPrefills = common.NumPrefills;
        NumPrefillTokens = common.NumPrefillTokens;

        QueryStartLoc = (int[])common.QueryStartLoc.Clone();
        SeqLens = (int[])common.SeqLens.Clone();
        QueryStartLocP = common.QueryStartLoc.Skip(NumDecodes).Select(q => q - NumDecodeTokens).ToArray();
        NumComputedTokensP = common.NumComputedTokens.Skip(NumDecodes).ToArray();
        HasInitialStatesP = NumComputedTokensP.Select(c => c > 0).ToArray();
        StateIndices = (int[])common.StateBlockIds.Clone();
        StateIndicesD = StateIndices.Take(NumDecodes).ToArray();
        StateIndicesP = StateIndices.Skip(NumDecodes).ToArray();

        QueryStartLocTensor = Own(QueryStartLoc);
        QueryStartLocPTensor = Own(QueryStartLocP);
        HasInitialStatesPTensor = Own(torch.tensor(HasInitialStatesP, device: Device));
        if (stateIndices is not null && (stateIndices.dtype != ScalarType.Int64 || stateIndices.dim() != 1 || stateIndices.size(0) != NumReqs
            || stateIndices.device_type != Device.type || stateIndices.device_index != Device.index))
        {
            throw new ArgumentException($"Static state indices must be int64 [{NumReqs}] on {Device}; got {stateIndices.dtype} [{string.Join(", ", stateIndices.shape)}] on {stateIndices.device}.", nameof(stateIndices));
        }

        StateIndicesTensor = stateIndices ?? Own(StateIndices);
        StateIndicesDTensor = Own(StateIndicesTensor.narrow(0, 0, NumDecodes));
        StateIndicesPTensor = Own(StateIndicesTensor.narrow(0, NumDecodes, NumPrefills));
    }

    /// <summary>The op implementations the layers call this step (chosen by the builder for the device).</summary>
    public MambaOps Ops { get; }

    /// <summary>The device of the <c>...Tensor</c> members.</summary>
    public Device Device { get; }

    public int NumReqs { get; }

    /// <summary>Tokens in the step's flattened input: <c>NumDecodeTokens + NumPrefillTokens</c>.</summary>
    public int NumActualTokens { get; }

    public int NumDecodes { get; }

    /// <summary>Equals <see cref="NumDecodes"/>: a decode runs one token.</summary>
    public int NumDecodeTokens { get; }

    public int NumPrefills { get; }

    public int NumPrefillTokens { get; }

    /// <summary>Start of each request's tokens in the whole batch, plus the total: [num_reqs + 1].</summary>
    public int[] QueryStartLoc { get; }

    /// <summary>Computed plus scheduled tokens of each request: [num_reqs].</summary>
    public int[] SeqLens { get; }

    /// <summary>Prefill-local starts (<c>QueryStartLoc[NumDecodes..] - NumDecodeTokens</c>), plus the total: [num_prefills + 1].</summary>
    public int[] QueryStartLocP { get; }

    /// <summary>Tokens each prefill processed before this step: [num_prefills].</summary>
    public int[] NumComputedTokensP { get; }

    /// <summary>Whether each prefill resumes a stored state (<c>num_computed &gt; 0</c>); false means start from zeros
    /// and ignore the block's content, which may be stale: [num_prefills].</summary>
    public bool[] HasInitialStatesP { get; }

    /// <summary>Block of each request's running state, <see cref="ScheduledRequest.PadSlotId"/> for padding: [num_reqs].</summary>
    public int[] StateIndices { get; }

    /// <summary><see cref="StateIndices"/> of the decodes: [num_decodes].</summary>
    public int[] StateIndicesD { get; }

    /// <summary><see cref="StateIndices"/> of the prefills: [num_prefills].</summary>
    public int[] StateIndicesP { get; }

    /// <summary>int64 [num_reqs + 1].</summary>
    public Tensor QueryStartLocTensor { get; }

    /// <summary>int64 [num_prefills + 1].</summary>
    public Tensor QueryStartLocPTensor { get; }

    /// <summary>bool [num_prefills].</summary>
    public Tensor HasInitialStatesPTensor { get; }

    /// <summary>int64 [num_reqs].</summary>
    public Tensor StateIndicesTensor { get; }

    /// <summary>int64 [num_decodes], a view of <see cref="StateIndicesTensor"/>.</summary>
    public Tensor StateIndicesDTensor { get; }

    /// <summary>int64 [num_prefills], a view of <see cref="StateIndicesTensor"/>.</summary>
    public Tensor StateIndicesPTensor { get; }

    /// <summary>The decodes as the ops take them, built once per step for every layer.</summary>
    public DecodeBatch Decode => _decode ??= new DecodeBatch(StateIndicesD, StateIndicesDTensor);

    /// <summary>The prefills as the ops take them, built once per step for every layer.</summary>
    public PrefillBatch Prefill => _prefill ??= new PrefillBatch(QueryStartLocP, QueryStartLocPTensor, StateIndicesP, StateIndicesPTensor, HasInitialStatesPTensor, PrefillChunkLayout);

    /// <summary>The SSD chunks of the prefills, for backends whose ops chunk them; null here.</summary>
    protected virtual Mamba2ChunkLayout? PrefillChunkLayout => null;

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Puts <paramref name="values"/> on <see cref="Device"/> as an int64 tensor that this metadata owns.</summary>
    protected Tensor Own(int[] values) => Own(torch.tensor(values.Select(v => (long)v).ToArray(), dtype: ScalarType.Int64, device: Device));

    /// <summary>Takes <paramref name="tensor"/> out of any dispose scope; <see cref="Dispose()"/> frees it.</summary>
    protected Tensor Own(Tensor tensor)
    {
        tensor.DetachFromDisposeScope();
        _tensors.Add(tensor);
        return tensor;
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var t in _tensors)
            {
                t.Dispose();
            }

            _decode?.Dispose();
            _prefill?.Dispose();

            _tensors.Clear();
        }
    }
}
