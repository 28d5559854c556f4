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

    public IReadOnlyList<MambaBlock> Blocks => layers.ToArray();

    /// <summary>Hidden states after the final norm: [tokens, hidden].</summary>
    public Tensor Forward(Tensor inputIds, MambaAttentionMetadata metadata)
    {
        var h = embeddings.forward(inputIds);
        foreach (var block in layers)
        {
            h = block.Forward(h, metadata);
        }

        return norm_f.forward(h);
    }
}
