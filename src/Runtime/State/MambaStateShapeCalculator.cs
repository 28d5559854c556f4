using System;

namespace MambaGen;

/// <summary>
/// vLLM's <c>MambaStateShapeCalculator</c> (mamba_utils.py, REF): the per-block shape of every state of every mamba
/// type, as pure functions. The engine sizes pages with them before a model exists, and the layers declare their
/// <see cref="StateTensorAttribute"/> shapes with the same calls: one source of truth.
/// Conv states are stored as (W-1, dim), dim innermost (vLLM's "SD" layout).
/// </summary>
public static class MambaStateShapeCalculator
{
    public static (long[] Conv, long[] Ssm) Mamba1(int tpWorldSize, int intermediateSize, int stateSize, int convKernel)
    {
        var dim = Divide(intermediateSize, tpWorldSize, nameof(intermediateSize));
        return (new long[] { convKernel - 1, dim }, new long[] { dim, stateSize });
    }

    public static (long[] Conv, long[] Ssm) Mamba2(int tpWorldSize, int intermediateSize, int nGroups, int numHeads, int headDim, int stateSize, int convKernel, int numSpec = 0)
    {
        // With n_groups not divisible by TP (vLLM allows only n_groups == 1), each rank gets a replica of the groups.
        var groups = nGroups + ExtraGroupsForHeadShards(nGroups, tpWorldSize);
        var convDim = intermediateSize + 2L * groups * stateSize;
        return (
            new long[] { convKernel - 1 + numSpec, Divide(convDim, tpWorldSize, "conv_dim") },
            new long[] { Divide(numHeads, tpWorldSize, nameof(numHeads)), headDim, stateSize });
    }

    public static long[] ShortConv(int tpWorldSize, int intermediateSize, int convKernel) =>
        new long[] { convKernel - 1, Divide(intermediateSize, tpWorldSize, nameof(intermediateSize)) };

    /// <summary>Plain integer division of the heads, as vLLM (the layer itself checks divisibility).</summary>
    public static long[] LinearAttention(int numHeads, int tpSize, int headDim) =>
        new long[] { numHeads / tpSize, headDim, headDim };

    /// <summary>Gated DeltaNet (Qwen3-Next): recurrent state [Hv, Dv, Dk] as vLLM since PR #33291.</summary>
    public static (long[] Conv, long[] Ssm) GatedDeltaNet(int tpWorldSize, int numKHeads, int numVHeads, int headKDim, int headVDim, int convKernelSize, int numSpec = 0)
    {
        var convDim = 2L * numKHeads * headKDim + (long)numVHeads * headVDim;
        return (
            new long[] { convKernelSize - 1 + numSpec, Divide(convDim, tpWorldSize, "conv_dim") },
            new long[] { Divide(numVHeads, tpWorldSize, nameof(numVHeads)), headVDim, headKDim });
    }

    /// <summary>0 when the groups split evenly over TP ranks, else the groups to add so that each rank has a replica.</summary>
    public static int ExtraGroupsForHeadShards(int nGroups, int tpSize) => nGroups % tpSize == 0 ? 0 : tpSize - nGroups;

    private static long Divide(long a, long b, string what)
    {
        if (b <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(b), b, "Tensor-parallel size must be positive.");
        }

        if (a % b != 0)
        {
            throw new ArgumentException($"{what} ({a}) is not divisible by the tensor-parallel size ({b}).");
        }

        return a / b;
    }
}
