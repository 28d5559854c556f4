using System;
using MambaGen.Checkpoints;
using static TorchSharp.torch;

namespace MambaGen.Models;

/// <summary>
/// Models are built on the CPU first: weights that would not fit in the machine's memory are refused by size
/// instead of failing (or being killed) in the middle of the allocation.
/// </summary>
internal static class ModelMemory
{
    /// <param name="parameters">The model's parameter count.</param>
    /// <param name="dtype">The dtype they are built in.</param>
    /// <param name="source">The config file, named in the error.</param>
    /// <param name="shape">The config's sizes that make the count, for the error.</param>
    public static void Require(long parameters, ScalarType dtype, string source, string shape)
    {
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (available <= 0)
        {
            // The figure comes with a collection; a process that has not collected yet reads 0.
            GC.Collect(0);
            available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        }

        long itemSize = dtype is ScalarType.Float16 or ScalarType.BFloat16 ? 2 : dtype == ScalarType.Float64 ? 8 : 4;
        if (available > 0 && parameters > available / itemSize)
        {
            throw new CheckpointException(new CheckpointProblem(source, null,
                $"the model it describes has {parameters:N0} parameters, {(double)parameters * itemSize / (1L << 30):0.#} GiB in {dtype}, more than this machine's {(double)available / (1L << 30):0.#} GiB of memory ({shape})"));
        }
    }
}
