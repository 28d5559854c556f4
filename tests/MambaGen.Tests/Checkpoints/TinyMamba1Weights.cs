using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Tests.Checkpoints;

// Hand-built modules whose state-dict names are HF's Mamba1 keys; they hold weights only (no forward), which is all loading needs.
#pragma warning disable IDE1006 // field names are the checkpoint's key names

internal sealed class TinyMamba1Mixer : nn.Module
{
    public readonly Linear in_proj;
    public readonly Conv1d conv1d;
    public readonly Linear x_proj;
    public readonly Linear dt_proj;
    public readonly Linear out_proj;
    public readonly Parameter A_log;
    public readonly Parameter D;

    public TinyMamba1Mixer(int hidden, int inner, int state, int dtRank, int kernel) : base(nameof(TinyMamba1Mixer))
    {
        in_proj = nn.Linear(hidden, 2 * inner, hasBias: false);
        conv1d = nn.Conv1d(inner, inner, kernel, groups: inner, bias: true);
        x_proj = nn.Linear(inner, dtRank + 2 * state, hasBias: false);
        dt_proj = nn.Linear(dtRank, inner, hasBias: true);
        out_proj = nn.Linear(inner, hidden, hasBias: false);
        A_log = nn.Parameter(zeros(inner, state));
        D = nn.Parameter(ones(inner));
        RegisterComponents();
    }
}

internal sealed class TinyNorm : nn.Module
{
    public readonly Parameter weight;

    public TinyNorm(int size) : base(nameof(TinyNorm))
    {
        weight = nn.Parameter(ones(size));
        RegisterComponents();
    }
}

internal sealed class TinyMamba1Block : nn.Module
{
    public readonly TinyNorm norm;
    public readonly TinyMamba1Mixer mixer;

    public TinyMamba1Block(int hidden, int inner, int state, int dtRank, int kernel) : base(nameof(TinyMamba1Block))
    {
        norm = new TinyNorm(hidden);
        mixer = new TinyMamba1Mixer(hidden, inner, state, dtRank, kernel);
        RegisterComponents();
    }
}

internal sealed class TinyMamba1Backbone : nn.Module
{
    public readonly Embedding embeddings;
    public readonly ModuleList<TinyMamba1Block> layers;
    public readonly TinyNorm norm_f;

    public TinyMamba1Backbone(int vocab, int hidden, int layerCount, int inner, int state, int dtRank, int kernel) : base(nameof(TinyMamba1Backbone))
    {
        embeddings = nn.Embedding(vocab, hidden);
        layers = nn.ModuleList(Enumerable.Range(0, layerCount).Select(_ => new TinyMamba1Block(hidden, inner, state, dtRank, kernel)).ToArray());
        norm_f = new TinyNorm(hidden);
        RegisterComponents();
    }
}

/// <summary>The dev-mamba1 fixture's architecture: vocab 61, hidden 48, 3 layers, d_inner 96, state 8, dt rank 3, conv 4.</summary>
internal sealed class TinyMamba1ForCausalLM : nn.Module
{
    public readonly TinyMamba1Backbone backbone;
    public readonly Linear lm_head;

    public TinyMamba1ForCausalLM(int vocab = 61, int hidden = 48, int layerCount = 3, int inner = 96, int state = 8, int dtRank = 3, int kernel = 4)
        : base(nameof(TinyMamba1ForCausalLM))
    {
        backbone = new TinyMamba1Backbone(vocab, hidden, layerCount, inner, state, dtRank, kernel);
        lm_head = nn.Linear(hidden, vocab, hasBias: false);
        RegisterComponents();
    }
}
#pragma warning restore IDE1006
