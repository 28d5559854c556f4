using System;
using System.Collections.Generic;

namespace MambaGen.Cuda;

/// <summary>The kind of one kernel parameter, as the C# launch packs it and as the PTX entry declares it.</summary>
public enum KernelParam
{
    /// <summary>A device pointer (<c>.param .u64</c>).</summary>
    Ptr,

    /// <summary>A 32-bit integer (<c>.param .u32</c> / <c>.s32</c>).</summary>
    I32,

    /// <summary>A 64-bit integer (<c>.param .u64</c> / <c>.s64</c>).</summary>
    I64,

    /// <summary>A 32-bit float (<c>.param .f32</c>).</summary>
    F32,
}

/// <summary>One <c>extern "C" __global__</c> entry of a kernel source: its name and parameters in order.</summary>
public sealed record KernelSpec(string Name, IReadOnlyList<KernelParam> Params)
{
    public KernelSpec(string name, params KernelParam[] parameters)
        : this(name, (IReadOnlyList<KernelParam>)parameters)
    {
    }
}

/// <summary>
/// One CUDA C file embedded in the runtime (one module): its text and the entries the C# side launches. The file is
/// written without CUDA headers (bf16 as raw 16-bit words), so NVRTC and clang-14 both compile it.
/// <paramref name="AwaitsPreviousGrid"/>: every entry calls the prelude's <c>mg_after_previous_grid()</c> before it
/// touches memory a kernel writes, so the runtime may launch it as a programmatic dependent
/// (<see cref="CudaRuntime.ProgrammaticLaunch"/>); a source that does not say so is always launched the ordinary way.
/// </summary>
public sealed record KernelSource(string FileName, string Code, IReadOnlyList<KernelSpec> Kernels, bool AwaitsPreviousGrid = false);
