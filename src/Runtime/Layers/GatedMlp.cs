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
    // [down, gate|up] or [down, gate, up]: an array, so TorchSharp does not register them under C# field names.
    private readonly Linear[] _linears;

    private GatedMlp(string name, int hiddenSize, int intermediateSize, bool fused, ScalarType dtype)
        : base(name)
    {
        if (hiddenSize <= 0 || intermediateSize <= 0)
        {
            throw new ArgumentException($"MLP '{name}': sizes must be positive (hidden {hiddenSize}, intermediate {intermediateSize}).");
        }

        HiddenSize = hiddenSize;
        IntermediateSize = intermediateSize;
        var down = nn.Linear(intermediateSize, hiddenSize, hasBias: false, dtype: dtype);
        if (fused)
        {
            _linears = new[] { down, nn.Linear(hiddenSize, checked(2 * intermediateSize), hasBias: false, dtype: dtype) };
            register_module("input_linear", _linears[1]);
            register_module("output_linear", down);
        }
        else
        {
            _linears = new[] { down, nn.Linear(hiddenSize, intermediateSize, hasBias: false, dtype: dtype), nn.Linear(hiddenSize, intermediateSize, hasBias: false, dtype: dtype) };
            register_module("w1", _linears[1]);
            register_module("w3", _linears[2]);
            register_module("w2", down);
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
        if (_linears.Length == 2)
        {
            var both = linear.Linear(x, _linears[1].weight!, null);
            (gate, up) = (both.narrow(1, 0, IntermediateSize), both.narrow(1, IntermediateSize, IntermediateSize));
        }
        else
        {
            (gate, up) = (linear.Linear(x, _linears[1].weight!, null), linear.Linear(x, _linears[2].weight!, null));
        }

        return linear.Linear(nn.functional.silu(gate) * up, _linears[0].weight!, null).MoveToOuterDisposeScope();
    }
}
