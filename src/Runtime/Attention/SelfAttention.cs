using System;
using System.Linq;
using MambaGen.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Attention;

/// <summary>
/// Causal self-attention over a paged KV cache (vLLM's <c>Attention</c> with its model's q/k/v/o projections): GQA,
/// RoPE (full or partial) or none, optional per-head QK RMSNorm, a configurable softmax scale. Each step writes the
/// new tokens' K and V at their slots, then attends over the pages the block tables name: the decodes in one batched
/// call, each prefill (whole or a chunk on top of cached tokens) with its causal mask.
/// </summary>
public sealed class SelfAttention : nn.Module
{
    // Arrays of modules, not fields: TorchSharp registers such fields under their C# names, and these go under the
    // checkpoint's names instead (register_module below). Modules, never parameters: moving a module to another
    // device or dtype replaces its parameters, so a kept parameter would be the disposed old one.
    private readonly Linear[] _projections;
    private readonly Layers.RmsNorm[] _qkNorms;
    private readonly Tensor?[] _kvCache = new Tensor?[1];
    private readonly RotaryEmbedding? _rope;

    public SelfAttention(string name, SelfAttentionOptions options, ScalarType dtype)
        : base(name)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        var o = options;
        if (o.HiddenSize <= 0 || o.NumHeads <= 0 || o.NumKvHeads <= 0 || o.HeadDim <= 0)
        {
            throw new ArgumentException($"Attention layer '{name}': sizes must be positive (hidden {o.HiddenSize}, heads {o.NumHeads}, KV heads {o.NumKvHeads}, head dim {o.HeadDim}).", nameof(options));
        }

        if (o.NumHeads % o.NumKvHeads != 0)
        {
            throw new ArgumentException($"Attention layer '{name}': {o.NumHeads} query heads do not split into groups of {o.NumKvHeads} KV heads.", nameof(options));
        }

        if (o.Scale is { } s && !(s > 0 && double.IsFinite(s)))
        {
            throw new ArgumentException($"Attention layer '{name}': the softmax scale must be positive and finite; got {s}.", nameof(options));
        }

        Dtype = dtype;
        _projections = new[]
        {
            nn.Linear(o.HiddenSize, checked(o.NumHeads * o.HeadDim), hasBias: o.Bias, dtype: dtype),
            nn.Linear(o.HiddenSize, checked(o.NumKvHeads * o.HeadDim), hasBias: o.Bias, dtype: dtype),
            nn.Linear(o.HiddenSize, checked(o.NumKvHeads * o.HeadDim), hasBias: o.Bias, dtype: dtype),
            nn.Linear(o.NumHeads * o.HeadDim, o.HiddenSize, hasBias: o.Bias, dtype: dtype),
        };
        register_module("q_proj", QProj);
        register_module("k_proj", KProj);
        register_module("v_proj", VProj);
        register_module(o.OutputProjectionName, OProj);
        _qkNorms = Array.Empty<Layers.RmsNorm>();
        if (o.QkNorm)
        {
            _qkNorms = new[] { new Layers.RmsNorm(o.QkNormNames.Q, o.HeadDim, o.NormEps, dtype), new Layers.RmsNorm(o.QkNormNames.K, o.HeadDim, o.NormEps, dtype) };
            register_module(o.QkNormNames.Q, _qkNorms[0]);
            register_module(o.QkNormNames.K, _qkNorms[1]);
        }

        _rope = o.RotaryDim is { } rotary ? new RotaryEmbedding(o.HeadDim, rotary, o.RopeTheta) : null;
    }

    public SelfAttentionOptions Options { get; }

    public ScalarType Dtype { get; }

    /// <summary>Null for NoPE.</summary>
    public RotaryEmbedding? Rope => _rope;

    public Linear QProj => _projections[0];

    public Linear KProj => _projections[1];

    public Linear VProj => _projections[2];

    public Linear OProj => _projections[3];

    public Tensor? QNormWeight => _qkNorms.Length > 0 ? _qkNorms[0].Weight : null;

    public Tensor? KNormWeight => _qkNorms.Length > 0 ? _qkNorms[1].Weight : null;

    /// <summary>The softmax scale used: <see cref="SelfAttentionOptions.Scale"/> or 1/√head_dim.</summary>
    public double Scale => Options.Scale ?? 1.0 / Math.Sqrt(Options.HeadDim);

    /// <summary>This layer's cache spec at a block size.</summary>
    public AttentionSpec KvCacheSpec(int blockSize) => new(blockSize, Options.NumKvHeads, Options.HeadDim, Dtype);

    /// <summary>The bound cache, [num_blocks, 2, block_size, num_kv_heads, head_dim]; null until bound.</summary>
    public Tensor? KvCache => _kvCache[0];

    /// <summary>Binds the layer's K/V pages (not owned: the cache that made them frees them); null unbinds.</summary>
    public void BindKvCache(Tensor? kvCache)
    {
        if (kvCache is not null)
        {
            var o = Options;
            if (kvCache.dim() != 5 || kvCache.shape[1] != 2 || kvCache.shape[3] != o.NumKvHeads || kvCache.shape[4] != o.HeadDim)
            {
                throw new ArgumentException($"Attention layer '{GetName()}': the KV cache must be [num_blocks, 2, block_size, {o.NumKvHeads}, {o.HeadDim}] but is [{string.Join(", ", kvCache.shape)}].", nameof(kvCache));
            }

            if (kvCache.dtype != Dtype)
            {
                throw new ArgumentException($"Attention layer '{GetName()}': the KV cache must be {Dtype} (the layer's dtype) but is {kvCache.dtype}.", nameof(kvCache));
            }
        }

        _kvCache[0] = kvCache;
    }

    /// <summary>One step over the batch.</summary>
    /// <param name="hidden">[num_actual_tokens, hidden], decodes first, then prefills.</param>
    /// <param name="metadata">The step's attention metadata (shared by the group's layers).</param>
    /// <param name="linear">The projections' ops.</param>
    /// <returns>[num_actual_tokens, hidden].</returns>
    public Tensor Forward(Tensor hidden, AttentionMetadata metadata, ILinearOps linear)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(linear);
        var o = Options;
        Check(hidden, metadata);
        var kv = _kvCache[0]!;
        using var scope = torch.NewDisposeScope();
        int tokens = metadata.NumActualTokens;
        var q = linear.Linear(hidden, QProj.weight!, QProj.bias).view(tokens, o.NumHeads, o.HeadDim);
        var k = linear.Linear(hidden, KProj.weight!, KProj.bias).view(tokens, o.NumKvHeads, o.HeadDim);
        var v = linear.Linear(hidden, VProj.weight!, VProj.bias).view(tokens, o.NumKvHeads, o.HeadDim);
        if (_qkNorms.Length > 0)
        {
            q = RmsNormMath.Forward(q, _qkNorms[0].Weight, o.NormEps);
            k = RmsNormMath.Forward(k, _qkNorms[1].Weight, o.NormEps);
        }

        if (_rope is not null)
        {
            var (cos, sin) = metadata.RotaryAngles(_rope);
            q = _rope.Apply(q, cos, sin);
            k = _rope.Apply(k, cos, sin);
        }

        var kCache = kv.select(1, 0);
        var vCache = kv.select(1, 1);
        k = k.to(kv.dtype);
        v = v.to(kv.dtype);
        if (metadata.DecodeRealRows is { } real)
        {
            // A decode graph's padding rows write back what their slot holds.
            var keep = real.view(-1, 1, 1);
            k = torch.where(keep, k, kCache.index(TensorIndex.Tensor(metadata.SlotBlocks), TensorIndex.Tensor(metadata.SlotOffsets)));
            v = torch.where(keep, v, vCache.index(TensorIndex.Tensor(metadata.SlotBlocks), TensorIndex.Tensor(metadata.SlotOffsets)));
        }

        kCache.index_put_(k, metadata.SlotBlocks, metadata.SlotOffsets);
        vCache.index_put_(v, metadata.SlotBlocks, metadata.SlotOffsets);

        // SDPA scales by 1/√head_dim; another scale goes into q.
        if (o.Scale is { } scale)
        {
            q = q * (scale * Math.Sqrt(o.HeadDim));
        }

        int rep = o.NumHeads / o.NumKvHeads;
        int bs = metadata.BlockSize;
        var outputs = new Tensor[(metadata.NumDecodes > 0 ? 1 : 0) + metadata.NumPrefills - metadata.FreshPrefillRuns.Sum(r => r.Count - 1)];
        int at = 0;
        if (metadata.NumDecodes > 0)
        {
            int nd = metadata.NumDecodes;
            var table = metadata.DecodeBlockTable!;
            long keys = table.shape[1] * bs;
            Tensor Gather(Tensor cache) => RepeatKv(cache.index_select(0, table.flatten()).view(nd, keys, o.NumKvHeads, o.HeadDim)
                .permute(0, 2, 1, 3), rep, 1);
            var qd = q.narrow(0, 0, nd).unsqueeze(2);
            var y = nn.functional.scaled_dot_product_attention(qd, Gather(kCache), Gather(vCache), metadata.DecodeKeyMask);
            outputs[at++] = y.view(nd, o.NumHeads * o.HeadDim);
        }

        int run = 0;
        for (int p = 0; p < metadata.NumPrefills; p++)
        {
            if (run < metadata.FreshPrefillRuns.Count && metadata.FreshPrefillRuns[run].FirstPrefill == p)
            {
                // Fresh prefills see only their own new keys: one causal attention for the run, straight from q, k, v.
                var (_, n, length, first) = metadata.FreshPrefillRuns[run++];
                Tensor Heads(Tensor t, long heads) =>
                    t.narrow(0, first, n * length).view(n, length, heads, o.HeadDim).permute(0, 2, 1, 3);
                var fresh = nn.functional.scaled_dot_product_attention(Heads(q, o.NumHeads), RepeatKv(Heads(k, o.NumKvHeads), rep, 1),
                    RepeatKv(Heads(v, o.NumKvHeads), rep, 1), is_casual: true);
                outputs[at++] = fresh.permute(0, 2, 1, 3).reshape(n * length, o.NumHeads * o.HeadDim);
                p += n - 1;
                continue;
            }

            int i = metadata.NumDecodes + p;
            int start = metadata.QueryStartLoc[i], nq = metadata.QueryStartLoc[i + 1] - start, seqLen = metadata.SeqLens[i];
            var blocks = metadata.PrefillBlocks[p]!;
            Tensor Gather(Tensor cache) => RepeatKv(cache.index_select(0, blocks).view(blocks.shape[0] * bs, o.NumKvHeads, o.HeadDim)
                .narrow(0, 0, seqLen).permute(1, 0, 2), rep, 0);
            var qp = q.narrow(0, start, nq).permute(1, 0, 2);
            var y = nn.functional.scaled_dot_product_attention(qp, Gather(kCache), Gather(vCache), metadata.PrefillMasks[p]!);
            outputs[at++] = y.permute(1, 0, 2).reshape(nq, o.NumHeads * o.HeadDim);
        }

        var attn = outputs.Length == 1 ? outputs[0] : torch.cat(outputs, 0);
        return linear.Linear(attn.to(hidden.dtype), OProj.weight!, OProj.bias).MoveToOuterDisposeScope();
    }

    /// <summary>Each KV head repeated <paramref name="rep"/> times in place along <paramref name="dim"/> (GQA), as
    /// repeat_interleave does, by an expand: no repeat counts to read back, so a decode graph can capture it.</summary>
    private static Tensor RepeatKv(Tensor t, int rep, int dim)
    {
        if (rep == 1)
        {
            return t;
        }

        var shape = t.shape.ToList();
        var expanded = shape.ToList();
        expanded.Insert(dim + 1, rep);
        shape[dim] *= rep;
        return t.unsqueeze(dim + 1).expand(expanded.ToArray()).reshape(shape.ToArray());
    }

    private void Check(Tensor hidden, AttentionMetadata metadata)
    {
        if (hidden.dim() != 2 || hidden.shape[1] != Options.HiddenSize)
        {
            throw new ArgumentException($"Attention layer '{GetName()}': hidden states must be [tokens, {Options.HiddenSize}] but are [{string.Join(", ", hidden.shape)}].", nameof(hidden));
        }

        if (hidden.dtype != Dtype)
        {
            throw new ArgumentException($"Attention layer '{GetName()}': hidden states are {hidden.dtype} but the layer's weights are {Dtype}.", nameof(hidden));
        }

        if (hidden.shape[0] != metadata.NumActualTokens)
        {
            throw new ArgumentException($"Attention layer '{GetName()}': the step's metadata schedules {metadata.NumActualTokens} tokens but the hidden states hold {hidden.shape[0]}.", nameof(metadata));
        }

        var kvCache = _kvCache[0];
        if (kvCache is null)
        {
            throw new InvalidOperationException($"Attention layer '{GetName()}' has no KV cache bound; bind one (a hybrid cache binds its layers) before a forward.");
        }

        if (kvCache.shape[2] != metadata.BlockSize)
        {
            throw new ArgumentException($"Attention layer '{GetName()}': the metadata's block size is {metadata.BlockSize} tokens but the bound cache's is {kvCache.shape[2]}.", nameof(metadata));
        }

        // A block past the cache would fail in a gather that names no layer, or write past the layer's pages.
        if (metadata.MaxBlockId >= kvCache.shape[0])
        {
            throw new ArgumentException($"Attention layer '{GetName()}': the step uses attention block {metadata.MaxBlockId} but the bound cache has {kvCache.shape[0]} blocks.", nameof(metadata));
        }
    }
}
