using System;
using MambaGen.Ops;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Layers;

/// <summary>Nemotron-H's MLP layer: <c>down_proj(relu(up_proj(x))²)</c>, not gated.</summary>
public sealed class ReluSquaredMlp : nn.Module
{
    // [up, down]: an array, so TorchSharp does not register them under C# field names.
    private readonly Linear[] _linears;

    public ReluSquaredMlp(string name, int hiddenSize, int intermediateSize, bool bias, ScalarType dtype)
        : base(name)
    {
        if (hiddenSize <= 0 || intermediateSize <= 0)
        {
            throw new ArgumentException($"MLP '{name}': sizes must be positive (hidden {hiddenSize}, intermediate {intermediateSize}).");
        }

        _linears = new[] { nn.Linear(hiddenSize, intermediateSize, hasBias: bias, dtype: dtype), nn.Linear(intermediateSize, hiddenSize, hasBias: bias, dtype: dtype) };
        register_module("up_proj", _linears[0]);
        register_module("down_proj", _linears[1]);
    }

    /// <param name="x">[tokens, hidden].</param>
    /// <param name="linear">The projections' ops.</param>
    public Tensor Forward(Tensor x, ILinearOps linear)
    {
        using var scope = torch.NewDisposeScope();
        var up = nn.functional.relu(linear.Linear(x, _linears[0].weight!, _linears[0].bias));
        return linear.Linear(up * up, _linears[1].weight!, _linears[1].bias).MoveToOuterDisposeScope();
    }
}
