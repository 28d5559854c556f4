using MambaGen.Backends;
using MambaGen.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Models;

/// <summary>
/// One residual block, as HF's MambaBlock / Mamba2Block: h = residual + mixer(norm(h)), the residual kept in fp32
/// when the config says so. Field names give the keys <c>norm.weight</c> and <c>mixer.*</c>.
/// </summary>
public sealed class MambaBlock : nn.Module
{
    private readonly RmsNorm norm;
    private readonly MambaBase mixer;
    private readonly bool _residualInFp32;

    public MambaBlock(string name, RmsNorm norm, MambaBase mixer, bool residualInFp32)
        : base(name)
    {
        this.norm = norm;
        this.mixer = mixer;
        if (mixer is not IMambaMixer)
        {
            throw new System.NotSupportedException($"Block '{name}' has a {mixer.GetType().Name} mixer, which does not implement IMambaMixer, so MambaLanguageModel cannot run it.");
        }

        _residualInFp32 = residualInFp32;
        RegisterComponents();
    }

    public MambaBase Mixer => mixer;

    /// <summary>The norm before the mixer.</summary>
    internal RmsNorm Norm => norm;

    /// <summary>Whether the residual stream is kept in fp32 (HF's <c>residual_in_fp32</c>).</summary>
    public bool ResidualInFp32 => _residualInFp32;

    /// <param name="hidden">[tokens, hidden], in the residual dtype.</param>
    /// <param name="metadata">The step's metadata of the mixer's backend.</param>
    /// <returns>hidden + mixer(norm(hidden)), the residual in fp32 when the config says so.</returns>
    public Tensor Forward(Tensor hidden, MambaAttentionMetadata metadata)
    {
        // A copy: the residual is updated in place and the caller's tensor must stay as it was.
        var residual = _residualInFp32 && hidden.dtype != ScalarType.Float32 ? hidden.to(ScalarType.Float32) : hidden.clone();
        var mixed = Mix(residual, null, metadata);
        return residual.add_(mixed.to(residual.dtype));
    }

    /// <summary>
    /// The block with the previous block's residual add fused into its norm: <paramref name="residual"/> +=
    /// <paramref name="previousMixed"/> in place (when given), then the mixer's output on norm(residual).
    /// </summary>
    public Tensor Mix(Tensor residual, Tensor? previousMixed, MambaAttentionMetadata metadata)
    {
        if (mixer is Mamba2Mixer && metadata is not Mamba2AttentionMetadata)
        {
            throw new System.ArgumentException($"Block '{GetName()}' has a Mamba2 mixer, which needs Mamba2AttentionMetadata (from its backend's builder) but got {metadata.GetType().Name}.", nameof(metadata));
        }

        var normed = metadata.Ops.Norm.AddRmsNorm(residual, previousMixed, norm.Weight, norm.Eps, castInput: true);
        return ((IMambaMixer)mixer).Forward(normed, metadata);
    }

    /// <summary>The block in place, <paramref name="residual"/> += mixer(norm(residual)), with the norm and the add fused into the mixer's projections.</summary>
    public void MixInto(Tensor residual, MambaAttentionMetadata metadata, Ops.IFusedProjectionOps projections) =>
        ((IMambaMixer)mixer).ForwardInto(residual, norm, metadata, projections);
}
