using System;
using System.Collections.Generic;
using System.Linq;

namespace MambaGen.Cuda;

/// <summary>Where a loaded module's machine code came from.</summary>
public enum ModuleOrigin
{
    /// <summary>A CUBIN NVRTC made in an earlier process, read from the disk cache.</summary>
    KernelCache,

    /// <summary>A CUBIN NVRTC compiled now for the device's exact architecture.</summary>
    Nvrtc,

    /// <summary>The PTX clang-14 made at build time, compiled by the driver's JIT.</summary>
    BuildPtx,
}

/// <summary>
/// One loaded kernel source: its entries, each resolved and checked against its <see cref="KernelSpec"/> at load. A
/// module stays loaded for the life of the process (its runtime is one per device and never torn down).
/// </summary>
public sealed class CudaModule
{
    private readonly Dictionary<string, CudaFunction> _functions;

    internal CudaModule(KernelSource source, ModuleOrigin origin, string description, IntPtr handle, IReadOnlyList<CudaFunction> functions)
    {
        Source = source;
        Origin = origin;
        Description = description;
        Handle = handle;
        Functions = functions;
        _functions = functions.ToDictionary(f => f.Name, StringComparer.Ordinal);
    }

    public KernelSource Source { get; }

    public ModuleOrigin Origin { get; }

    /// <summary>How it was loaded, e.g. "sm_90 CUBIN from NVRTC 13.0" or "PTX from the build (NVRTC missing: ...)".</summary>
    public string Description { get; }

    /// <summary>The driver's <c>CUmodule</c>.</summary>
    public IntPtr Handle { get; }

    public IReadOnlyList<CudaFunction> Functions { get; }

    /// <summary>The entry named <paramref name="name"/>; an <see cref="ArgumentException"/> listing the entries when the source declares none by that name.</summary>
    public CudaFunction Function(string name) =>
        _functions.TryGetValue(name, out var function)
            ? function
            : throw new ArgumentException($"{Source.FileName} declares no kernel '{name}' in its KernelSpecs (it declares: {string.Join(", ", _functions.Keys.Order(StringComparer.Ordinal))}).", nameof(name));
}

/// <summary>
/// One kernel entry, launched with arguments checked against its <see cref="KernelSpec"/> and packed on the stack:
/// a launch allocates nothing on the heap.
/// </summary>
public sealed class CudaFunction
{
    /// <summary>More parameters than this would not fit CUDA's 4 KiB of classic kernel parameters anyway.</summary>
    internal const int MaxParams = 256;

    private readonly CudaRuntime _runtime;
    private readonly KernelParam[] _params;
    private readonly object _sharedGate = new();
    private int _sharedLimit = LaunchGrid.DefaultMaxSharedBytes;

    internal CudaFunction(CudaRuntime runtime, string sourceFileName, KernelSpec spec, IntPtr handle, bool awaitsPreviousGrid = false)
    {
        _runtime = runtime;
        _awaitsPreviousGrid = awaitsPreviousGrid;
        SourceFileName = sourceFileName;
        Spec = spec;
        Handle = handle;
        _params = spec.Params.ToArray();
        if (_params.Length > MaxParams)
        {
            throw new ArgumentException($"kernel '{spec.Name}' ({sourceFileName}) declares {_params.Length} parameters; at most {MaxParams} are supported.");
        }
    }

    public string Name => Spec.Name;

    public KernelSpec Spec { get; }

    public string SourceFileName { get; }

    /// <summary>The driver's <c>CUfunction</c>.</summary>
    public IntPtr Handle { get; }

    // Whether the loaded code waits on the previous grid before touching memory (its source says so, and it was built for the device).
    private readonly bool _awaitsPreviousGrid;

    /// <summary>Whether its launches go out as programmatic dependents of the kernel before them (<see cref="CudaRuntime.ProgrammaticLaunch"/>).</summary>
    public bool Programmatic => _awaitsPreviousGrid && _runtime.ProgrammaticLaunch;

    /// <summary>
    /// Launches on <paramref name="stream"/> (libtorch's current stream: <see cref="TorchCuda.CurrentStream"/>). The
    /// arguments must match the spec in number and kind (<see cref="ArgumentException"/> naming the kernel and the
    /// argument otherwise); a grid over CUDA's limits is an <see cref="ArgumentException"/>; a driver error a
    /// <see cref="CudaException"/>. Dynamic shared memory above 48 KiB is opted into on first use.
    /// </summary>
    public unsafe void Launch(LaunchGrid grid, IntPtr stream, params ReadOnlySpan<KernelArg> args)
    {
        int count = _params.Length;
        if (args.Length != count)
        {
            throw new ArgumentException($"kernel '{Name}' ({SourceFileName}) takes {count} arguments ({string.Join(", ", _params)}), got {args.Length}.", nameof(args));
        }

        grid.Validate();
        if (grid.SharedBytes > _sharedLimit)
        {
            RaiseSharedLimit(grid.SharedBytes);
        }

        long* values = stackalloc long[Math.Max(1, count)];
        void** pointers = stackalloc void*[Math.Max(1, count)];
        for (int i = 0; i < count; i++)
        {
            var arg = args[i];
            if (arg.Kind != _params[i])
            {
                throw new ArgumentException($"kernel '{Name}' ({SourceFileName}) argument {i}: expected {_params[i]}, got {arg}.", nameof(args));
            }

            // Little-endian: an I32/F32 kernel parameter reads the low four bytes of its slot.
            values[i] = arg.Bits;
            pointers[i] = values + i;
        }

        try
        {
            _runtime.Driver.LaunchKernel(Handle, grid, stream, (IntPtr)pointers, Programmatic);
        }
        catch (CudaException e) when (Programmatic && e.Result is CudaResult.ErrorInvalidValue or CudaResult.ErrorNotSupported)
        {
            // The driver refused the launch attribute itself: ordinary launches from now on, this one included.
            _runtime.TurnOffProgrammaticLaunch($"{e.Message} (kernel '{Name}')");
            _runtime.Driver.LaunchKernel(Handle, grid, stream, (IntPtr)pointers, false);
        }
        catch (CudaException e) when (e.Result == CudaResult.ErrorInvalidContext)
        {
            // A thread that never ran libtorch's CUDA code has no current context: use the device's and launch again.
            _runtime.MakeCurrent();
            _runtime.Driver.LaunchKernel(Handle, grid, stream, (IntPtr)pointers, Programmatic);
        }
    }

    private void RaiseSharedLimit(int bytes)
    {
        lock (_sharedGate)
        {
            if (bytes > _sharedLimit)
            {
                _runtime.Driver.SetMaxDynamicSharedMemory(Handle, bytes);
                _sharedLimit = bytes;
            }
        }
    }

    public override string ToString() => $"{Name}({string.Join(", ", _params)}) in {SourceFileName}";
}
