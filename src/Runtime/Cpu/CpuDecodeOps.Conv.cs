using System;
using System.Runtime.CompilerServices;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Cpu;

/// <summary>The causal conv: a decode step's update here, a prefill by the reference ops.</summary>
internal sealed unsafe partial class CpuDecodeOps
{
    public Tensor Forward(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, PrefillBatch batch) =>
        Reference.Forward(x, weight, bias, silu, convStates, batch);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Update(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, DecodeBatch batch)
    {
        long dim = CausalConv1d.CheckWeights(x, weight, bias, convStates, out int width);
        OpArgs.Dims(x, nameof(x), batch.Count, dim);
        if (!Fp32(x, weight, bias, convStates) || x.stride(1) != 1 || !weight.is_contiguous() || !OpArgs.RowsContiguous(convStates, 2))
        {
            return Reference.Update(x, weight, bias, silu, convStates, batch);
        }

        OpArgs.CheckBlocks(batch.MaxStateIndex, convStates, nameof(convStates));
        var output = torch.empty(batch.Count, dim, dtype: ScalarType.Float32);
        ConvUpdateRows(Ptr(x), x.stride(0), Ptr(output), dim, dim, Ptr(weight), width, bias is null ? null : Ptr(bias), silu, convStates, batch.HostStateIndices);
        return output;
    }

    private static bool ConvFits(Tensor weight, Tensor? bias, Tensor convStates) =>
        Fp32(weight, bias, convStates) && weight.is_contiguous() && OpArgs.RowsContiguous(convStates, 2);

    /// <summary>The conv update of <paramref name="dim"/> channels a row, x rows at <paramref name="px"/> to output rows
    /// at <paramref name="po"/> (which may be the same memory: each value is read before it is written).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ConvUpdateRows(float* px, long xs, float* po, long os, long dim, float* pw, int width, float* pb, bool silu,
        Tensor convStates, ReadOnlySpan<int> slots)
    {
        float* ps = Ptr(convStates);
        long bs = convStates.stride(0);
        for (int r = 0; r < slots.Length; r++)
        {
            int slot = slots[r];
            float* xr = px + r * xs, or = po + r * os, st = slot < 0 ? null : ps + slot * bs;
            for (long c = 0; c < dim; c++)
            {
                float* w = pw + c * width;
                float xv = xr[c], acc = (pb is null ? 0f : pb[c]) + w[width - 1] * xv;
                if (st is not null)
                {
                    for (int j = 0; j < width - 1; j++)
                    {
                        acc += w[j] * st[j * dim + c];
                    }

                    for (int j = 0; j < width - 2; j++)
                    {
                        st[j * dim + c] = st[(j + 1) * dim + c];
                    }

                    st[(width - 2) * dim + c] = xv;
                }

                or[c] = st is null ? 0f : silu ? Silu(acc) : acc;
            }
        }
    }
}
