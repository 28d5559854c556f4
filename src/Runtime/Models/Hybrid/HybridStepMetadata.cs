using System;
using MambaGen.Attention;
using MambaGen.Backends;
using MambaGen.Cache;
using MambaGen.Ops;

namespace MambaGen.Models.Hybrid;

/// <summary>
/// One step's metadata for every cache group, each built once by its group's builder and shared by the group's
/// layers (vLLM's per-group attention metadata); a layer asks for its own group's by name.
/// </summary>
public sealed class HybridStepMetadata : IDisposable
{
    private readonly HybridPageLayout _layout;
    private readonly IDisposable[] _groups;

    internal HybridStepMetadata(HybridPageLayout layout, IDisposable[] groups, ILinearOps linear)
    {
        _layout = layout;
        _groups = groups;
        Linear = linear;
    }

    /// <summary>The projections' ops (MLPs, attention, LM head) for the step's device.</summary>
    public ILinearOps Linear { get; }

    /// <summary>The metadata of <paramref name="layerName"/>'s group, built by that group's mamba backend.</summary>
    public MambaAttentionMetadata MambaFor(string layerName) => For<MambaAttentionMetadata>(layerName);

    /// <summary>The metadata of <paramref name="layerName"/>'s attention group.</summary>
    public AttentionMetadata AttentionFor(string layerName) => For<AttentionMetadata>(layerName);

    private T For<T>(string layerName)
        where T : class
    {
        var (group, _) = _layout.PlaceOf(layerName);
        return _groups[group] as T ?? throw new InvalidOperationException(
            $"Layer '{layerName}' asks for {typeof(T).Name} but its cache group {group} is {_layout.Groups[group]}.");
    }

    public void Dispose()
    {
        foreach (var g in _groups)
        {
            g.Dispose();
        }
    }
}
