using System;
using MambaGen.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Layers;

/// <summary>
/// A top-k routed mixture of SwiGLU experts in Granite's spelling (GraniteMoe's <c>block_sparse_moe</c>):
/// <c>router.layer</c> [experts, hidden] gives each token's logits (fp32); its top k are soft-maxed into gates; expert
/// e runs <c>output_linear[e] · (silu(g) ⊙ u)</c> with <c>[g | u] = input_linear[e] · x</c>; the token's output is the
/// gate-weighted sum of its k experts.
/// </summary>
public sealed class TopKMoe : nn.Module
{
    // Arrays of modules, not fields: TorchSharp registers fields under their C# names; these go under the
    // checkpoint's. Modules, never parameters: moving a module replaces its parameters.
    private readonly ExpertWeight[] _experts;
    private readonly Linear[] _router;

    public TopKMoe(string name, int hiddenSize, int intermediateSize, int numExperts, int topK, ScalarType dtype)
        : base(name)
    {
        if (hiddenSize <= 0 || intermediateSize <= 0 || numExperts <= 0)
        {
            throw new ArgumentException($"MoE '{name}': sizes must be positive (hidden {hiddenSize}, intermediate {intermediateSize}, experts {numExperts}).");
        }

        if (topK <= 0 || topK > numExperts)
        {
            throw new ArgumentException($"MoE '{name}': each token's experts (top k = {topK}) must be between 1 and the {numExperts} experts.");
        }

        HiddenSize = hiddenSize;
        IntermediateSize = intermediateSize;
        NumExperts = numExperts;
        TopK = topK;
        _experts = new[]
        {
            new ExpertWeight("input_linear", new long[] { numExperts, checked(2 * intermediateSize), hiddenSize }, dtype),
            new ExpertWeight("output_linear", new long[] { numExperts, hiddenSize, intermediateSize }, dtype),
        };
        _router = new[] { nn.Linear(hiddenSize, numExperts, hasBias: false, dtype: dtype) };
        register_module("input_linear", _experts[0]);
        register_module("output_linear", _experts[1]);
        register_module("router", new Router(_router[0]));
    }

    public int HiddenSize { get; }

    public int IntermediateSize { get; }

    public int NumExperts { get; }

    public int TopK { get; }

    /// <summary>[experts, 2·intermediate, hidden]: each expert's [gate | up] projection.</summary>
    public Tensor InputWeight => _experts[0].Weight;

    /// <summary>[experts, hidden, intermediate]: each expert's down projection.</summary>
    public Tensor OutputWeight => _experts[1].Weight;

    /// <summary>[experts, hidden].</summary>
    public Tensor RouterWeight => _router[0].weight!;

    /// <summary>Replaces the experts' stacked projections with <paramref name="make"/>(each) (mixed precision on the
    /// CPU: half-width experts); the router keeps its dtype, so the choice of experts does not move.</summary>
    internal void SetExpertWeights(Func<Tensor, Tensor> make)
    {
        foreach (var expert in _experts)
        {
            expert.Weight = Models.MixedPrecision.Made(expert.Weight, make);
        }
    }

    /// <param name="x">[tokens, hidden].</param>
    /// <param name="linear">The projections' ops.</param>
    /// <returns>[tokens, hidden] in x's dtype.</returns>
    public Tensor Forward(Tensor x, ILinearOps linear)
    {
        using var scope = torch.NewDisposeScope();
        var logits = linear.Linear(x, RouterWeight, null).to(ScalarType.Float32);
        var (topLogits, topExperts) = logits.topk(TopK, dim: 1);
        var gates = topLogits.softmax(1).to(x.dtype);
        var output = torch.zeros_like(x);
        // Only the experts some token chose run, each on its tokens at once.
        var chosen = topExperts.flatten();
        var flatGates = gates.flatten();
        var tokenOf = torch.arange(x.shape[0], device: x.device).repeat_interleave(TopK);
        foreach (long e in torch.unique(chosen).output.cpu().data<long>().ToArray())
        {
            var rows = chosen.eq(e).nonzero().squeeze(1);
            var tokens = tokenOf.index_select(0, rows);
            var h = linear.Linear(x.index_select(0, tokens), InputWeight[e], null);
            var act = nn.functional.silu(h.narrow(1, 0, IntermediateSize)) * h.narrow(1, IntermediateSize, IntermediateSize);
            var y = linear.Linear(act, OutputWeight[e], null) * flatGates.index_select(0, rows).unsqueeze(1);
            output.index_add_(0, tokens, y, 1);
        }

        return output.MoveToOuterDisposeScope();
    }

    /// <summary>Every expert's projection stacked, under the checkpoint name <c>{name}.weight</c>.</summary>
    private sealed class ExpertWeight : nn.Module
    {
        // The field's name is the checkpoint's key; TorchSharp replaces it when the module moves.
        private Parameter weight;

        public ExpertWeight(string name, long[] shape, ScalarType dtype)
            : base(name)
        {
            weight = nn.Parameter(torch.zeros(shape, dtype: dtype));
            RegisterComponents();
        }

        public Parameter Weight
        {
            get => weight;
            set
            {
                weight.Dispose();
                weight = value;
                ConditionallyRegisterParameter(nameof(weight), weight);
            }
        }
    }

    /// <summary>Granite's gating module: its linear is <c>router.layer</c>.</summary>
    private sealed class Router : nn.Module
    {
        public Router(Linear layer)
            : base("router") => register_module("layer", layer);
    }
}
