using System;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Ops;

/// <summary>
/// Causal depthwise 1-D convolution over packed variable-length sequences with a cached window of past inputs
/// (vLLM's <c>causal_conv1d_fn</c> / <c>causal_conv1d_update</c>, research §5.1), in plain tensor ops on the inputs'
/// device. For token t of channel c: out_t[c] = act(bias[c] + Σ_{j&lt;W-1} w[c,j]·win[c,j] + w[c,W-1]·x_t[c]), then the
/// window shifts in x_t. Accumulation is fp32; outputs have x's dtype.
/// </summary>
/// <remarks>
/// Conv states use vLLM's "SD" layout <c>[blocks, W-1, dim]</c> (dim innermost) and hold the last W-1 raw (pre-conv)
/// inputs of a sequence, oldest first, in the cache's dtype. Sizes (<c>queryStartLoc</c>) come as a host array so no
/// device sync is needed to read them; the blocks come as <see cref="StateSlots"/> (device indices).
/// </remarks>
public static class CausalConv1d
{
    /// <summary>Prefill: convolves every sequence of a packed batch and stores each one's last W-1 raw inputs.</summary>
    /// <param name="x">Raw inputs [tokens, dim], sequences packed back to back (any float dtype; may be a strided view).</param>
    /// <param name="weight">Depthwise kernel [dim, W] (conv1d.weight viewed as [dim, W]), W ≥ 2.</param>
    /// <param name="bias">[dim] or null.</param>
    /// <param name="silu">Apply SiLU to the output (Mamba); false for no activation (short conv).</param>
    /// <param name="convStates">Cache [blocks, W-1, dim], updated in place for every real row of <paramref name="slots"/>.</param>
    /// <param name="queryStartLoc">Prefill-local cumulative token offsets [B+1] (host), each sequence at least one token.</param>
    /// <param name="slots">Each sequence's block ([B] rows); padding rows are neither read nor written.</param>
    /// <param name="hasInitialState">bool [B] on the device: start from the stored window (true) or from zeros (false).</param>
    /// <returns>[tokens, dim] in x's dtype. A sequence shorter than W-1 keeps the newest older window entries in its state.</returns>
    public static Tensor Forward(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, int[] queryStartLoc, StateSlots slots, Tensor hasInitialState)
    {
        long dim = CheckWeights(x, weight, bias, convStates, out int width);
        OpArgs.Dims(x, nameof(x), -1, dim);
        OpArgs.Dims(hasInitialState, nameof(hasInitialState), queryStartLoc.Length - 1);
        var lengths = OpArgs.Lengths(queryStartLoc, x.size(0));
        int numSeqs = lengths.Length, k = width - 1;
        long numTokens = x.size(0);
        slots.Check(numSeqs, convStates, nameof(convStates));

        // Each sequence's starting window laid right before its tokens, so every tap is one contiguous slice:
        // sequence s occupies rows [s·K + qsl[s], s·K + qsl[s+1] + K) of this extended input (K = W-1).
        long extended = (long)numSeqs * k + numTokens;
        var order = new long[extended];
        var outputRows = new long[numTokens];
        var tail = new long[numSeqs * k];
        for (int s = 0; s < numSeqs; s++)
        {
            long start = (long)s * k + queryStartLoc[s];
            for (int j = 0; j < k; j++)
            {
                order[start + j] = (long)s * k + j;
                tail[s * k + j] = (long)s * k + queryStartLoc[s + 1] + j;
            }

            for (int t = queryStartLoc[s]; t < queryStartLoc[s + 1]; t++)
            {
                order[(long)s * k + k + t] = (long)numSeqs * k + t;
                outputRows[t] = (long)s * k + t;
            }
        }

        using var scope = torch.NewDisposeScope();
        var device = x.device;
        var gathered = slots.Gather(convStates);
        var window = slots.Masked(gathered, hasInitialState).to(x.dtype).view(numSeqs * k, dim);
        var ext = torch.cat(new[] { window, x }, 0).index_select(0, OpArgs.Upload(order, device));

        // Row i of acc is the output at extended row i + K; rows that end inside a starting window are dropped below.
        long rows = extended - k;
        var w = weight.to(ScalarType.Float32).t();
        var acc = ext.narrow(0, 0, rows) * w[0];
        for (int j = 1; j < width; j++)
        {
            acc.addcmul_(ext.narrow(0, j, rows), w[j], 1);
        }

        if (bias is not null)
        {
            acc.add_(bias.to(ScalarType.Float32));
        }

        var y = acc.index_select(0, OpArgs.Upload(outputRows, device));
        var newStates = ext.index_select(0, OpArgs.Upload(tail, device)).view(numSeqs, k, dim);
        slots.Scatter(convStates, newStates, gathered);
        return Finish(y, silu, x.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>Decode: one token per sequence, with the window read from and shifted in the cache, in place.</summary>
    /// <param name="x">Raw inputs [batch, dim].</param>
    /// <param name="weight">Depthwise kernel [dim, W].</param>
    /// <param name="bias">[dim] or null.</param>
    /// <param name="silu">Apply SiLU to the output.</param>
    /// <param name="convStates">Cache [blocks, W-1, dim]; each real row's block gets its window shifted by x.</param>
    /// <param name="slots">Each row's block ([batch] rows); decode always trusts the stored window.</param>
    /// <returns>[batch, dim] in x's dtype. No host sync; a handful of kernels.</returns>
    public static Tensor Update(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, StateSlots slots)
    {
        long dim = CheckWeights(x, weight, bias, convStates, out int width);
        OpArgs.Dims(x, nameof(x), -1, dim);
        slots.Check(x.size(0), convStates, nameof(convStates));

        using var scope = torch.NewDisposeScope();
        var gathered = slots.Gather(convStates);
        var window = torch.cat(new[] { gathered.to(x.dtype), x.unsqueeze(1) }, 1);
        var acc = (window * weight.to(ScalarType.Float32).t()).sum(1);
        if (bias is not null)
        {
            acc.add_(bias.to(ScalarType.Float32));
        }

        slots.Scatter(convStates, window.narrow(1, 1, width - 1), gathered);
        return Finish(acc, silu, x.dtype).MoveToOuterDisposeScope();
    }

    private static Tensor Finish(Tensor acc, bool silu, ScalarType dtype) => (silu ? nn.functional.silu(acc) : acc).to(dtype);

    internal static long CheckWeights(Tensor x, Tensor weight, Tensor? bias, Tensor convStates, out int width)
    {
        OpArgs.Floating(x, nameof(x));
        if (weight.dim() != 2 || weight.size(1) < 2)
        {
            throw new ArgumentException($"Conv weight must be [dim, W] with W ≥ 2; got {OpArgs.Shape(weight)}.", nameof(weight));
        }

        long dim = weight.size(0);
        width = (int)weight.size(1);
        if (bias is not null)
        {
            OpArgs.Dims(bias, nameof(bias), dim);
        }

        OpArgs.Dims(convStates, nameof(convStates), -1, width - 1, dim);
        OpArgs.SameDevice(x, weight, nameof(weight));
        OpArgs.SameDevice(x, bias, nameof(bias));
        OpArgs.SameDevice(x, convStates, nameof(convStates));
        return dim;
    }
}
