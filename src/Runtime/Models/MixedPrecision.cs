using System;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MambaGen.Models;

/// <summary>
/// Mixed precision as llama.cpp runs a model on the CPU, one rule for Mamba and hybrid models: a bf16/f16 model on the
/// CPU keeps its matmul weights (projections, embeddings, LM head) in that dtype and everything else in fp32.
/// </summary>
internal static class MixedPrecision
{
    /// <summary>Whether a model of <paramref name="dtype"/> on <paramref name="device"/> is mixed precision.</summary>
    public static bool Uses(Device device, ScalarType dtype) =>
        device.type == DeviceType.CPU && dtype is ScalarType.BFloat16 or ScalarType.Float16;

    /// <summary>A weight made from <paramref name="like"/>, owned by no dispose scope (a module keeps it).</summary>
    public static Parameter Made(Tensor like, Func<Tensor, Tensor> make)
    {
        using var scope = torch.NewDisposeScope();
        return new Parameter(make(like).DetachFromDisposeScope(), requires_grad: false);
    }

    /// <summary>Every <see cref="Linear"/> under <paramref name="module"/> gets <paramref name="make"/>(its weight);
    /// the setter disposes the weight it replaces.</summary>
    public static void SetLinearWeights(nn.Module module, Func<Tensor, Tensor> make)
    {
        foreach (var linear in module.modules())
        {
            if (linear is Linear l)
            {
                l.weight = Made(l.weight!, make);
            }
        }
    }

    /// <summary><paramref name="path"/>, with the dtypes where the matmul weights' differ from the activations'.</summary>
    public static string Describe(string path, ScalarType matmul, ScalarType activations) =>
        matmul == activations ? path
            : $"{path}; mixed precision: {matmul.ToString().ToLowerInvariant()} matmul weights, {activations.ToString().ToLowerInvariant()} activations and states";
}
