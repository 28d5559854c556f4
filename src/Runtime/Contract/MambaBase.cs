using System;
using System.Collections.Generic;
using System.Linq;
using MambaGen.Backends;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen;

/// <summary>
/// The C# form of vLLM's <c>MambaBase</c> (model_executor/layers/mamba/abstract.py): a layer that keeps recurrent
/// state declares it by shape and dtype and gets a <see cref="MambaSpec"/> that sizes its cache pages. Mark a
/// <c>partial</c> subclass with <see cref="MambaLayerAttribute"/> and <see cref="StateTensorAttribute"/> members and
/// the MambaGen generator writes the abstract members.
/// </summary>
public abstract class MambaBase : nn.Module
{
    /// <summary>Model types whose mamba layers may run with speculative decoding (vLLM's allow list at v0.15).</summary>
    public static readonly IReadOnlyCollection<string> SpeculativeDecodingModelTypes = new HashSet<string>(StringComparer.Ordinal) { "qwen3_next" };

    private Tensor[] _kvCache = Array.Empty<Tensor>();

    protected MambaBase(string name, EngineConfig config)
        : base(name)
    {
        Config = config ?? throw new ArgumentNullException(nameof(config));
        StateDtypes = config.StateDtypes;
    }

    /// <summary>The engine config the layer was built with.</summary>
    public EngineConfig Config { get; }

    /// <summary>The conv and SSM state dtypes resolved from <see cref="Config"/>.</summary>
    protected MambaStateDtypes StateDtypes { get; }

    /// <summary>The layer's state tensors in <see cref="GetStateShape"/> order, each [num_blocks, ...per-block shape],
    /// bound by the engine with <see cref="BindKvCache"/>. Empty until bound.</summary>
    public IReadOnlyList<Tensor> KvCache => _kvCache;

    /// <summary>Whether the engine has bound states to this layer.</summary>
    public bool IsKvCacheBound => _kvCache.Length > 0;

    /// <summary>vLLM's <c>mamba_type</c>: the key into the backend map.</summary>
    public abstract string MambaType { get; }

    /// <summary>Per-block shape of each state, without the leading block dimension.</summary>
    public abstract IReadOnlyList<long[]> GetStateShape();

    /// <summary>The dtype of each state, same length and order as <see cref="GetStateShape"/>.</summary>
    public abstract IReadOnlyList<ScalarType> GetStateDtype();

    /// <summary>The backend that builds this layer's per-step metadata.</summary>
    public abstract MambaAttentionBackend GetAttnBackend();

    /// <summary>A name for each state, same order as <see cref="GetStateShape"/>, for error messages: the generator
    /// writes the <see cref="StateTensorAttribute"/> members' names; by default "state 0", "state 1"...</summary>
    public virtual IReadOnlyList<string> GetStateNames() => Enumerable.Range(0, GetStateShape().Count).Select(i => $"state {i}").ToArray();

    /// <summary>vLLM's <c>get_kv_cache_spec</c>: the cache spec of this layer under <paramref name="config"/>.</summary>
    public MambaSpec GetKvCacheSpec(EngineConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Speculative is not null && !SpeculativeDecodingModelTypes.Contains(config.Model.ModelType))
        {
            throw new NotSupportedException("Mamba with speculative decoding is not supported yet.");
        }

        return new MambaSpec(
            GetStateShape(),
            GetStateDtype(),
            config.MambaBlockSize,
            config.Cache.MambaPageSizePadded,
            MambaType,
            config.Cache.MambaCacheMode,
            config.Speculative?.NumSpeculativeTokens ?? 0);
    }

    /// <summary>Binds the layer's states. Each must be [num_blocks, ...GetStateShape()[i]] of GetStateDtype()[i],
    /// all with the same number of blocks, on one device.</summary>
    public void BindKvCache(IReadOnlyList<Tensor> states)
    {
        ArgumentNullException.ThrowIfNull(states);
        var shapes = GetStateShape();
        var dtypes = GetStateDtype();
        var names = GetStateNames();
        string Label(int i) => i < names.Count && names[i] != $"state {i}" ? $"state {i} ({names[i]})" : $"state {i}";
        if (states.Count != shapes.Count)
        {
            throw new ArgumentException($"Layer '{GetName()}' ({GetType().Name}) keeps {shapes.Count} states but {states.Count} tensors were bound.", nameof(states));
        }

        for (int i = 0; i < states.Count; i++)
        {
            var t = states[i] ?? throw new ArgumentException($"Layer '{GetName()}': {Label(i)} is null.", nameof(states));
            var perBlock = t.shape.Skip(1).ToArray();
            if (t.dim() != shapes[i].Length + 1 || !perBlock.SequenceEqual(shapes[i]))
            {
                throw new ArgumentException(
                    $"Layer '{GetName()}' ({GetType().Name}): {Label(i)} must be [num_blocks, {string.Join(", ", shapes[i])}] but is [{string.Join(", ", t.shape)}].", nameof(states));
            }

            if (t.dtype != dtypes[i])
            {
                throw new ArgumentException($"Layer '{GetName()}' ({GetType().Name}): {Label(i)} must be {dtypes[i]} but is {t.dtype}.", nameof(states));
            }

            if (t.size(0) != states[0].size(0) || t.device.ToString() != states[0].device.ToString())
            {
                throw new ArgumentException($"Layer '{GetName()}' ({GetType().Name}): all states need the same number of blocks on one device; {Label(i)} has {t.size(0)} blocks on {t.device}, state 0 {states[0].size(0)} on {states[0].device}.", nameof(states));
            }
        }

        _kvCache = states.ToArray();
    }

    /// <summary>Drops the bound states, so a forward says the layer has no cache instead of reading freed memory
    /// (the cache that bound them calls it when it is disposed).</summary>
    internal void UnbindKvCache() => _kvCache = Array.Empty<Tensor>();

    /// <summary>The bound state at <paramref name="index"/>; a clear error when the engine has not bound any.</summary>
    protected Tensor StateAt(int index)
    {
        if (_kvCache.Length == 0)
        {
            throw new InvalidOperationException($"Layer '{GetName()}' ({GetType().Name}) has no KV cache bound; the engine binds states with BindKvCache before a forward.");
        }

        return _kvCache[index];
    }
}
