using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MambaGen.Layers;
using MambaGen.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Cpu;

/// <summary>
/// A pure-decode step of a Mamba-1 / Mamba-2 model on the CPU as one pass of C# loops over its weights and states, from
/// token ids to logits: the CPU's counterpart of the CUDA decode graphs. It calls the same kernels as
/// <see cref="CpuDecodeOps"/> (norms, GEMV, conv update, SSM updates in place by slot) through pointers and pinned
/// scratch rows, so a step makes one TorchSharp call (the logits) instead of about a dozen a layer, each 1-3 us: on the
/// 2.5M-parameter default model those calls were half of a decode step. Steps it does not take (prefills, more than
/// <see cref="MaxRows"/> rows, states not fp32) run eagerly through the ops, which compute the same function.
/// </summary>
internal sealed unsafe class CpuDecodeStep
{
    /// <summary>The most rows a step takes: the GEMV's.</summary>
    public const int MaxRows = CpuDecodeOps.MaxGemvRows;

    private readonly CpuDecodeOps _ops;
    private readonly Tensor _embedding;
    private readonly Tensor _lmHead;
    private readonly RmsNorm _finalNorm;
    private readonly ILayerStep[] _layers;
    private readonly int _hidden;
    private readonly long _vocab;

    // Pinned scratch rows, MaxRows of each: the residual stream, the normed rows, and each layer's work rows.
    private readonly float* _residual;
    private readonly float* _normed;
    private readonly float* _work;
    private readonly float[][] _pinned;

    private CpuDecodeStep(CpuDecodeOps ops, Tensor embedding, Tensor lmHead, RmsNorm finalNorm, ILayerStep[] layers, int hidden, long workFloats)
    {
        (_ops, _embedding, _lmHead, _finalNorm, _layers, _hidden, _vocab) = (ops, embedding, lmHead, finalNorm, layers, hidden, lmHead.size(0));
        _pinned = new[] { Pinned(MaxRows * (long)hidden), Pinned(MaxRows * (long)hidden), Pinned(workFloats) };
        _residual = Address(_pinned[0]);
        _normed = Address(_pinned[1]);
        _work = Address(_pinned[2]);
    }

    /// <summary>
    /// The step for <paramref name="blocks"/>, or null with the reason where a layer is not one it runs (only
    /// Mamba-1 and Mamba-2 mixers with fp32 norms, conv, A, D and dt weights, and projections the GEMV takes).
    /// </summary>
    public static CpuDecodeStep? TryCreate(CpuDecodeOps ops, Tensor embedding, Tensor lmHead, IReadOnlyList<MambaBlock> blocks, RmsNorm finalNorm, out string why)
    {
        int hidden = (int)embedding.size(1);
        long work = 0;
        var layers = new ILayerStep[blocks.Count];
        // An untied LM head has the embeddings' vocabulary (the loader checks it), so one count bounds ids and logits.
        if (!EmbeddingTable(embedding) || !CpuDecodeOps.GemvFits(lmHead, null, hidden, MaxRows) || lmHead.size(0) != embedding.size(0) || !CpuDecodeOps.Fp32(finalNorm.Weight))
        {
            why = "the embeddings, the LM head or the final norm are not in a layout the decode step takes";
            return null;
        }

        for (int i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            ILayerStep? layer = block.Mixer switch
            {
                Mamba2Mixer m2 => Mamba2Step.TryCreate(block.Norm, m2),
                Mamba1Mixer m1 => Mamba1Step.TryCreate(block.Norm, m1),
                _ => null,
            };
            if (layer is null || !CpuDecodeOps.Fp32(block.Norm.Weight))
            {
                why = $"layer {i} ({block.Mixer.GetType().Name}) has weights or options the decode step does not take";
                return null;
            }

            layers[i] = layer;
            work = Math.Max(work, layer.WorkFloats);
        }

        why = "";
        // Kept past the caller's dispose scope: Embedding.weight hands out a new wrapper, owned by that scope, each call.
        return new CpuDecodeStep(ops, embedding.DetachFromDisposeScope(), lmHead.DetachFromDisposeScope(), finalNorm, layers, hidden, MaxRows * work);
    }

    // The step's methods are compiled optimised on their first call, as the kernels are: a short generation (the CLI's
    // 64 tokens) otherwise ran most of its steps as unoptimised tier-0 code.

    /// <summary>
    /// The logits [rows, vocab] of one decode token a row, each row's states advanced in its slot
    /// (<paramref name="stateBlocks"/>, -1 for a padding row, whose logits are unspecified); null, with nothing
    /// changed, where the step is not one this runs.
    /// </summary>
    /// <exception cref="ArgumentException">A token id outside the vocabulary, or a state block outside the cache.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor? TryRun(ReadOnlySpan<long> tokenIds, int[] stateBlocks)
    {
        int rows = tokenIds.Length;
        if (rows == 0 || rows > MaxRows || stateBlocks.Length != rows)
        {
            return null;
        }

        int maxBlock = -1;
        foreach (int block in stateBlocks)
        {
            maxBlock = Math.Max(maxBlock, block);
        }

        foreach (var layer in _layers)
        {
            if (!layer.StatesFit(maxBlock))
            {
                return null;
            }
        }

        for (int r = 0; r < rows; r++)
        {
            if ((ulong)tokenIds[r] >= (ulong)_vocab)
            {
                throw new ArgumentException($"Token id {tokenIds[r]} (row {r}) is outside the vocabulary of {_vocab} tokens.", nameof(tokenIds));
            }

            Embed(tokenIds[r], _residual + r * _hidden);
        }

        foreach (var layer in _layers)
        {
            layer.Run(this, rows, stateBlocks);
        }

        CpuDecodeOps.RmsNormRows(_residual, rows, _hidden, CpuDecodeOps.Ptr(_finalNorm.Weight), _finalNorm.Eps, _normed);
        var logits = torch.empty(rows, _vocab, dtype: ScalarType.Float32);
        _ops.GemvInto(_normed, _hidden, rows, _lmHead, null, CpuDecodeOps.Ptr(logits));
        return logits;
    }

    /// <summary>The embedding row of <paramref name="id"/> widened to fp32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Embed(long id, float* row)
    {
        void* table = (void*)Cuda.TorchCuda.DataPtrOfAnyDevice(_embedding);
        switch (_embedding.dtype)
        {
            case ScalarType.Float32:
                new ReadOnlySpan<float>((float*)table + id * _hidden, _hidden).CopyTo(new Span<float>(row, _hidden));
                break;
            case ScalarType.BFloat16:
                var bits = (ushort*)table + id * _hidden;
                for (int i = 0; i < _hidden; i++)
                {
                    row[i] = BitConverter.Int32BitsToSingle(bits[i] << 16);
                }

                break;
            default:
                System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>((Half*)table + id * _hidden, _hidden), new Span<float>(row, _hidden));
                break;
        }
    }

    /// <summary>An embedding table <see cref="Embed"/> reads: 2-D, contiguous, fp32/bf16/f16, on the CPU.</summary>
    private static bool EmbeddingTable(Tensor weight) =>
        weight.device_type == DeviceType.CPU && weight.dim() == 2 && weight.is_contiguous()
        && weight.dtype is ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16;

    private static bool Fp32Vector(Tensor? t, long length) =>
        t is null || (CpuDecodeOps.Fp32(t) && t.is_contiguous() && t.numel() == length);

    /// <summary>A conv weight [channels, 1, K] (or [channels, K]) of fp32, contiguous.</summary>
    private static bool ConvWeight(Tensor weight, long channels, int kernel) =>
        CpuDecodeOps.Fp32(weight) && weight.is_contiguous() && weight.size(0) == channels && kernel >= 2 && weight.numel() == channels * kernel;

    /// <summary>States of fp32 whose blocks are each packed (the pages between them may be padded) and hold <paramref name="maxBlock"/>.</summary>
    private static bool StateFits(Tensor states, int maxBlock) =>
        CpuDecodeOps.Fp32(states) && states.dim() >= 2 && Ops.OpArgs.RowsContiguous(states, (int)states.dim() - 1) && maxBlock < states.size(0);

    private static float[] Pinned(long floats) => GC.AllocateUninitializedArray<float>((int)Math.Max(1, floats), pinned: true);

    private static float* Address(float[] pinned) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));

    /// <summary>One block of the step: residual += mixer(norm(residual)), over the step's scratch rows.</summary>
    private interface ILayerStep
    {
        /// <summary>Scratch floats a row needs.</summary>
        long WorkFloats { get; }

        /// <summary>Whether this layer's states are fp32, packed and hold block <paramref name="maxBlock"/>.</summary>
        bool StatesFit(int maxBlock);

        void Run(CpuDecodeStep step, int rows, int[] slots);
    }

    /// <summary>Mamba-2 (gate-then-norm, no in_proj multipliers): norm + in_proj, conv update, SSD update, gated norm, out_proj + add.</summary>
    private sealed class Mamba2Step : ILayerStep
    {
        private readonly RmsNorm _blockNorm;
        private readonly Mamba2Mixer _mixer;
        private readonly Mamba2Weights _w;
        private readonly Mamba2MixerOptions _o;
        private readonly long _projected;

        private Mamba2Step(RmsNorm blockNorm, Mamba2Mixer mixer)
        {
            (_blockNorm, _mixer, _w, _o) = (blockNorm, mixer, mixer.Weights, mixer.Options);
            _projected = _w.InProj.size(0);
        }

        public static Mamba2Step? TryCreate(RmsNorm blockNorm, Mamba2Mixer mixer)
        {
            var (o, w) = (mixer.Options, mixer.Weights);
            int inner = o.IntermediateSize;
            bool fits = w.Norm is { NormBeforeGate: false } && o.InProjectionMultipliers is null
                && CpuDecodeOps.GemvFits(w.InProj, w.InProjBias, o.HiddenSize, MaxRows) && w.InProj.size(0) == 2 * inner + 2 * o.NGroups * o.StateSize + o.NumHeads
                && CpuDecodeOps.GemvFits(w.OutProj, w.OutProjBias, inner, MaxRows)
                && ConvWeight(w.Conv, o.ConvDim, o.ConvKernel) && Fp32Vector(w.ConvBias, o.ConvDim) && Fp32Vector(w.DtBias, o.NumHeads) && Fp32Vector(w.ALog, o.NumHeads)
                && (Fp32Vector(w.D, o.NumHeads) || Fp32Vector(w.D, (long)o.NumHeads * o.HeadDim)) && Fp32Vector(w.Norm.Weight, inner);
            return fits ? new Mamba2Step(blockNorm, mixer) : null;
        }

        // [z | xBC | dt] projected, then y and the gated rows, then out_proj's products.
        public long WorkFloats => _projected + 2L * _o.IntermediateSize + _o.HiddenSize;

        public bool StatesFit(int maxBlock) => StateFits(_mixer.ConvStateTensor, maxBlock) && StateFits(_mixer.SsmStateTensor, maxBlock);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(CpuDecodeStep step, int rows, int[] slots)
        {
            var (o, w, ops) = (_o, _w, step._ops);
            long p = _projected, inner = o.IntermediateSize, groupState = (long)o.NGroups * o.StateSize;
            float* zxbcdt = step._work, y = zxbcdt + MaxRows * p, gated = y + MaxRows * inner, products = gated + MaxRows * inner;
            CpuDecodeOps.RmsNormRows(step._residual, rows, step._hidden, CpuDecodeOps.Ptr(_blockNorm.Weight), _blockNorm.Eps, step._normed);
            ops.GemvInto(step._normed, step._hidden, rows, w.InProj, w.InProjBias, zxbcdt);
            float* xbc = zxbcdt + inner;
            CpuDecodeOps.ConvUpdateRows(xbc, p, xbc, p, o.ConvDim, CpuDecodeOps.Ptr(w.Conv), o.ConvKernel,
                w.ConvBias is null ? null : CpuDecodeOps.Ptr(w.ConvBias), true, _mixer.ConvStateTensor, slots);
            var states = _mixer.SsmStateTensor;
            ops.SsdUpdate(new CpuDecodeOps.SsdUpdateArgs
            {
                X = xbc, Dt = zxbcdt + inner + o.ConvDim, ALog = CpuDecodeOps.Ptr(w.ALog), B = xbc + inner, C = xbc + inner + groupState,
                D = CpuDecodeOps.Ptr(w.D), DtBias = CpuDecodeOps.Ptr(w.DtBias), States = CpuDecodeOps.Ptr(states), Y = y,
                XStride = p, DtStride = p, BStride = p, CStride = p, BlockStride = states.stride(0), Heads = o.NumHeads, HeadDim = o.HeadDim,
                StateDim = o.StateSize, Groups = o.NGroups, DPerHeadDim = w.D.dim() == 2, Softplus = true,
                Min = (float)o.TimeStepLimit.Min, Max = (float)o.TimeStepLimit.Max,
            }, slots);
            var norm = w.Norm!;
            CpuDecodeOps.GatedNormRows(y, inner, zxbcdt, p, rows, inner, CpuDecodeOps.Ptr(norm.Weight), norm.GroupSize, norm.Eps, gated);
            ops.GemvInto(gated, inner, rows, w.OutProj, w.OutProjBias, products);
            CpuDecodeOps.AddInto(step._residual, products, rows * step._hidden);
        }
    }

    /// <summary>Mamba-1: norm + in_proj, conv update of x, x_proj, dt_proj, selective update gated by z, out_proj + add.</summary>
    private sealed class Mamba1Step : ILayerStep
    {
        private readonly RmsNorm _blockNorm;
        private readonly Mamba1Mixer _mixer;
        private readonly Mamba1Weights _w;
        private readonly Mamba1MixerOptions _o;

        private Mamba1Step(RmsNorm blockNorm, Mamba1Mixer mixer) => (_blockNorm, _mixer, _w, _o) = (blockNorm, mixer, mixer.Weights, mixer.Options);

        public static Mamba1Step? TryCreate(RmsNorm blockNorm, Mamba1Mixer mixer)
        {
            var (o, w) = (mixer.Options, mixer.Weights);
            int inner = o.IntermediateSize;
            bool fits = CpuDecodeOps.GemvFits(w.InProj, w.InProjBias, o.HiddenSize, MaxRows) && w.InProj.size(0) == 2 * inner
                && CpuDecodeOps.GemvFits(w.XProj, null, inner, MaxRows) && w.XProj.size(0) == o.TimeStepRank + 2 * o.StateSize
                && CpuDecodeOps.GemvFits(w.DtProj, null, o.TimeStepRank, MaxRows) && w.DtProj.size(0) == inner
                && CpuDecodeOps.GemvFits(w.OutProj, w.OutProjBias, inner, MaxRows) && Fp32Vector(w.DtProjBias, inner)
                && ConvWeight(w.Conv, inner, o.ConvKernel) && Fp32Vector(w.ConvBias, inner) && Fp32Vector(w.ALog, (long)inner * o.StateSize) && Fp32Vector(w.D, inner);
            return fits ? new Mamba1Step(blockNorm, mixer) : null;
        }

        // [x | z] projected, x_proj's [dt_rank | B | C], dt, y, then out_proj's products.
        public long WorkFloats => 2L * _o.IntermediateSize + _o.TimeStepRank + 2L * _o.StateSize + 2L * _o.IntermediateSize + _o.HiddenSize;

        public bool StatesFit(int maxBlock) => StateFits(_mixer.ConvStateTensor, maxBlock) && StateFits(_mixer.SsmStateTensor, maxBlock);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(CpuDecodeStep step, int rows, int[] slots)
        {
            var (o, w, ops) = (_o, _w, step._ops);
            long inner = o.IntermediateSize, xz = 2 * inner, dbl = o.TimeStepRank + 2L * o.StateSize;
            float* x = step._work, xdbl = x + MaxRows * xz, dt = xdbl + MaxRows * dbl, y = dt + MaxRows * inner, products = y + MaxRows * inner;
            CpuDecodeOps.RmsNormRows(step._residual, rows, step._hidden, CpuDecodeOps.Ptr(_blockNorm.Weight), _blockNorm.Eps, step._normed);
            ops.GemvInto(step._normed, step._hidden, rows, w.InProj, w.InProjBias, x);
            CpuDecodeOps.ConvUpdateRows(x, xz, x, xz, inner, CpuDecodeOps.Ptr(w.Conv), o.ConvKernel,
                w.ConvBias is null ? null : CpuDecodeOps.Ptr(w.ConvBias), true, _mixer.ConvStateTensor, slots);
            ops.GemvInto(x, xz, rows, w.XProj, null, xdbl);
            // dt_proj without its bias: the update adds it before softplus, as mamba_ssm's delta_bias.
            ops.GemvInto(xdbl, dbl, rows, w.DtProj, null, dt);
            var states = _mixer.SsmStateTensor;
            ops.SelectiveUpdate(new CpuDecodeOps.SelectiveUpdateArgs
            {
                X = x, Delta = dt, ALog = CpuDecodeOps.Ptr(w.ALog), B = xdbl + o.TimeStepRank, C = xdbl + o.TimeStepRank + o.StateSize,
                D = CpuDecodeOps.Ptr(w.D), Z = x + inner, DeltaBias = CpuDecodeOps.Ptr(w.DtProjBias), States = CpuDecodeOps.Ptr(states), Y = y,
                XStride = xz, DeltaStride = inner, BStride = dbl, CStride = dbl, ZStride = xz, BlockStride = states.stride(0),
                Channels = inner, StateDim = o.StateSize, Softplus = true,
            }, slots);
            ops.GemvInto(y, inner, rows, w.OutProj, w.OutProjBias, products);
            CpuDecodeOps.AddInto(step._residual, products, rows * step._hidden);
        }
    }
}
