using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Cache;

/// <summary>
/// One layer's states for every block, as vLLM's <c>_allocate_kv_cache_tensors</c> + <c>_reshape_kv_cache_tensors</c>
/// make them: a zeroed int8 buffer of num_blocks pages, and per state a typed strided view of it, shaped
/// [num_blocks, ...state shape], whose block stride is one page.
/// </summary>
public sealed class MambaLayerStateCache : IDisposable
{
    private MambaLayerStateCache(string layerName, MambaPageLayout layout, int numBlocks, Tensor raw, Tensor[] states)
    {
        LayerName = layerName;
        Layout = layout;
        NumBlocks = numBlocks;
        Raw = raw;
        States = states;
    }

    public string LayerName { get; }

    public MambaPageLayout Layout { get; }

    public int NumBlocks { get; }

    /// <summary>The int8 buffer, [num_blocks · page bytes]; every state view aliases it.</summary>
    public Tensor Raw { get; }

    /// <summary>Each state in spec order, [num_blocks, ...shape] of its dtype, with strides (page / itemsize, contiguous...).</summary>
    public IReadOnlyList<Tensor> States { get; }

    /// <summary>Bytes this layer holds on its device.</summary>
    public long SizeBytes => NumBlocks * Layout.PageSizeBytes;

    /// <summary>Allocates <paramref name="numBlocks"/> zeroed pages on <paramref name="device"/> and views them as
    /// <paramref name="spec"/>'s states; errors name <paramref name="layerName"/>.</summary>
    public static MambaLayerStateCache Allocate(string layerName, MambaSpec spec, int numBlocks, Device device)
    {
        ArgumentNullException.ThrowIfNull(layerName);
        ArgumentNullException.ThrowIfNull(device);
        if (numBlocks <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numBlocks), numBlocks, $"Layer '{layerName}' needs at least one state block.");
        }

        var layout = MambaPageLayout.For(spec, layerName);
        var raw = torch.zeros(new[] { checked(numBlocks * layout.PageSizeBytes) }, ScalarType.Int8, device);
        raw.DetachFromDisposeScope();
        Tensor[] states;
        try
        {
            states = StateViews(raw, layout, numBlocks);
        }
        catch
        {
            raw.Dispose();
            throw;
        }

        return new MambaLayerStateCache(layerName, layout, numBlocks, raw, states);
    }

    /// <summary>
    /// Each state of <paramref name="layout"/> as a typed strided view of <paramref name="raw"/> (int8, at least
    /// num_blocks pages): [num_blocks, ...shape], block stride one page, offset its place in the page. The views are
    /// outside any dispose scope; the caller owns them.
    /// </summary>
    internal static Tensor[] StateViews(Tensor raw, MambaPageLayout layout, int numBlocks)
    {
        var spec = layout.Spec;
        long page = layout.PageSizeBytes;
        var states = new Tensor[spec.Shapes.Count];
        try
        {
            for (int i = 0; i < states.Length; i++)
            {
                var shape = spec.Shapes[i];
                long itemSize = DtypeSizes.ItemSize(spec.Dtypes[i]);
                var size = new long[shape.Length + 1];
                var stride = new long[shape.Length + 1];
                size[0] = numBlocks;
                stride[0] = page / itemSize;
                long inner = 1;
                for (int d = shape.Length - 1; d >= 0; d--)
                {
                    size[d + 1] = shape[d];
                    stride[d + 1] = inner;
                    inner *= shape[d];
                }

                using var typed = DtypeView.View(raw, spec.Dtypes[i]);
                states[i] = typed.as_strided(size, stride, layout.StateOffsetsBytes[i] / itemSize);
                states[i].DetachFromDisposeScope();
            }
        }
        catch
        {
            foreach (var s in states.Where(s => s is not null))
            {
                s.Dispose();
            }

            throw;
        }

        return states;
    }

    public void Dispose()
    {
        foreach (var s in States)
        {
            s.Dispose();
        }

        Raw.Dispose();
    }
}
