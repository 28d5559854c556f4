using System;
using MambaGen.Backends;
using static TorchSharp.torch;

namespace MambaGen.Layers;

/// <summary>Checks a layer's input before any kernel runs, so bad input names the layer and the tensor at fault.</summary>
internal static class LayerChecks
{
    public static void Input(MambaBase layer, Tensor hidden, int hiddenSize, MambaAttentionMetadata metadata) =>
        Check(layer, hidden, hiddenSize, metadata, residual: false);

    /// <summary>As <see cref="Input"/> for the residual stream a block updates in place, which may be kept in fp32 (<c>residual_in_fp32</c>).</summary>
    public static void Residual(MambaBase layer, Tensor residual, int hiddenSize, MambaAttentionMetadata metadata) =>
        Check(layer, residual, hiddenSize, metadata, residual: true);

    private static void Check(MambaBase layer, Tensor hidden, int hiddenSize, MambaAttentionMetadata metadata, bool residual)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        ArgumentNullException.ThrowIfNull(metadata);
        if (layer.Config.Parallel.TensorParallelSize != 1)
        {
            throw new NotSupportedException($"Layer '{layer.GetName()}' ({layer.GetType().Name}) runs on one device; its state specs follow tensor-parallel size {layer.Config.Parallel.TensorParallelSize}, but sharded weights are not supported.");
        }

        if (hidden.dim() != 2 || hidden.size(1) != hiddenSize)
        {
            throw new ArgumentException($"Layer '{layer.GetName()}' ({layer.GetType().Name}): hidden states must be [tokens, {hiddenSize}] but are [{string.Join(", ", hidden.shape)}].", nameof(hidden));
        }

        // The projections would fail on a dtype mix with a native error that names no layer.
        if (residual ? !hidden.is_floating_point() : hidden.dtype != layer.Config.Model.Dtype)
        {
            throw new ArgumentException($"Layer '{layer.GetName()}' ({layer.GetType().Name}): hidden states are {hidden.dtype} but the layer's weights are {layer.Config.Model.Dtype}.", nameof(hidden));
        }

        if (hidden.size(0) != metadata.NumActualTokens)
        {
            throw new ArgumentException($"Layer '{layer.GetName()}' ({layer.GetType().Name}): the step's metadata schedules {metadata.NumActualTokens} tokens but the hidden states hold {hidden.size(0)}.", nameof(metadata));
        }

        if (!layer.IsKvCacheBound)
        {
            throw new InvalidOperationException($"Layer '{layer.GetName()}' ({layer.GetType().Name}) has no KV cache bound; allocate a MambaStateCache for it before a forward.");
        }

        // An index past the cache would fail deep inside a gather with no name attached, or write another layer's page.
        long numBlocks = layer.KvCache[0].size(0);
        for (int i = 0; i < metadata.StateIndices.Length; i++)
        {
            if (metadata.StateIndices[i] >= numBlocks)
            {
                throw new ArgumentException($"Layer '{layer.GetName()}' ({layer.GetType().Name}): batch row {i} asks for state block {metadata.StateIndices[i]} but the bound cache has {numBlocks} blocks.", nameof(metadata));
            }
        }
    }
}
