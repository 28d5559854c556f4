using System;
using MambaGen;
using MambaGen.Backends;
using MambaGen.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace CustomLayers;

/// <summary>
/// MiniMax-style "lightning" linear attention (vLLM §5.6): per head a D×D state decays by a fixed slope and
/// accumulates kᵀv; the output reads it with q. One state, so the mamba type is linear_attention. As an
/// <see cref="IMambaMixer"/> a hybrid model places it wherever a config's layer types name its registered type, and
/// the engine runs it on its own cache group's metadata.
/// </summary>
[MambaLayer("linear_attention")]
public sealed partial class LightningAttention : MambaBase, IMambaMixer
{
    private readonly Linear qkv_proj;
    private readonly Linear out_proj;
    private readonly Tensor slope;

    public LightningAttention(string name, EngineConfig config, int hiddenSize, int numHeads, int headDim, ScalarType dtype = ScalarType.Float32)
        : base(name, config)
    {
        NumHeads = numHeads;
        HeadDim = headDim;
        qkv_proj = nn.Linear(hiddenSize, 3 * numHeads * headDim, hasBias: false, dtype: dtype);
        out_proj = nn.Linear(numHeads * headDim, hiddenSize, hasBias: false, dtype: dtype);
        // ALiBi-style slopes: head h decays by exp(-2^(-8(h+1)/H)) per token.
        slope = torch.pow(2.0, -8.0 * (torch.arange(1, numHeads + 1, dtype: ScalarType.Float32) / numHeads));
        RegisterComponents();
    }

    public int NumHeads { get; }

    public int HeadDim { get; }

    /// <summary>The KV state: [heads / tp, D, D], from vLLM's calculator.</summary>
    [StateTensor]
    public long[] KvState => MambaStateShapeCalculator.LinearAttention(NumHeads, Config.Parallel.TensorParallelSize, HeadDim);

    /// <summary>One decode step for a batch of sequences, each reading and writing its block of the KV state.</summary>
    /// <param name="hidden">[batch, hidden]</param>
    /// <param name="blocks">[batch] block index of each sequence.</param>
    public Tensor Step(Tensor hidden, Tensor blocks)
    {
        using var scope = torch.NewDisposeScope();
        var qkv = nn.functional.silu(qkv_proj.forward(hidden)).view(hidden.shape[0], 3, NumHeads, HeadDim);
        Tensor q = qkv[.., 0], k = qkv[.., 1], v = qkv[.., 2];
        var state = KvStateTensor.index_select(0, blocks).to(ScalarType.Float32);
        var decay = torch.exp(-slope).view(1, NumHeads, 1, 1);
        state = decay * state + k.unsqueeze(-1) * v.unsqueeze(-2);
        KvStateTensor.index_copy_(0, blocks, state.to(KvStateTensor.dtype));
        var o = torch.einsum("bhd,bhde->bhe", q, state).reshape(hidden.shape[0], NumHeads * HeadDim);
        return out_proj.forward(o.to(hidden.dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// One engine step (vLLM's batch layout): the decodes as one <see cref="Step"/> on their blocks, then each prefill
    /// token by token from its stored state, or from zeros when it starts (a reused block holds another request's state).
    /// </summary>
    public Tensor Forward(Tensor hidden, MambaAttentionMetadata metadata)
    {
        using var scope = torch.NewDisposeScope();
        var parts = new System.Collections.Generic.List<Tensor>();
        if (metadata.NumDecodes > 0)
        {
            parts.Add(Step(hidden.narrow(0, 0, metadata.NumDecodes), metadata.StateIndicesDTensor));
        }

        for (int p = 0; p < metadata.NumPrefills; p++)
        {
            var block = metadata.StateIndicesPTensor.narrow(0, p, 1);
            if (!metadata.HasInitialStatesP[p])
            {
                KvStateTensor.index_fill_(0, block, 0);
            }

            int start = metadata.NumDecodeTokens + metadata.QueryStartLocP[p];
            for (int t = start; t < metadata.NumDecodeTokens + metadata.QueryStartLocP[p + 1]; t++)
            {
                parts.Add(Step(hidden.narrow(0, t, 1), block));
            }
        }

        return torch.cat(parts.ToArray(), 0).MoveToOuterDisposeScope();
    }

    /// <summary>The same layer as one quadratic "attention" over a whole sequence: o_t = Σ_{s≤t} e^{-slope(t-s)} (q_t·k_s) v_s.</summary>
    /// <param name="sequence">[tokens, hidden]</param>
    public Tensor Quadratic(Tensor sequence)
    {
        using var scope = torch.NewDisposeScope();
        long n = sequence.shape[0];
        var qkv = nn.functional.silu(qkv_proj.forward(sequence)).view(n, 3, NumHeads, HeadDim);
        Tensor q = qkv[.., 0], k = qkv[.., 1], v = qkv[.., 2];
        var t = torch.arange(n, dtype: ScalarType.Float32);
        var age = (t.unsqueeze(1) - t.unsqueeze(0)).unsqueeze(0);
        var weight = torch.exp(-slope.view(-1, 1, 1) * age).tril();
        var scores = torch.einsum("thd,shd->hts", q, k) * weight;
        var o = torch.einsum("hts,she->the", scores, v).reshape(n, NumHeads * HeadDim);
        return out_proj.forward(o).MoveToOuterDisposeScope();
    }
}
