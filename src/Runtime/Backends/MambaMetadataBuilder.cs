using System;
using static TorchSharp.torch;

namespace MambaGen.Backends;

/// <summary>
/// vLLM's <c>BaseMambaAttentionMetadataBuilder</c>: the engine makes one per backend (per cache group) and calls
/// <see cref="Build"/> once per step; every layer of that backend's type reads the same metadata. This base builds
/// <see cref="MambaAttentionMetadata"/>, which is all Mamba1 and short-conv layers need (as in vLLM).
/// </summary>
public class MambaMetadataBuilder
{
    public MambaMetadataBuilder(Device device)
    {
        Device = device ?? throw new ArgumentNullException(nameof(device));
    }

    /// <summary>Where the metadata's tensors go: the layers' device.</summary>
    public Device Device { get; }

    /// <summary>The step's metadata; the caller disposes it after the step.</summary>
    public virtual MambaAttentionMetadata Build(CommonAttentionMetadata common) => new(common, Device);
}
