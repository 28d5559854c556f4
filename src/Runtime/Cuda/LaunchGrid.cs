using System;

namespace MambaGen.Cuda;

/// <summary>
/// A kernel launch's shape: grid and block sizes in x/y/z and the dynamic shared memory in bytes. <see cref="Validate"/>
/// checks CUDA's limits, so a wrong shape is an <see cref="ArgumentException"/> here rather than
/// <c>CUDA_ERROR_INVALID_VALUE</c> from the driver.
/// </summary>
public readonly record struct LaunchGrid(int GridX, int GridY, int GridZ, int BlockX, int BlockY, int BlockZ, int SharedBytes = 0)
{
    /// <summary>CUDA's limit on threads in one block, on every architecture since Fermi.</summary>
    public const int MaxThreadsPerBlock = 1024;

    public const int MaxBlockX = 1024, MaxBlockY = 1024, MaxBlockZ = 64;

    public const int MaxGridX = int.MaxValue, MaxGridY = 65535, MaxGridZ = 65535;

    /// <summary>The shared memory a kernel may use without opting in through <c>cuFuncSetAttribute</c>.</summary>
    public const int DefaultMaxSharedBytes = 48 * 1024;

    /// <summary>A one-dimensional launch: <paramref name="blocks"/> blocks of <paramref name="threads"/> threads.</summary>
    public static LaunchGrid Linear(int blocks, int threads, int sharedBytes = 0) => new(blocks, 1, 1, threads, 1, 1, sharedBytes);

    /// <summary>Enough blocks of <paramref name="threadsPerBlock"/> threads for one thread per work item (the last block partly idle).</summary>
    public static LaunchGrid Blocks(long work, int threadsPerBlock, int sharedBytes = 0)
    {
        if (work <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(work), work, "LaunchGrid.Blocks: the work must be at least one item (skip the launch when there is nothing to do).");
        }

        if (threadsPerBlock <= 0 || threadsPerBlock > MaxThreadsPerBlock)
        {
            throw new ArgumentOutOfRangeException(nameof(threadsPerBlock), threadsPerBlock, $"LaunchGrid.Blocks: threads per block must be 1..{MaxThreadsPerBlock}.");
        }

        long blocks = (work + threadsPerBlock - 1) / threadsPerBlock;
        if (blocks > MaxGridX)
        {
            throw new ArgumentOutOfRangeException(nameof(work), work, $"LaunchGrid.Blocks: {work} items at {threadsPerBlock} a block need {blocks} blocks, over CUDA's grid.x limit of {MaxGridX}.");
        }

        return Linear((int)blocks, threadsPerBlock, sharedBytes);
    }

    /// <summary>The number of threads in one block.</summary>
    public long ThreadsPerBlock => (long)BlockX * BlockY * BlockZ;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first CUDA limit this shape breaks.</summary>
    public void Validate()
    {
        if (GridX <= 0 || GridY <= 0 || GridZ <= 0)
        {
            throw new ArgumentException($"LaunchGrid: grid {GridX}x{GridY}x{GridZ} has a size below 1 (every dimension must be at least 1).");
        }

        if (BlockX <= 0 || BlockY <= 0 || BlockZ <= 0)
        {
            throw new ArgumentException($"LaunchGrid: block {BlockX}x{BlockY}x{BlockZ} has a size below 1 (every dimension must be at least 1).");
        }

        if (GridY > MaxGridY || GridZ > MaxGridZ)
        {
            throw new ArgumentException($"LaunchGrid: grid {GridX}x{GridY}x{GridZ} is over CUDA's limits of {MaxGridY} for grid.y and {MaxGridZ} for grid.z.");
        }

        if (BlockX > MaxBlockX || BlockY > MaxBlockY || BlockZ > MaxBlockZ)
        {
            throw new ArgumentException($"LaunchGrid: block {BlockX}x{BlockY}x{BlockZ} is over CUDA's per-dimension limits ({MaxBlockX}x{MaxBlockY}x{MaxBlockZ}).");
        }

        if (ThreadsPerBlock > MaxThreadsPerBlock)
        {
            throw new ArgumentException($"LaunchGrid: block {BlockX}x{BlockY}x{BlockZ} = {ThreadsPerBlock} threads is over CUDA's {MaxThreadsPerBlock} per block.");
        }

        if (SharedBytes < 0)
        {
            throw new ArgumentException($"LaunchGrid: dynamic shared memory of {SharedBytes} bytes is negative.");
        }
    }

    public override string ToString() =>
        $"grid {GridX}x{GridY}x{GridZ}, block {BlockX}x{BlockY}x{BlockZ}, {SharedBytes} B shared";
}
