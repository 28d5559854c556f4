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

    /// <param name="hidden">[tokens, hidden], in the residual dtype.</param>
    /// <param name="metadata">The step's metadata of the mixer's backend.</param>
    public Tensor Forward(Tensor hidden, MambaAttentionMetadata metadata)
    {
        var normed = norm.forward(hidden.to(norm.Weight.dtype));
        if (mixer is Mamba2Mixer && metadata is not Mamba2AttentionMetadata)
        {
            throw new System.ArgumentException($"Block '{GetName()}' has a Mamba2 mixer, which needs Mamba2AttentionMetadata (from its backend's builder) but got {metadata.GetType().Name}.", nameof(metadata));
        }

        var mixed = ((IMambaMixer)mixer).Forward(normed, metadata);
        var residual = _residualInFp32 ? hidden.to(ScalarType.Float32) : hidden;
        return residual + mixed.to(residual.dtype);
    }
}
