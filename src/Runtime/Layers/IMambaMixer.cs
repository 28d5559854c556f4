using MambaGen.Backends;
using MambaGen.Ops;
using static TorchSharp.torch;

namespace MambaGen.Layers;

/// <summary>A runtime mixer: one step over the batch's varlen tokens with its backend's metadata.</summary>
public interface IMambaMixer
{
    /// <param name="hidden">[num_actual_tokens, hidden], decodes first, then prefills.</param>
    /// <param name="metadata">The step's metadata, built by the mixer's own backend.</param>
    /// <returns>[num_actual_tokens, hidden].</returns>
    Tensor Forward(Tensor hidden, MambaAttentionMetadata metadata);

    /// <summary>
    /// The whole residual block in place: <paramref name="residual"/> += mixer(<paramref name="blockNorm"/>(residual)),
    /// with the norm and the residual add fused into the mixer's projections by <paramref name="projections"/>. The
    /// default runs the norm and <see cref="Forward"/> as they are.
    /// </summary>
    void ForwardInto(Tensor residual, RmsNorm blockNorm, MambaAttentionMetadata metadata, IFusedProjectionOps projections)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        var normed = metadata.Ops.Norm.AddRmsNorm(residual, null, blockNorm.Weight, blockNorm.Eps, castInput: true);
        residual.add_(Forward(normed, metadata).to(residual.dtype));
    }
}
