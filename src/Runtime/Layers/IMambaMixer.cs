using MambaGen.Backends;
using static TorchSharp.torch;

namespace MambaGen.Layers;

/// <summary>A runtime mixer: one step over the batch's varlen tokens with its backend's metadata.</summary>
public interface IMambaMixer
{
    /// <param name="hidden">[num_actual_tokens, hidden], decodes first, then prefills.</param>
    /// <param name="metadata">The step's metadata, built by the mixer's own backend.</param>
    /// <returns>[num_actual_tokens, hidden].</returns>
    Tensor Forward(Tensor hidden, MambaAttentionMetadata metadata);
}
