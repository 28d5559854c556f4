using System;
using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// LFM2's short conv around its causal conv, as tensor ops: in_proj's output is [B | C | x] ([rows, 3·dim]), the conv
/// runs over B ⊙ x, and the output is C ⊙ conv (each product rounded to its dtype). The one place that layout is read
/// outside the fused kernel.
/// </summary>
public static class ShortConvGate
{
    /// <param name="bcx">[rows, 3·dim]: B, C and x side by side.</param>
    /// <param name="dim">The conv's channels.</param>
    /// <param name="conv">The causal conv (decode update or varlen prefill) of B ⊙ x.</param>
    /// <returns>C ⊙ conv(B ⊙ x), [rows, dim] in bcx's dtype.</returns>
    public static Tensor Apply(Tensor bcx, long dim, Func<Tensor, Tensor> conv)
    {
        var c = bcx.narrow(1, dim, dim);
        return c * conv(bcx.narrow(1, 0, dim) * bcx.narrow(1, 2 * dim, dim)).to(c.dtype);
    }
}
