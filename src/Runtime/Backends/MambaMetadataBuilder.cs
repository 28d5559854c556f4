using System;
using MambaGen.Ops;
using static TorchSharp.torch;

namespace MambaGen.Backends;

/// <summary>
/// vLLM's <c>BaseMambaAttentionMetadataBuilder</c>: the engine makes one per backend (per cache group) and calls
/// <see cref="Build(CommonAttentionMetadata)"/> once per step; every layer of that backend's type reads the same metadata. This base builds
/// <see cref="MambaAttentionMetadata"/>, which is all Mamba1 and short-conv layers need (as in vLLM).
/// </summary>
public class MambaMetadataBuilder
{
    /// <param name="device">The layers' device.</param>
    /// <param name="ops">The op implementations for the layers; the device's best available (<see cref="OpsSelection.For"/>) when null.</param>
    public MambaMetadataBuilder(Device device, MambaOps? ops = null)
    {
        Device = device ?? throw new ArgumentNullException(nameof(device));
        Ops = ops ?? OpsSelection.For(device);
    }

    /// <summary>Where the metadata's tensors go: the layers' device.</summary>
    public Device Device { get; }

    /// <summary>The op implementations every step's metadata carries to the layers.</summary>
    public MambaOps Ops { get; }

    /// <summary>The step's metadata; the caller disposes it after the step.</summary>
    public MambaAttentionMetadata Build(CommonAttentionMetadata common) => Build(common, null);

    /// <summary>The step's metadata, its state blocks read from <paramref name="stateIndices"/> (int64 [num_reqs] on the
    /// device, not owned) when given: a captured step replays from such a static buffer.</summary>
    public virtual MambaAttentionMetadata Build(CommonAttentionMetadata common, Tensor? stateIndices) => new(common, Device, Ops, stateIndices);
}
