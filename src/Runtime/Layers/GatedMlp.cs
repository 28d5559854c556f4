using System;
using MambaGen.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Layers;

/// <summary>
/// The SwiGLU MLP: down(silu(gate(x)) ⊙ up(x)). Checkpoints spell it two ways: LFM2's separate <c>w1</c> (gate),
/// <c>w3</c> (up), <c>w2</c> (down), and Granite's fused <c>input_linear</c> ([gate | up]) and <c>output_linear</c>.
/// </summary>
public sealed class GatedMlp : nn.Module
{
    private readonly Linear? _gate;
    private readonly Linear? _up;
    private readonly Linear? _gateUp;
    private readonly Linear _down;

    private GatedMlp(string name, int hiddenSize, int intermediateSize, bool fused, ScalarType dtype)
        : base(name)
    {
        if (hiddenSize <= 0 || intermediateSize <= 0)
        {
            throw new ArgumentException($"MLP '{name}': sizes must be positive (hidden {hiddenSize}, intermediate {intermediateSize}).");
        }

        HiddenSize = hiddenSize;
        IntermediateSize = intermediateSize;
        _down = nn.Linear(intermediateSize, hiddenSize, hasBias: false, dtype: dtype);
        if (fused)
        {
            _gateUp = nn.Linear(hiddenSize, checked(2 * intermediateSize), hasBias: false, dtype: dtype);
            register_module("input_linear", _gateUp);
            register_module("output_linear", _down);
        }
        else
        {
            _gate = nn.Linear(hiddenSize, intermediateSize, hasBias: false, dtype: dtype);
            _up = nn.Linear(hiddenSize, intermediateSize, hasBias: false, dtype: dtype);
            register_module("w1", _gate);
            register_module("w3", _up);
            register_module("w2", _down);
        }
    }

    public int HiddenSize { get; }

    public int IntermediateSize { get; }

    /// <summary>LFM2's names: w1 (gate), w3 (up), w2 (down).</summary>
    public static GatedMlp Separate(string name, int hiddenSize, int intermediateSize, ScalarType dtype) => new(name, hiddenSize, intermediateSize, false, dtype);

    /// <summary>Granite's names: input_linear ([gate | up]), output_linear (down).</summary>
    public static GatedMlp Fused(string name, int hiddenSize, int intermediateSize, ScalarType dtype) => new(name, hiddenSize, intermediateSize, true, dtype);

    /// <param name="x">[tokens, hidden].</param>
    /// <param name="linear">The projections' ops.</param>
    /// <returns>[tokens, hidden].</returns>
    public Tensor Forward(Tensor x, ILinearOps linear)
    {
        using var scope = torch.NewDisposeScope();
        Tensor gate, up;
        if (_gateUp is not null)
        {
            var both = linear.Linear(x, _gateUp.weight!, null);
            (gate, up) = (both.narrow(1, 0, IntermediateSize), both.narrow(1, IntermediateSize, IntermediateSize));
        }
        else
        {
            (gate, up) = (linear.Linear(x, _gate!.weight!, null), linear.Linear(x, _up!.weight!, null));
        }

        return linear.Linear(nn.functional.silu(gate) * up, _down.weight!, null).MoveToOuterDisposeScope();
    }
}
