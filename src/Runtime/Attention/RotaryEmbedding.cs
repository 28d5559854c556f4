using System;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Attention;

/// <summary>
/// HF's default rotary position embedding (GPT-NeoX layout, <c>rotate_half</c>): the first <see cref="RotaryDim"/>
/// channels of each head rotate by position · θ^(-2i/rotary_dim); the rest pass through (partial rotary).
/// </summary>
public sealed class RotaryEmbedding
{
    /// <param name="headDim">Channels per head.</param>
    /// <param name="rotaryDim">Channels that rotate: head_dim · partial_rotary_factor, even, at most head_dim.</param>
    /// <param name="theta">HF's <c>rope_theta</c>.</param>
    public RotaryEmbedding(int headDim, int rotaryDim, double theta)
    {
        if (rotaryDim <= 0 || rotaryDim > headDim || rotaryDim % 2 != 0)
        {
            throw new ArgumentException($"The rotary dimension must be even and in (0, head_dim = {headDim}]; got {rotaryDim}.", nameof(rotaryDim));
        }

        if (!(theta > 0) || double.IsInfinity(theta))
        {
            throw new ArgumentException($"rope_theta must be positive and finite; got {theta}.", nameof(theta));
        }

        HeadDim = headDim;
        RotaryDim = rotaryDim;
        Theta = theta;
    }

    public int HeadDim { get; }

    public int RotaryDim { get; }

    public double Theta { get; }

    /// <summary>The cos and sin of each token's angles, [tokens, rotary_dim] in fp32 (<c>cat(freqs, freqs)</c> as HF).</summary>
    public (Tensor Cos, Tensor Sin) Angles(Tensor positions)
    {
        using var scope = torch.NewDisposeScope();
        var invFreq = 1.0 / torch.pow(Theta, torch.arange(0, RotaryDim, 2, dtype: ScalarType.Int64, device: positions.device).to(ScalarType.Float32) / RotaryDim);
        var freqs = positions.to(ScalarType.Float32).unsqueeze(1) * invFreq.unsqueeze(0);
        var emb = torch.cat(new[] { freqs, freqs }, 1);
        return (emb.cos().MoveToOuterDisposeScope(), emb.sin().MoveToOuterDisposeScope());
    }

    /// <summary>Rotates <paramref name="x"/> [tokens, heads, head_dim] by the angles from <see cref="Angles"/>.</summary>
    public Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = torch.NewDisposeScope();
        var rot = RotaryDim == HeadDim ? x : x.narrow(2, 0, RotaryDim);
        int half = RotaryDim / 2;
        var rotated = torch.cat(new[] { -rot.narrow(2, half, half), rot.narrow(2, 0, half) }, 2);
        var c = cos.to(x.dtype).unsqueeze(1);
        var s = sin.to(x.dtype).unsqueeze(1);
        var y = rot * c + rotated * s;
        if (RotaryDim != HeadDim)
        {
            y = torch.cat(new[] { y, x.narrow(2, RotaryDim, HeadDim - RotaryDim) }, 2);
        }

        return y.MoveToOuterDisposeScope();
    }
}
