using System.Collections.Generic;
using System.Linq;
using MambaGen.Backends;
using MambaGen.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Models;

/// <summary>HF's MambaModel / Mamba2Model: embeddings, the residual blocks, the final norm (keys <c>backbone.*</c>).</summary>
public sealed class MambaBackbone : nn.Module
{
    private readonly Embedding embeddings;
    private readonly ModuleList<MambaBlock> layers;
    private readonly RmsNorm norm_f;

    public MambaBackbone(string name, Embedding embeddings, IEnumerable<MambaBlock> blocks, RmsNorm normF)
        : base(name)
    {
        this.embeddings = embeddings;
        layers = nn.ModuleList(blocks.ToArray());
        norm_f = normF;
        RegisterComponents();
    }

    public Embedding Embeddings => embeddings;

    /// <summary>The norm after the last block.</summary>
    internal RmsNorm FinalNorm => norm_f;

    public IReadOnlyList<MambaBlock> Blocks => layers.ToArray();

    /// <summary>Hidden states after the final norm: [tokens, hidden], in the final norm weight's dtype.</summary>
    public Tensor Forward(Tensor inputIds, MambaAttentionMetadata metadata)
    {
        var h = embeddings.forward(inputIds);
        if (layers.Count == 0)
        {
            return metadata.Ops.Norm.AddRmsNorm(h, null, norm_f.Weight, norm_f.Eps, castInput: false);
        }

        // The residual stream (fp32 where configured).
        var residual = layers[0].ResidualInFp32 ? h.to(ScalarType.Float32) : h;
        if (metadata.Ops.FusedProjections is { } projections && projections.Takes(inputIds.shape[0], h.dtype))
        {
            // A small step: each block's norm and add fused into its mixer's projections, fewer launches a layer.
            foreach (var block in layers)
            {
                block.MixInto(residual, metadata, projections);
            }

            return metadata.Ops.Norm.AddRmsNorm(residual, null, norm_f.Weight, norm_f.Eps, castInput: false);
        }

        // Each block's add fused into the next norm.
        Tensor? mixed = null;
        foreach (var block in layers)
        {
            mixed = block.Mix(residual, mixed, metadata);
        }

        return metadata.Ops.Norm.AddRmsNorm(residual, mixed, norm_f.Weight, norm_f.Eps, castInput: false);
    }
}
