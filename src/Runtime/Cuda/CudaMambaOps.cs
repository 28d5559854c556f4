using System;
using System.Runtime.InteropServices;
using MambaGen.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Cuda;

/// <summary>
/// The op families as fused CUDA kernels (<see cref="KernelSources"/>), launched on libtorch's current stream over
/// TorchSharp tensors: states read and written in place by slot, padding rows skipped. Inputs the kernels do not take
/// (a state dim above 256, weights in another dtype than the activations, a state view whose rows are not contiguous)
/// go to the reference ops, so the set is correct for any input the reference accepts.
/// </summary>
internal sealed class CudaMambaOps : IConvOps, ISsdOps, ISelectiveScanOps, INormOps, ILinearOps, IFusedProjectionOps, IGreedyOps
{
    private const int SsdWarps = 8;

    // The vector decode update: 4 warps of 4 p rows a block.
    private const int VectorSsmWarps = 4;
    private const int VectorSsmRowsPerBlock = 16;
    // The wide Mamba-2 update's state values a thread (mamba2.cu's SSD_WIDE_SEG) and its largest state dim.
    private const int WideSsmSegment = 32;
    private const int WideSsmMaxState = 256;

    // About the blocks an H100/H200 keeps resident (132 SMs, several blocks each): below it, work is split finer.
    private const int FillBlocks = 1024;
    private const int MaxStateDimPerLane = 8;

    // The prefill conv keeps its window in 8 registers; each thread slides it along 64 tokens.
    private const int MaxConvWidth = 8;
    private const int ConvChunkTokens = 64;
    private static readonly ReferenceOps Reference = ReferenceOps.Instance;

    // The tiled Mamba-2 scan gives each thread 16 state values of a p row; the per-channel Mamba-1 scan takes 16 in all.
    private const int TiledStatePerThread = 16;
    private const int ChannelScanMaxState = 16;

    private readonly KernelTarget _target;
    private readonly ICudaDriver _driver;
    private readonly KernelChoices _choices;
    // mma.sync with bf16 operands: compute capability 8.0 and later.
    private readonly bool _tensorCores;
    // The GEMV kernels keep a row's partial sums in registers: steps of up to this many tokens run fused.
    private const int GemvMaxRows = 8;
    private const int GemvWarps = 8;
    private const int GemvMaxScales = 64;

    private readonly KernelFamily _convUpdate, _convVarlen, _convVarlenStates, _shortConvUpdate, _ssdUpdate, _ssdUpdateVec, _ssdUpdateWide, _ssdScanVarlen, _ssdScanTiled, _ssdScanChunk, _ssdScanChunkCarry,
        _ssdChunkState, _ssdChunkScan, _selectiveUpdate, _selectiveUpdateChannels, _selectiveScanVarlen, _selectiveScanChannels, _selectiveScanBlock, _selectiveScanChunk, _selectiveScanChunkCarry, _addRmsNorm, _gatedRmsNorm;
    private readonly GemvFamily _gemv, _rmsNormGemv, _gatedGemv, _rmsNormGemvConv;
    private readonly KernelFamily _greedyRows;
    // A block of 1024 threads per row of logits (sample.cu's GREEDY_THREADS).
    private const int GreedyThreads = 1024;
    private readonly ComposedProjections _composed;

    private CudaMambaOps(KernelTarget target, ICudaDriver driver, KernelChoices choices, bool tensorCores, CudaModule conv, CudaModule mamba2, CudaModule mamba1, CudaModule norm, CudaModule gemv,
        CudaModule sample)
    {
        (_target, _driver, _choices, _tensorCores) = (target, driver, choices, tensorCores);
        (_convUpdate, _convVarlen, _convVarlenStates, _shortConvUpdate) =
            (new(conv, "conv_update"), new(conv, "conv_varlen"), new(conv, "conv_varlen_states"), new(conv, "short_conv_update"));
        (_ssdUpdate, _ssdUpdateVec, _ssdScanVarlen, _ssdScanTiled) =
            (new(mamba2, "ssd_update"), new(mamba2, "ssd_update_vec"), new(mamba2, "ssd_scan_varlen"), new(mamba2, "ssd_scan_tiled"));
        (_ssdScanChunk, _ssdScanChunkCarry) = (new(mamba2, "ssd_scan_chunk"), new(mamba2, "ssd_scan_chunk_carry"));
        _ssdUpdateWide = new(mamba2, "ssd_update_wide");
        (_ssdChunkState, _ssdChunkScan) = (new(mamba2, "ssd_chunk_state", perState: false), new(mamba2, "ssd_chunk_scan", perState: false));
        (_selectiveUpdate, _selectiveUpdateChannels, _selectiveScanVarlen, _selectiveScanChannels) =
            (new(mamba1, "selective_update"), new(mamba1, "selective_update_channels"), new(mamba1, "selective_scan_varlen"), new(mamba1, "selective_scan_channels"));
        (_selectiveScanChunk, _selectiveScanChunkCarry) = (new(mamba1, "selective_scan_chunk"), new(mamba1, "selective_scan_chunk_carry"));
        _selectiveScanBlock = new(mamba1, "selective_scan_block");
        (_addRmsNorm, _gatedRmsNorm) = (new(norm, "add_rmsnorm"), new(norm, "gated_rmsnorm", perState: false));
        (_gemv, _rmsNormGemv, _gatedGemv, _rmsNormGemvConv) =
            (new(gemv, "gemv"), new(gemv, "rmsnorm_gemv"), new(gemv, "gated_gemv"), new(gemv, "rmsnorm_gemv_conv"));
        _greedyRows = new(sample, "greedy_rows", perState: false);
        _composed = new ComposedProjections(this, this, this, this);
    }

    /// <summary>The kernel variants this set launches.</summary>
    public KernelChoices Choices => _choices;

    /// <summary>The kernels for CUDA device <paramref name="device"/>, or null and why not (nothing is thrown for an environment problem).</summary>
    public static CudaMambaOps? TryCreate(CudaRuntime runtime, int device, KernelChoices choices, out string reason) =>
        TryCreate(runtime, KernelTarget.Cuda(device), choices, out reason);

    /// <summary>The kernels over the tensors of <paramref name="target"/> (a CUDA device, or the CPU under the tests' kernel emulator).</summary>
    internal static CudaMambaOps? TryCreate(CudaRuntime runtime, KernelTarget target, KernelChoices choices, out string reason)
    {
        var modules = new CudaModule[KernelSources.All.Count];
        for (int i = 0; i < modules.Length; i++)
        {
            var module = runtime.TryLoad(KernelSources.All[i], out reason);
            if (module is null)
            {
                return null;
            }

            modules[i] = module;
        }

        reason = "";
        return new CudaMambaOps(target, runtime.Driver, choices, runtime.ComputeCapability.Major >= 8, modules[0], modules[1], modules[2], modules[3], modules[4], modules[5]);
    }

    // ---- conv -------------------------------------------------------------------------------------------------

    public Tensor Forward(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, PrefillBatch batch)
    {
        long dim = CausalConv1d.CheckWeights(x, weight, bias, convStates, out int width);
        OpArgs.Dims(x, nameof(x), batch.NumTokens, dim);
        OpArgs.CheckBlocks(batch.MaxStateIndex, convStates, nameof(convStates));
        if (!Kernel(x, convStates) || !Same(x, weight, bias) || !OpArgs.RowsContiguous(convStates, 2) || x.stride(1) != 1 || width > MaxConvWidth)
        {
            return Reference.Forward(x, weight, bias, silu, convStates, batch);
        }

        long tokens = x.shape[0];
        var output = torch.empty(tokens, dim, dtype: x.dtype, device: x.device);
        if (batch.Count == 0)
        {
            return output;
        }

        int threads = 128, blocksX = Blocks(dim, threads);
        var stream = Stream;
        _convVarlen.For(x.dtype, convStates.dtype).Launch(new LaunchGrid(blocksX, batch.Count, Blocks(batch.LongestSequence, ConvChunkTokens), threads, 1, 1), stream,
            Arg(x), KernelArg.I64(x.stride(0)), Arg(weight), OptionalArg(bias), Arg(convStates),
            KernelArg.I64(convStates.stride(0)), Arg(batch.StateIndices), Arg(batch.HasInitialState),
            Arg(batch.QueryStartLocTensor), Arg(output), KernelArg.I32(ConvChunkTokens), KernelArg.I32(batch.Count),
            KernelArg.I32((int)dim), KernelArg.I32(width), KernelArg.I32(silu ? 1 : 0));
        _convVarlenStates.For(x.dtype, convStates.dtype).Launch(new LaunchGrid(blocksX, batch.Count, 1, threads, 1, 1), stream,
            Arg(x), KernelArg.I64(x.stride(0)), Arg(convStates), KernelArg.I64(convStates.stride(0)),
            Arg(batch.StateIndices), Arg(batch.HasInitialState), Arg(batch.QueryStartLocTensor),
            KernelArg.I32(batch.Count), KernelArg.I32((int)dim), KernelArg.I32(width));
        return output;
    }

    public Tensor Update(Tensor x, Tensor weight, Tensor? bias, bool silu, Tensor convStates, DecodeBatch batch)
    {
        long dim = CausalConv1d.CheckWeights(x, weight, bias, convStates, out int width);
        OpArgs.Dims(x, nameof(x), batch.Count, dim);
        OpArgs.CheckBlocks(batch.MaxStateIndex, convStates, nameof(convStates));
        if (!Kernel(x, convStates) || !Same(x, weight, bias) || !OpArgs.RowsContiguous(convStates, 2) || x.stride(1) != 1 || width > MaxConvWidth)
        {
            return Reference.Update(x, weight, bias, silu, convStates, batch);
        }

        var output = torch.empty(batch.Count, dim, dtype: x.dtype, device: x.device);
        if (batch.Count == 0)
        {
            return output;
        }

        int threads = 128;
        _convUpdate.For(x.dtype, convStates.dtype).Launch(new LaunchGrid(Blocks(dim, threads), batch.Count, 1, threads, 1, 1), Stream,
            Arg(x), KernelArg.I64(x.stride(0)), Arg(weight), OptionalArg(bias), Arg(convStates),
            KernelArg.I64(convStates.stride(0)), Arg(batch.StateIndices), Arg(output), KernelArg.I32(batch.Count),
            KernelArg.I32((int)dim), KernelArg.I32(width), KernelArg.I32(silu ? 1 : 0));
        return output;
    }

    public Tensor GatedUpdate(Tensor bcx, Tensor weight, Tensor? bias, Tensor convStates, DecodeBatch batch)
    {
        long dim = CausalConv1d.CheckWeights(bcx, weight, bias, convStates, out int width);
        OpArgs.Dims(bcx, nameof(bcx), batch.Count, 3 * dim);
        OpArgs.CheckBlocks(batch.MaxStateIndex, convStates, nameof(convStates));
        if (!Kernel(bcx, convStates) || !Same(bcx, weight, bias) || !OpArgs.RowsContiguous(convStates, 2) || bcx.stride(1) != 1 || width > MaxConvWidth)
        {
            return ((IConvOps)Reference).GatedUpdate(bcx, weight, bias, convStates, batch);
        }

        var output = torch.empty(batch.Count, dim, dtype: bcx.dtype, device: bcx.device);
        if (batch.Count == 0)
        {
            return output;
        }

        int threads = 128;
        _shortConvUpdate.For(bcx.dtype, convStates.dtype).Launch(new LaunchGrid(Blocks(dim, threads), batch.Count, 1, threads, 1, 1), Stream,
            Arg(bcx), KernelArg.I64(bcx.stride(0)), Arg(weight), OptionalArg(bias), Arg(convStates), KernelArg.I64(convStates.stride(0)),
            Arg(batch.StateIndices), Arg(output), KernelArg.I32(batch.Count), KernelArg.I32((int)dim), KernelArg.I32(width));
        return output;
    }

    // ---- Mamba-2 SSM ------------------------------------------------------------------------------------------

    public Tensor ChunkScan(Tensor x, Tensor dt, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus,
        (double Min, double Max) dtLimit, Tensor ssmStates, PrefillBatch batch)
    {
        var (heads, headDim, stateDim) = Ssd.Check(x, dt, aLog, b, c, d, dtBias, batch.NumTokens);
        CheckSsmStates(ssmStates, x, heads, headDim, stateDim, batch.MaxStateIndex);
        if (!SsdKernel(x, dt, aLog, b, c, d, dtBias, ssmStates, stateDim))
        {
            return Reference.ChunkScan(x, dt, aLog, b, c, d, dtBias, dtSoftplus, dtLimit, ssmStates, batch);
        }

        var y = torch.empty(x.shape[0], heads, headDim, dtype: x.dtype, device: x.device);
        if (batch.Count == 0)
        {
            return y;
        }

        // The parameters every ssd_scan_* entry of mamba2.cu starts with.
        KernelArg[] scan =
        [
            Arg(x), Arg(b), Arg(c), Arg(dt), Arg(aLog), OptionalArg(d),
            OptionalArg(dtBias), Arg(ssmStates), KernelArg.I64(ssmStates.stride(0)), Arg(batch.StateIndices),
            Arg(batch.HasInitialState), Arg(batch.QueryStartLocTensor), Arg(y), KernelArg.I32(batch.Count),
            KernelArg.I32(dtSoftplus ? 1 : 0), KernelArg.I64(x.stride(0)), KernelArg.I64(b.stride(0)), KernelArg.I64(dt.stride(0)),
            KernelArg.I32((int)heads), KernelArg.I32((int)headDim), KernelArg.I32((int)b.shape[1]), KernelArg.I32((int)stateDim),
            KernelArg.I32(d is not null && d.dim() == 2 ? 1 : 0), KernelArg.F32((float)dtLimit.Min), KernelArg.F32((float)dtLimit.Max),
        ];
        if (_tensorCores && _choices.TensorCoreMamba2Scan(x.dtype) && batch.Chunks(MmaChunkTokens).Count <= LaunchGrid.MaxGridZ)
        {
            // Chunk states as X_w^T B, their carry across the chunks (and the final state), then the outputs as matrix products.
            var chunks = batch.Chunks(MmaChunkTokens);
            var (carry, dtSum) = ChunkCarry(chunks, heads * headDim * stateDim, heads, x.device);
            KernelArg[] shape =
            [
                Arg(batch.QueryStartLocTensor), Arg(chunks.Table), KernelArg.I32(batch.Count), KernelArg.I32(dtSoftplus ? 1 : 0),
                KernelArg.I64(x.stride(0)), KernelArg.I64(b.stride(0)), KernelArg.I64(dt.stride(0)),
                KernelArg.I32((int)heads), KernelArg.I32((int)headDim), KernelArg.I32((int)b.shape[1]), KernelArg.I32((int)stateDim),
            ];
            KernelArg[] limits = [KernelArg.F32((float)dtLimit.Min), KernelArg.F32((float)dtLimit.Max)];
            int pTiles = Blocks(headDim, MmaTile);
            _ssdChunkState.For(x.dtype).Launch(new LaunchGrid(pTiles * Blocks(stateDim, MmaTile), (int)heads, chunks.Count, 128, 1, 1), Stream,
                [Arg(x), Arg(b), Arg(dt), Arg(aLog), OptionalArg(dtBias), .. shape, .. limits, Arg(carry), Arg(dtSum)]);
            LaunchSsdCarry(aLog, ssmStates, batch, chunks, heads, headDim, stateDim, carry, dtSum);
            _ssdChunkScan.For(x.dtype).Launch(new LaunchGrid(pTiles, (int)heads, chunks.Count, 32 * (MmaChunkTokens / 16), 1, 1), Stream,
            [
                Arg(x), Arg(b), Arg(c), Arg(dt), Arg(aLog), OptionalArg(d), OptionalArg(dtBias), Arg(batch.StateIndices),
                Arg(batch.QueryStartLocTensor), Arg(chunks.Table), Arg(y), .. shape[2..],
                KernelArg.I32(d is not null && d.dim() == 2 ? 1 : 0), .. limits, Arg(carry),
            ]);
            return y;
        }

        if (_choices.ChunkedScan && batch.Chunks(ScanChunkTokens).Count <= LaunchGrid.MaxGridZ)
        {
            // Chunk states from zeros, their carry across the chunks (and the final state), then the outputs.
            var chunks = batch.Chunks(ScanChunkTokens);
            var (carry, dtSum) = ChunkCarry(chunks, heads * headDim * stateDim, heads, x.device);
            KernelArg[] chunked = [KernelArg.I32(ScanChunkTokens), Arg(chunks.Table), Arg(carry), Arg(dtSum)];
            var grid = new LaunchGrid(Blocks(headDim, SsdWarps), (int)heads, chunks.Count, 32 * SsdWarps, 1, 1);
            var pass = _ssdScanChunk.For(x.dtype, ssmStates.dtype);
            pass.Launch(grid, Stream, [.. scan, .. chunked, KernelArg.I32(0)]);
            LaunchSsdCarry(aLog, ssmStates, batch, chunks, heads, headDim, stateDim, carry, dtSum);
            pass.Launch(grid, Stream, [.. scan, .. chunked, KernelArg.I32(1)]);
            return y;
        }

        if (_choices.TiledMamba2Scan(batch.Count, heads))
        {
            // A p row's state over tpr threads; the fewer rows a block holds, the more blocks share the machine.
            int tpr = 1;
            while (tpr * TiledStatePerThread < stateDim)
            {
                tpr <<= 1;
            }

            int rows = 256 / tpr;
            while (rows * tpr > 32 && (rows / 2 >= headDim || (long)Blocks(headDim, rows) * heads * batch.Count < FillBlocks))
            {
                rows /= 2;
            }

            _ssdScanTiled.For(x.dtype, ssmStates.dtype).Launch(
                new LaunchGrid(Blocks(headDim, rows), (int)heads, batch.Count, rows * tpr, 1, 1), Stream, [.. scan, KernelArg.I32(tpr)]);
            return y;
        }

        _ssdScanVarlen.For(x.dtype, ssmStates.dtype).Launch(
            new LaunchGrid(Blocks(headDim, SsdWarps), (int)heads, batch.Count, 32 * SsdWarps, 1, 1), Stream, scan);
        return y;
    }

    public Tensor StateUpdate(Tensor ssmStates, Tensor x, Tensor dt, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, bool dtSoftplus,
        (double Min, double Max) dtLimit, DecodeBatch batch)
    {
        var (heads, headDim, stateDim) = Ssd.Check(x, dt, aLog, b, c, d, dtBias, batch.Count);
        CheckSsmStates(ssmStates, x, heads, headDim, stateDim, batch.MaxStateIndex);
        if (!SsdKernel(x, dt, aLog, b, c, d, dtBias, ssmStates, stateDim))
        {
            return Reference.StateUpdate(ssmStates, x, dt, aLog, b, c, d, dtBias, dtSoftplus, dtLimit, batch);
        }

        var y = torch.empty(batch.Count, heads, headDim, dtype: x.dtype, device: x.device);
        if (batch.Count == 0)
        {
            return y;
        }

        // Every update's entry takes the same arguments.
        KernelArg[] args =
        [
            Arg(x), Arg(b), Arg(c), Arg(dt), Arg(aLog), OptionalArg(d), OptionalArg(dtBias), Arg(ssmStates), KernelArg.I64(ssmStates.stride(0)),
            Arg(batch.StateIndices), Arg(y), KernelArg.I32(batch.Count), KernelArg.I32(dtSoftplus ? 1 : 0), KernelArg.I64(x.stride(0)),
            KernelArg.I64(b.stride(0)), KernelArg.I64(dt.stride(0)), KernelArg.I32((int)heads), KernelArg.I32((int)headDim),
            KernelArg.I32((int)b.shape[1]), KernelArg.I32((int)stateDim), KernelArg.I32(d is not null && d.dim() == 2 ? 1 : 0),
            KernelArg.F32((float)dtLimit.Min), KernelArg.F32((float)dtLimit.Max),
        ];

        // The wide update: a thread per 32 state values of a p row, a power of two of them a row, whole warps a block.
        long segments = stateDim / WideSsmSegment;
        bool rowsAligned = ssmStates.stride(0) % 8 == 0 && Aligned(ssmStates);
        if (_choices.WideMamba2Update && stateDim % WideSsmSegment == 0 && stateDim <= WideSsmMaxState && (segments & (segments - 1)) == 0
            && headDim * segments is var threads && threads % 32 == 0 && threads <= 1024 && rowsAligned)
        {
            _ssdUpdateWide.For(x.dtype, ssmStates.dtype).Launch(new LaunchGrid((int)heads, batch.Count, 1, (int)threads, 1, 1), Stream, args);
            return y;
        }

        if (_choices.VectorMamba2Update && stateDim % 4 == 0 && stateDim <= 128 && rowsAligned)
        {
            // Four warps of four p rows a block, each lane four consecutive state values read and written at once.
            _ssdUpdateVec.For(x.dtype, ssmStates.dtype).Launch(
                new LaunchGrid(Blocks(headDim, VectorSsmRowsPerBlock), (int)heads, batch.Count, 32 * VectorSsmWarps, 1, 1), Stream, args);
            return y;
        }

        // A block per (row, head) walks the head's p rows; split a head over more blocks only while the grid is small.
        int split = (int)Math.Clamp((FillBlocks + heads * batch.Count - 1) / (heads * batch.Count), 1, Blocks(headDim, SsdWarps));
        _ssdUpdate.For(x.dtype, ssmStates.dtype).Launch(new LaunchGrid(split, (int)heads, batch.Count, 32 * SsdWarps, 1, 1), Stream, args);
        return y;
    }

    // ---- Mamba-1 SSM ------------------------------------------------------------------------------------------

    public Tensor Forward(Tensor u, Tensor delta, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias, bool deltaSoftplus,
        Tensor ssmStates, PrefillBatch batch)
    {
        SelectiveScan.Check(u, delta, aLog, b, c, d, z, deltaBias, ssmStates, batch.NumTokens);
        OpArgs.CheckBlocks(batch.MaxStateIndex, ssmStates, nameof(ssmStates));
        if (!ScanKernel(u, delta, aLog, b, c, d, z, deltaBias, ssmStates, out int lanes))
        {
            return Reference.Forward(u, delta, aLog, b, c, d, z, deltaBias, deltaSoftplus, ssmStates, batch);
        }

        long channels = aLog.shape[0];
        var y = torch.empty(u.shape[0], channels, dtype: u.dtype, device: u.device);
        if (batch.Count == 0)
        {
            return y;
        }

        // The parameters every selective_scan_* entry of mamba1.cu starts with.
        KernelArg[] scan =
        [
            Arg(u), Arg(delta), Arg(aLog), Arg(b), Arg(c), OptionalArg(d),
            OptionalArg(z), OptionalArg(deltaBias), Arg(ssmStates), KernelArg.I64(ssmStates.stride(0)),
            Arg(batch.StateIndices), Arg(batch.HasInitialState), Arg(batch.QueryStartLocTensor), Arg(y),
            KernelArg.I32(batch.Count), KernelArg.I32(deltaSoftplus ? 1 : 0), KernelArg.I64(u.stride(0)), KernelArg.I64(delta.stride(0)),
            KernelArg.I64(b.stride(0)), KernelArg.I64(z?.stride(0) ?? 0), KernelArg.I32((int)channels), KernelArg.I32((int)aLog.shape[1]),
        ];
        if (_choices.BlockMamba1Scan && aLog.shape[1] <= ChannelScanMaxState)
        {
            // A block per (channel, sequence), 8 tokens a thread; 64 threads where the longest sequence fills no more.
            int blockThreads = batch.LongestSequence <= 512 ? 64 : BlockScanThreads;
            _selectiveScanBlock.For(u.dtype, ssmStates.dtype).Launch(new LaunchGrid((int)channels, batch.Count, 1, blockThreads, 1, 1), Stream, scan);
            return y;
        }

        if (_choices.ChunkedScan && aLog.shape[1] <= ChannelScanMaxState && batch.Chunks(ScanChunkTokens).Count <= LaunchGrid.MaxGridY)
        {
            // Chunk states from zeros, their carry across the chunks (and the final state), then the outputs.
            var chunks = batch.Chunks(ScanChunkTokens);
            var (carry, dtSum) = ChunkCarry(chunks, channels * ChannelScanMaxState, channels, u.device);
            KernelArg[] chunked = [KernelArg.I32(ScanChunkTokens), Arg(chunks.Table), Arg(carry), Arg(dtSum)];
            const int perBlock = 128;
            var grid = new LaunchGrid(Blocks(channels, perBlock), chunks.Count, 1, perBlock, 1, 1);
            var pass = _selectiveScanChunk.For(u.dtype, ssmStates.dtype);
            pass.Launch(grid, Stream, [.. scan, .. chunked, KernelArg.I32(0)]);
            _selectiveScanChunkCarry.For(u.dtype, ssmStates.dtype).Launch(
                new LaunchGrid(Blocks(channels, perBlock), batch.Count, 1, perBlock, 1, 1), Stream,
                [.. CarryArgs(aLog, ssmStates, batch, chunks), KernelArg.I32((int)channels), KernelArg.I32((int)aLog.shape[1]), Arg(carry), Arg(dtSum)]);
            pass.Launch(grid, Stream, [.. scan, .. chunked, KernelArg.I32(1)]);
            return y;
        }

        if (_choices.TiledMamba1Scan(batch.Count, channels) && aLog.shape[1] <= ChannelScanMaxState)
        {
            // A thread per channel: smaller blocks when there are few sequences, so more of the machine takes part.
            int perBlock = 128;
            while (perBlock > 32 && (long)Blocks(channels, perBlock) * batch.Count < FillBlocks / 4)
            {
                perBlock /= 2;
            }

            _selectiveScanChannels.For(u.dtype, ssmStates.dtype).Launch(
                new LaunchGrid(Blocks(channels, perBlock), batch.Count, 1, perBlock, 1, 1), Stream, scan);
            return y;
        }

        int threads = 256;
        _selectiveScanVarlen.For(u.dtype, ssmStates.dtype).Launch(
            new LaunchGrid(Blocks(channels * lanes, threads), batch.Count, 1, threads, 1, 1), Stream, [.. scan, KernelArg.I32(lanes)]);
        return y;
    }

    public Tensor Update(Tensor ssmStates, Tensor x, Tensor delta, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias,
        bool deltaSoftplus, DecodeBatch batch)
    {
        SelectiveScan.Check(x, delta, aLog, b, c, d, z, deltaBias, ssmStates, batch.Count);
        OpArgs.CheckBlocks(batch.MaxStateIndex, ssmStates, nameof(ssmStates));
        if (!ScanKernel(x, delta, aLog, b, c, d, z, deltaBias, ssmStates, out int lanes))
        {
            return Reference.Update(ssmStates, x, delta, aLog, b, c, d, z, deltaBias, deltaSoftplus, batch);
        }

        return LaunchSelectiveUpdate(ssmStates, x, delta, null, aLog, b, c, d, z, deltaBias, deltaSoftplus, batch, lanes);
    }

    /// <summary>dt_proj in the decode update at every batch size: one launch a layer fewer than a GEMM of [rows, rank] by [rank, channels].</summary>
    public Tensor? UpdateProjected(Tensor ssmStates, Tensor x, Tensor deltaLow, Tensor deltaWeight, Tensor aLog, Tensor b, Tensor c, Tensor? d,
        Tensor? z, Tensor? deltaBias, bool deltaSoftplus, DecodeBatch batch)
    {
        OpArgs.Dims(deltaWeight, nameof(deltaWeight), aLog.shape[0], -1);
        OpArgs.Dims(deltaLow, nameof(deltaLow), batch.Count, deltaWeight.shape[1]);
        int lanes = 0;
        bool fits = deltaLow.dtype == x.dtype && deltaLow.stride(1) == 1 && OnThisDevice(deltaLow)
            && Same(x, deltaWeight) && OnThisDevice(deltaWeight) && ScanKernel(x, x, aLog, b, c, d, z, deltaBias, ssmStates, out lanes);
        if (!fits)
        {
            return null;
        }

        SelectiveScan.Check(x, x, aLog, b, c, d, z, deltaBias, ssmStates, batch.Count);
        OpArgs.CheckBlocks(batch.MaxStateIndex, ssmStates, nameof(ssmStates));
        return LaunchSelectiveUpdate(ssmStates, x, deltaLow, deltaWeight, aLog, b, c, d, z, deltaBias, deltaSoftplus, batch, lanes);
    }

    public Tensor SelectiveUpdateProjected(Tensor ssmStates, Tensor x, Tensor deltaLow, Tensor deltaWeight, Tensor aLog, Tensor b, Tensor c, Tensor? d,
        Tensor? z, Tensor? deltaBias, bool deltaSoftplus, DecodeBatch batch) =>
        _composed.SelectiveUpdateProjected(ssmStates, x, deltaLow, deltaWeight, aLog, b, c, d, z, deltaBias, deltaSoftplus, batch);

    /// <summary>The decode state update; with <paramref name="deltaWeight"/>, <paramref name="delta"/> is dt_proj's input and the kernel projects it.</summary>
    private Tensor LaunchSelectiveUpdate(Tensor ssmStates, Tensor x, Tensor delta, Tensor? deltaWeight, Tensor aLog, Tensor b, Tensor c, Tensor? d,
        Tensor? z, Tensor? deltaBias, bool deltaSoftplus, DecodeBatch batch, int lanes)
    {
        long channels = aLog.shape[0];
        var y = torch.empty(batch.Count, channels, dtype: x.dtype, device: x.device);
        if (batch.Count == 0)
        {
            return y;
        }

        // The vector decode variant: a thread per channel where its whole state fits one thread.
        bool perChannel = _choices.ChannelMamba1Update && aLog.shape[1] <= ChannelScanMaxState;
        int threads = perChannel ? 128 : 256;
        (perChannel ? _selectiveUpdateChannels : _selectiveUpdate).For(x.dtype, ssmStates.dtype).Launch(
            new LaunchGrid(Blocks(perChannel ? channels : channels * lanes, threads), batch.Count, 1, threads, 1, 1), Stream,
            Arg(x), Arg(delta), Arg(aLog), Arg(b), Arg(c), OptionalArg(d),
            OptionalArg(z), OptionalArg(deltaBias), Arg(ssmStates), KernelArg.I64(ssmStates.stride(0)),
            Arg(batch.StateIndices), Arg(y), KernelArg.I32(batch.Count), KernelArg.I32(deltaSoftplus ? 1 : 0),
            KernelArg.I64(x.stride(0)), KernelArg.I64(delta.stride(0)), KernelArg.I64(b.stride(0)), KernelArg.I64(z?.stride(0) ?? 0),
            KernelArg.I32((int)channels), KernelArg.I32((int)aLog.shape[1]), KernelArg.I32(lanes), OptionalArg(deltaWeight),
            KernelArg.I32(deltaWeight is null ? 0 : (int)deltaWeight.shape[1]));
        return y;
    }

    // Tokens a chunk of the chunked scans covers: a 2048-token prompt is 16 chunks.
    private const int ScanChunkTokens = 128;

    // The tensor-core SSD's chunk (mamba2.cu's MMA_L: its output pass has a warp per 16 tokens) and its blocks' p rows (MMA_TILE).
    private const int MmaChunkTokens = 128;
    private const int MmaTile = 64;

    // mamba1.cu's BLOCK_SCAN_THREADS: the block scan's shared maps hold this many threads.
    private const int BlockScanThreads = 128;

    /// <summary>The parameters both scan_chunk_carry entries start with: A, the states in place by slot, the sequences.</summary>
    private KernelArg[] CarryArgs(Tensor aLog, Tensor ssmStates, PrefillBatch batch, PrefillChunks chunks) =>
    [
        Arg(aLog), Arg(ssmStates), KernelArg.I64(ssmStates.stride(0)), Arg(batch.StateIndices), Arg(batch.HasInitialState),
        Arg(chunks.Table), KernelArg.I32(batch.Count),
    ];

    /// <summary>The chunked scans' fp32 buffers: each chunk's state (<paramref name="stateSize"/> values) and its sums of dt (<paramref name="sums"/>).</summary>
    private static (Tensor Carry, Tensor DtSum) ChunkCarry(PrefillChunks chunks, long stateSize, long sums, Device device) =>
        (torch.empty(chunks.Count * stateSize, dtype: ScalarType.Float32, device: device),
         torch.empty(chunks.Count * sums, dtype: ScalarType.Float32, device: device));

    /// <summary>Mamba-2's chunk carry: each chunk's own state turned into the state entering it, the final state to the cache.</summary>
    private void LaunchSsdCarry(Tensor aLog, Tensor ssmStates, PrefillBatch batch, PrefillChunks chunks, long heads, long headDim, long stateDim,
        Tensor carry, Tensor dtSum)
    {
        const int perBlock = 256;
        _ssdScanChunkCarry.For(aLog.dtype, ssmStates.dtype).Launch(
            new LaunchGrid(Blocks(headDim * stateDim, perBlock), (int)heads, batch.Count, perBlock, 1, 1), Stream,
            [.. CarryArgs(aLog, ssmStates, batch, chunks), KernelArg.I32((int)heads), KernelArg.I32((int)headDim), KernelArg.I32((int)stateDim),
             Arg(carry), Arg(dtSum)]);
    }

    // ---- norms ------------------------------------------------------------------------------------------------

    public Tensor AddRmsNorm(Tensor residual, Tensor? delta, Tensor weight, double eps, bool castInput)
    {
        long width = weight.shape[0];
        bool fits = residual.dim() == 2 && residual.shape[1] == width && residual.is_contiguous() && weight.dim() == 1
            && (delta is null || (delta.dtype == weight.dtype && delta.is_contiguous() && delta.shape.AsSpan().SequenceEqual(residual.shape)))
            && Suffix(weight.dtype) is not null && Suffix(residual.dtype) is not null && OnThisDevice(residual);
        if (!fits)
        {
            return Reference.AddRmsNorm(residual, delta, weight, eps, castInput);
        }

        var output = torch.empty(residual.shape[0], width, dtype: weight.dtype, device: residual.device);
        if (residual.shape[0] == 0)
        {
            return output;
        }

        // The block norm reads the residual as the weight's dtype; so does any norm whose residual already is that dtype.
        bool round = castInput || residual.dtype == weight.dtype;
        _addRmsNorm.For(weight.dtype, residual.dtype).Launch(
            new LaunchGrid((int)residual.shape[0], 1, 1, 256, 1, 1), Stream,
            Arg(residual), OptionalArg(delta), Arg(weight), Arg(output), KernelArg.I32((int)width),
            KernelArg.F32((float)eps), KernelArg.I32(round ? 1 : 0));
        return output;
    }

    public Tensor GatedRmsNorm(Tensor x, Tensor z, Tensor weight, int groupSize, double eps)
    {
        bool fits = x.dim() == 2 && z.dim() == 2 && x.shape[1] == weight.shape[0] && z.shape[0] == x.shape[0] && z.shape[1] == x.shape[1]
            && groupSize > 0 && x.shape[1] % groupSize == 0 && x.stride(1) == 1 && z.stride(1) == 1 && z.dtype == x.dtype
            && Same(x, weight) && Suffix(x.dtype) is not null && OnThisDevice(x);
        if (!fits)
        {
            return Reference.GatedRmsNorm(x, z, weight, groupSize, eps);
        }

        long rows = x.shape[0], width = x.shape[1];
        var output = torch.empty(rows, width, dtype: x.dtype, device: x.device);
        if (rows == 0)
        {
            return output;
        }

        _gatedRmsNorm.For(x.dtype).Launch(
            new LaunchGrid((int)(width / groupSize), (int)rows, 1, 256, 1, 1), Stream,
            Arg(x), KernelArg.I64(x.stride(0)), Arg(z), KernelArg.I64(z.stride(0)), Arg(weight), Arg(output),
            KernelArg.I32((int)width), KernelArg.I32(groupSize), KernelArg.F32((float)eps));
        return output;
    }

    // ---- greedy picks -------------------------------------------------------------------------------------------

    public Tensor? Pick(Tensor logits)
    {
        if (logits.dim() != 2 || logits.shape[0] == 0 || logits.shape[1] is 0 or > int.MaxValue || logits.stride(1) != 1
            || Suffix(logits.dtype) is null || !OnThisDevice(logits))
        {
            return null;
        }

        var picks = torch.empty(logits.shape[0], 2, dtype: ScalarType.Int64, device: logits.device);
        _greedyRows.For(logits.dtype).Launch(new LaunchGrid((int)logits.shape[0], 1, 1, GreedyThreads, 1, 1), Stream,
            Arg(logits), KernelArg.I64(logits.stride(0)), KernelArg.I32((int)logits.shape[1]), Arg(picks));
        return picks;
    }

    /// <summary>
    /// The picks, their tokens as the next step's ids on the device, and a copy to pinned host memory marked by an
    /// event; null (the engine then reads the picks the ordinary way) where the logits are not the kernel's or the event
    /// or the pinned memory cannot be had.
    /// </summary>
    public PendingPicks? PickAsync(Tensor logits)
    {
        using var scope = torch.NewDisposeScope();
        var picks = Pick(logits);
        if (picks is null)
        {
            return null;
        }

        IntPtr arrived = IntPtr.Zero;
        try
        {
            var tokens = picks.select(1, 0).contiguous();
            var host = torch.empty(picks.shape, dtype: ScalarType.Int64);
            // Pinned, so the copy is queued on the stream rather than waited for (the emulator's tensors are the host's).
            host = _target.Type == DeviceType.CUDA ? host.pin_memory() : host;
            host.copy_(picks, true);
            arrived = _driver.CreateEvent();
            _driver.RecordEvent(arrived, Stream);
            var marked = arrived;
            return new PendingPicks(tokens, host, () => _driver.SynchronizeEvent(marked), () => _driver.DestroyEvent(marked));
        }
        catch (Exception e) when (e is CudaException or ExternalException)
        {
            if (arrived != IntPtr.Zero)
            {
                _driver.DestroyEvent(arrived);
            }

            return null;
        }
    }

    // ---- projections: own GEMV for a few rows, else cuBLAS through libtorch ------------------------------------

    public Tensor Linear(Tensor x, Tensor weight, Tensor? bias)
    {
        if (!GemvFits(x, weight, bias))
        {
            return Reference.Linear(x, weight, bias);
        }

        var y = torch.empty(x.shape[0], weight.shape[0], dtype: x.dtype, device: x.device);
        if (x.shape[0] > 0)
        {
            LaunchGemv(_gemv.For(x.shape[0], x.dtype), x, x.stride(0), null, 0, null, null, weight, bias, y, null, (int)x.shape[0], 1, 0);
        }

        return y;
    }

    public bool Takes(long rows, ScalarType dtype) => _choices.GemvProjections && rows is > 0 and <= GemvMaxRows && Suffix(dtype) is not null;

    public Tensor NormLinear(Tensor residual, Tensor normWeight, double eps, Tensor weight, Tensor? bias)
    {
        long rows = residual.dim() == 2 ? residual.shape[0] : 0;
        if (!NormLinearFits(residual, normWeight, weight, bias))
        {
            return _composed.NormLinear(residual, normWeight, eps, weight, bias);
        }

        var y = torch.empty(rows, weight.shape[0], dtype: weight.dtype, device: weight.device);
        LaunchGemv(_rmsNormGemv.For(rows, weight.dtype, residual.dtype), null, 0, null, 0, residual, normWeight, weight, bias, y, null,
            (int)rows, 1, (float)eps);
        return y;
    }

    public Tensor NormLinearConv(Tensor residual, Tensor normWeight, double eps, Tensor weight, Tensor? bias,
        int convStart, Tensor convWeight, Tensor? convBias, bool silu, Tensor convStates, DecodeBatch batch)
    {
        long dim = CausalConv1d.CheckWeights(residual, convWeight, convBias, convStates, out int width);
        if (convStart < 0 || convStart + dim > weight.shape[0])
        {
            throw new ArgumentOutOfRangeException(nameof(convStart), convStart, $"The conv columns [{convStart}, {convStart + dim}) must lie within the projection's {weight.shape[0]} outputs.");
        }

        OpArgs.Dims(residual, nameof(residual), batch.Count, weight.shape[1]);
        OpArgs.CheckBlocks(batch.MaxStateIndex, convStates, nameof(convStates));
        bool fits = NormLinearFits(residual, normWeight, weight, bias) && convStates.dtype == weight.dtype && OpArgs.RowsContiguous(convStates, 2)
            && Same(weight, convWeight, convBias) && OnThisDevice(convStates) && width <= MaxConvWidth;
        if (!fits)
        {
            return _composed.NormLinearConv(residual, normWeight, eps, weight, bias, convStart, convWeight, convBias, silu, convStates, batch);
        }

        var y = torch.empty(batch.Count, weight.shape[0], dtype: weight.dtype, device: weight.device);
        int outputs = (int)weight.shape[0];
        _rmsNormGemvConv.For(batch.Count, weight.dtype, residual.dtype).Launch(
            new LaunchGrid(Blocks(outputs, GemvWarps), 1, 1, 32 * GemvWarps, 1, 1), Stream,
            Arg(residual), Arg(normWeight), Arg(weight), OptionalArg(bias), Arg(y), KernelArg.I32(batch.Count), KernelArg.I32((int)weight.shape[1]),
            KernelArg.I32(outputs), KernelArg.F32((float)eps), Arg(convWeight), OptionalArg(convBias), Arg(convStates),
            KernelArg.I64(convStates.stride(0)), Arg(batch.StateIndices), KernelArg.I32(convStart), KernelArg.I32((int)dim), KernelArg.I32(width),
            KernelArg.I32(silu ? 1 : 0));
        return y;
    }

    public void LinearAddInto(Tensor residual, Tensor x, Tensor weight, Tensor? bias)
    {
        if (!GemvFits(x, weight, bias) || !ResidualFits(residual, x, weight))
        {
            _composed.LinearAddInto(residual, x, weight, bias);
            return;
        }

        if (x.shape[0] > 0)
        {
            LaunchGemv(_gemv.For(x.shape[0], x.dtype, residual.dtype), x, x.stride(0), null, 0, null, null, weight, bias, null, residual,
                (int)x.shape[0], 1, 0);
        }
    }

    public void GatedNormLinearAddInto(Tensor residual, Tensor y, Tensor z, Tensor normWeight, int groupSize, double eps, Tensor weight, Tensor? bias)
    {
        long rows = y.dim() == 2 ? y.shape[0] : 0, width = weight.shape[1];
        bool fits = GemvFits(y, weight, bias) && ResidualFits(residual, y, weight)
            && z.dim() == 2 && z.shape[0] == rows && z.shape[1] == width && z.dtype == y.dtype && z.stride(1) == 1
            && normWeight.dim() == 1 && normWeight.shape[0] == width && normWeight.dtype == y.dtype && Aligned(normWeight) && OnThisDevice(z)
            && groupSize > 0 && groupSize % 8 == 0 && width % groupSize == 0 && rows * (width / groupSize) <= GemvMaxScales;
        if (!fits)
        {
            _composed.GatedNormLinearAddInto(residual, y, z, normWeight, groupSize, eps, weight, bias);
            return;
        }

        if (rows > 0)
        {
            LaunchGemv(_gatedGemv.For(rows, y.dtype, residual.dtype), y, y.stride(0), z, z.stride(0), null, normWeight, weight, bias, null, residual,
                (int)rows, groupSize, (float)eps);
        }
    }

    private void LaunchGemv(CudaFunction kernel, Tensor? x, long xStride, Tensor? z, long zStride, Tensor? residualIn, Tensor? normWeight,
        Tensor weight, Tensor? bias, Tensor? y, Tensor? residualOut, int rows, int groupSize, float eps)
    {
        int outputs = (int)weight.shape[0];
        kernel.Launch(new LaunchGrid(Blocks(outputs, GemvWarps), 1, 1, 32 * GemvWarps, 1, 1), Stream,
            OptionalArg(x), KernelArg.I64(xStride), OptionalArg(z), KernelArg.I64(zStride), OptionalArg(residualIn), OptionalArg(normWeight),
            Arg(weight), OptionalArg(bias), OptionalArg(y), OptionalArg(residualOut), KernelArg.I32(rows), KernelArg.I32((int)weight.shape[1]),
            KernelArg.I32(outputs), KernelArg.I32(groupSize), KernelArg.F32(eps));
    }

    /// <summary>Whether the norm + GEMV kernels read the residual [rows, in], the norm weight and W as they are.</summary>
    private bool NormLinearFits(Tensor residual, Tensor normWeight, Tensor weight, Tensor? bias) =>
        _choices.GemvProjections && residual.dim() == 2 && residual.shape[0] is > 0 and <= GemvMaxRows && weight.dim() == 2
        && residual.is_contiguous() && residual.shape[1] == weight.shape[1] && Suffix(residual.dtype) is not null && Aligned(residual)
        && OnThisDevice(residual) && WeightFits(weight, bias, weight.dtype) && normWeight.dim() == 1 && normWeight.shape[0] == weight.shape[1]
        && normWeight.dtype == weight.dtype && Aligned(normWeight) && OnThisDevice(normWeight);

    /// <summary>Whether the GEMV kernels take x [rows, in] (rows up to their register budget) and W [out, in] (and the bias) as they are.</summary>
    private bool GemvFits(Tensor x, Tensor weight, Tensor? bias) =>
        _choices.GemvProjections && x.dim() == 2 && x.shape[0] <= GemvMaxRows && weight.dim() == 2 && x.shape[1] == weight.shape[1] && x.stride(1) == 1
        && OnThisDevice(x) && WeightFits(weight, bias, x.dtype);

    /// <summary>Whether W [out, in] (in a multiple of 8) and its bias are contiguous, 16-byte aligned, of <paramref name="dtype"/> and here.</summary>
    private bool WeightFits(Tensor weight, Tensor? bias, ScalarType dtype) =>
        weight.dim() == 2 && weight.shape[1] % 8 == 0 && weight.shape[0] > 0 && weight.dtype == dtype && weight.is_contiguous() && Aligned(weight)
        && OnThisDevice(weight) && Suffix(dtype) is not null
        && (bias is null || (bias.dim() == 1 && bias.shape[0] == weight.shape[0] && bias.dtype == dtype && bias.is_contiguous() && OnThisDevice(bias)));

    /// <summary>Whether the residual [rows, out] takes the projection's add in place.</summary>
    private bool ResidualFits(Tensor residual, Tensor x, Tensor weight) =>
        residual.dim() == 2 && residual.shape[0] == x.shape[0] && residual.shape[1] == weight.shape[0] && residual.is_contiguous()
        && Suffix(residual.dtype) is not null && OnThisDevice(residual);

    private static bool Aligned(Tensor t) => TorchCuda.DataPtrOfAnyDevice(t).ToInt64() % 16 == 0;

    // ---- what the kernels take --------------------------------------------------------------------------------

    private IntPtr Stream => _target.Stream();

    /// <summary>A tensor's data pointer, once it is known to live where the kernels run (a wrong device is an error naming it, never a bad pointer).</summary>
    private KernelArg Arg(Tensor tensor)
    {
        if (!OnThisDevice(tensor))
        {
            throw new ArgumentException($"a fused kernel's tensor [{string.Join(", ", tensor.shape)}] {tensor.dtype} is on {tensor.device}, the kernels run on {_target}.", nameof(tensor));
        }

        return KernelArg.Ptr(TorchCuda.DataPtrOfAnyDevice(tensor));
    }

    private KernelArg OptionalArg(Tensor? tensor) => tensor is null ? KernelArg.Ptr(IntPtr.Zero) : Arg(tensor);

    private static void CheckSsmStates(Tensor ssmStates, Tensor x, long heads, long headDim, long stateDim, int maxStateIndex)
    {
        OpArgs.Dims(ssmStates, nameof(ssmStates), -1, heads, headDim, stateDim);
        OpArgs.SameDevice(x, ssmStates, nameof(ssmStates));
        OpArgs.CheckBlocks(maxStateIndex, ssmStates, nameof(ssmStates));
    }

    /// <summary>A GEMV kernel's entries for up to <see cref="GemvMaxRows"/> rows and, with fewer registers, for one row.</summary>
    private sealed class GemvFamily(CudaModule module, string prefix)
    {
        private readonly KernelFamily _rows = new(module, prefix), _oneRow = new(module, prefix + "_r1");

        public CudaFunction For(long rows, ScalarType activation, ScalarType? residual = null) => (rows == 1 ? _oneRow : _rows).For(activation, residual);
    }

    private static int Blocks(long work, int perBlock) => (int)((work + perBlock - 1) / perBlock);

    /// <summary>The kernels' dtype suffix: f32, bf16 or f16; null for any other dtype.</summary>
    internal static string? Suffix(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "f32",
        ScalarType.BFloat16 => "bf16",
        ScalarType.Float16 => "f16",
        _ => null,
    };

    private bool OnThisDevice(Tensor t) => _target.Holds(t);

    private bool Kernel(Tensor x, Tensor states) => Suffix(x.dtype) is not null && Suffix(states.dtype) is not null && OnThisDevice(x);

    /// <summary>Whether every given weight has the activation's dtype (the kernels read weights as the activations' type) and is contiguous.</summary>
    private static bool Same(Tensor x, params Tensor?[] others)
    {
        foreach (var t in others)
        {
            if (t is not null && (t.dtype != x.dtype || !t.is_contiguous()))
            {
                return false;
            }
        }

        return true;
    }

    private bool SsdKernel(Tensor x, Tensor dt, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? dtBias, Tensor states, long stateDim) =>
        Kernel(x, states) && Same(x, aLog, d, dtBias) && dt.dtype == x.dtype && b.dtype == x.dtype && c.dtype == x.dtype
        && stateDim <= 32 * MaxStateDimPerLane && OpArgs.RowsContiguous(states, 3)
        && x.stride(2) == 1 && x.stride(1) == x.shape[2] && dt.stride(1) == 1
        && b.stride(2) == 1 && b.stride(1) == b.shape[2] && c.stride(2) == 1 && c.stride(1) == c.shape[2] && c.stride(0) == b.stride(0);

    private bool ScanKernel(Tensor u, Tensor delta, Tensor aLog, Tensor b, Tensor c, Tensor? d, Tensor? z, Tensor? deltaBias, Tensor states,
        out int lanes)
    {
        long stateDim = aLog.shape[1];
        lanes = 1;
        while (lanes < stateDim && lanes < 32)
        {
            lanes <<= 1;
        }

        return Kernel(u, states) && Same(u, aLog, d, deltaBias) && delta.dtype == u.dtype && b.dtype == u.dtype && c.dtype == u.dtype
            && (z is null || (z.dtype == u.dtype && z.stride(1) == 1)) && stateDim <= lanes * MaxStateDimPerLane && OpArgs.RowsContiguous(states, 2)
            && u.stride(1) == 1 && delta.stride(1) == 1 && b.stride(1) == 1 && c.stride(1) == 1 && c.stride(0) == b.stride(0);
    }
}
