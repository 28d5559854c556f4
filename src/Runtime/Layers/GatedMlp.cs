using System;
using MambaGen.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Layers;

/// <summary>
/// The SwiGLU MLP: down(silu(gate(x)) ⊙ up(x)), or with Falcon-H1's μP multipliers
/// m_down · down(silu(m_gate · gate(x)) ⊙ up(x)). Checkpoints spell it as separate gate, up and down projections
/// (LFM2's <c>w1</c>, <c>w3</c>, <c>w2</c>; Llama's <c>gate_proj</c>, <c>up_proj</c>, <c>down_proj</c>) or as Granite's
/// fused <c>input_linear</c> ([gate | up]) and <c>output_linear</c>.
/// </summary>
public sealed class GatedMlp : nn.Module
{
    // [down, gate|up] or [down, gate, up]: an array, so TorchSharp does not register them under C# field names.
    private readonly Linear[] _linears;

    private readonly (double Gate, double Down) _multipliers;

    private GatedMlp(string name, int hiddenSize, int intermediateSize, GatedMlpNames? separate, (double Gate, double Down) multipliers, ScalarType dtype)
        : base(name)
    {
        if (hiddenSize <= 0 || intermediateSize <= 0)
        {
            throw new ArgumentException($"MLP '{name}': sizes must be positive (hidden {hiddenSize}, intermediate {intermediateSize}).");
        }

        HiddenSize = hiddenSize;
        IntermediateSize = intermediateSize;
        _multipliers = multipliers;
        var down = nn.Linear(intermediateSize, hiddenSize, hasBias: false, dtype: dtype);
        if (separate is null)
        {
            _linears = new[] { down, nn.Linear(hiddenSize, checked(2 * intermediateSize), hasBias: false, dtype: dtype) };
            register_module("input_linear", _linears[1]);
            register_module("output_linear", down);
        }
        else
        {
            _linears = new[] { down, nn.Linear(hiddenSize, intermediateSize, hasBias: false, dtype: dtype), nn.Linear(hiddenSize, intermediateSize, hasBias: false, dtype: dtype) };
            register_module(separate.Gate, _linears[1]);
            register_module(separate.Up, _linears[2]);
            register_module(separate.Down, down);
        }
    }

    public int HiddenSize { get; }

    public int IntermediateSize { get; }

    /// <summary>Separate gate, up and down projections under <paramref name="names"/> (LFM2's w1, w3, w2 when null);
    /// <paramref name="multipliers"/> scale the gate's pre-activation and the output (1 and 1 when null).</summary>
    public static GatedMlp Separate(string name, int hiddenSize, int intermediateSize, ScalarType dtype, GatedMlpNames? names = null, (double Gate, double Down)? multipliers = null) =>
        new(name, hiddenSize, intermediateSize, names ?? GatedMlpNames.Lfm2, multipliers ?? (1.0, 1.0), dtype);

    /// <summary>Granite's names: input_linear ([gate | up]), output_linear (down).</summary>
    public static GatedMlp Fused(string name, int hiddenSize, int intermediateSize, ScalarType dtype) => new(name, hiddenSize, intermediateSize, null, (1.0, 1.0), dtype);

    /// <param name="x">[tokens, hidden].</param>
    /// <param name="linear">The projections' ops.</param>
    /// <returns>[tokens, hidden].</returns>
    public Tensor Forward(Tensor x, ILinearOps linear)
    {
        using var scope = torch.NewDisposeScope();
        Tensor gate, up;
        if (_linears.Length == 2)
        {
            var both = linear.Linear(x, _linears[1].weight!, null);
            (gate, up) = (both.narrow(1, 0, IntermediateSize), both.narrow(1, IntermediateSize, IntermediateSize));
        }
        else
        {
            (gate, up) = (linear.Linear(x, _linears[1].weight!, null), linear.Linear(x, _linears[2].weight!, null));
        }

        // transformers' FalconH1MLP.forward: down_proj(up_proj(x) * act(gate_proj(x) * gate)) * down.
        var (gateMultiplier, downMultiplier) = _multipliers;
        var down = linear.Linear(nn.functional.silu(gateMultiplier == 1.0 ? gate : gate * gateMultiplier) * up, _linears[0].weight!, null);
        return (downMultiplier == 1.0 ? down : down * downMultiplier).MoveToOuterDisposeScope();
    }
}

/// <summary>A separate SwiGLU MLP's projection names in the checkpoint.</summary>
public sealed record GatedMlpNames(string Gate, string Up, string Down)
{
    /// <summary>LFM2's w1 (gate), w3 (up), w2 (down).</summary>
    public static GatedMlpNames Lfm2 { get; } = new("w1", "w3", "w2");

    /// <summary>Llama's (and Falcon-H1's) gate_proj, up_proj, down_proj.</summary>
    public static GatedMlpNames Llama { get; } = new("gate_proj", "up_proj", "down_proj");
}
