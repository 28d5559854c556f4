using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using TorchSharp;

namespace MambaGen.Cuda;

/// <summary>
/// What TorchSharp does not expose and own kernels need: a tensor's device pointer, and libtorch's current CUDA
/// stream (read and set), resolved at run time from the exports of the loaded libtorch_cuda and LibTorchSharp.
/// libtorch's current stream is per thread: set it on the thread that runs the model.
/// </summary>
public static class TorchCuda
{
    [DllImport("LibTorchSharp", EntryPoint = "THSTensor_data")]
    private static extern IntPtr THSTensorData(IntPtr handle);

    /// <summary>
    /// The device pointer of a CUDA tensor's first element: storage offset included, for every dtype (bf16 too, where
    /// TorchSharp's <c>Storage&lt;T&gt;</c> would return a converted copy). Throws for a tensor not on a CUDA device.
    /// </summary>
    public static IntPtr DataPtr(torch.Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.device_type != DeviceType.CUDA)
        {
            throw new ArgumentException($"TorchCuda.DataPtr: the tensor [{string.Join(", ", tensor.shape)}] {tensor.dtype} is on {tensor.device}; a CUDA kernel needs a tensor on a CUDA device.", nameof(tensor));
        }

        return DataPtrOfAnyDevice(tensor);
    }

    /// <summary>The data pointer of a tensor on any device (tests check the offset rule on CPU tensors).</summary>
    internal static IntPtr DataPtrOfAnyDevice(torch.Tensor tensor)
    {
        var pointer = THSTensorData(tensor.Handle);
        if (pointer == IntPtr.Zero && tensor.numel() > 0)
        {
            // LibTorchSharp returns null and keeps libtorch's error message when data_ptr() threw.
            torch.CheckForErrors();
            throw new InvalidOperationException($"THSTensor_data returned null for a tensor [{string.Join(", ", tensor.shape)}] {tensor.dtype} on {tensor.device} that has elements.");
        }

        return pointer;
    }

    /// <summary>libtorch's current stream for <paramref name="device"/> on this thread (zero: the legacy default stream).</summary>
    public static bool TryGetCurrentStream(int device, out IntPtr stream, out string reason)
    {
        stream = IntPtr.Zero;
        return LibTorchCuda.TryGet(out var lib, out reason) && lib.TryGetCurrentStream(device, out stream, out reason);
    }

    /// <summary>libtorch's current stream for <paramref name="device"/>; throws <see cref="InvalidOperationException"/> saying why when it cannot be read.</summary>
    public static IntPtr CurrentStream(int device) =>
        TryGetCurrentStream(device, out var stream, out var reason)
            ? stream
            : throw new InvalidOperationException($"libtorch's current CUDA stream for device {device} cannot be read: {reason}");

    /// <summary>Makes <paramref name="stream"/> libtorch's current stream for <paramref name="device"/> on this thread.</summary>
    public static bool TrySetCurrentStream(int device, IntPtr stream, out string reason) =>
        LibTorchCuda.TryGet(out var lib, out reason) && lib.TrySetCurrentStream(device, stream, out reason);

    /// <summary>
    /// Makes a non-default stream libtorch's current stream for <paramref name="device"/> on this thread, so its work
    /// can be captured in a CUDA graph (the legacy default stream cannot be captured). A stream from libtorch's pool
    /// where libtorch exports it, else one made with <c>cuStreamCreate</c> (non-blocking). Returns the stream already
    /// current when it is not the default one. Waits for the device first: a non-blocking stream does not wait for
    /// work queued earlier on the legacy default stream.
    /// </summary>
    public static bool TryUseSideStream(int device, out IntPtr stream, out string reason)
    {
        stream = IntPtr.Zero;
        if (!LibTorchCuda.TryGet(out var lib, out reason) || !lib.TryGetCurrentStream(device, out var current, out reason))
        {
            return false;
        }

        if (current != IntPtr.Zero)
        {
            stream = current;
            return true;
        }

        if (!lib.TryGetPoolStream(device, out var side, out var poolReason))
        {
            if (!CudaDriver.TryGetShared(out var driver, out var driverReason))
            {
                reason = $"no side stream: {poolReason}, and {driverReason}";
                return false;
            }

            try
            {
                side = driver.CreateStream(nonBlocking: true);
            }
            catch (CudaException e)
            {
                reason = $"no side stream: {poolReason}, and {e.Message}";
                return false;
            }
        }

        torch.cuda.synchronize(new torch.Device(DeviceType.CUDA, device));
        if (!lib.TrySetCurrentStream(device, side, out reason))
        {
            return false;
        }

        if (!lib.TryGetCurrentStream(device, out var now, out reason))
        {
            return false;
        }

        if (now != side)
        {
            reason = $"libtorch kept stream 0x{now:x} current on device {device} after being given 0x{side:x}";
            return false;
        }

        stream = side;
        return true;
    }
}

/// <summary>
/// The exports of the libtorch_cuda this process loaded that the runtime calls: the AOTI shim's stream functions
/// (<c>extern "C"</c>, returning an <c>AOTITorchError</c>, 0 on success) and <c>at::cuda::CUDAGraph</c>'s members
/// (Itanium C++ ABI names: Linux). Each is optional; users ask for what they need and get a reason when it is absent.
/// </summary>
internal sealed unsafe class LibTorchCuda
{
    internal const string GetCurrentStreamSymbol = "aoti_torch_get_current_cuda_stream";
    internal static readonly string[] SetCurrentStreamSymbols = { "torch_set_current_cuda_stream", "aoti_torch_set_current_cuda_stream" };
    internal const string StreamFromPoolSymbol = "torch_get_cuda_stream_from_pool";
    internal const string CreateGuardSymbol = "aoti_torch_create_cuda_guard";
    internal const string DeleteGuardSymbol = "aoti_torch_delete_cuda_guard";

    // at::cuda::CUDAGraph (aten/src/ATen/cuda/CUDAGraph.h): CUDAGraph(bool keep_graph = false), or CUDAGraph() before 2.7.
    internal const string GraphConstructorSymbol = "_ZN2at4cuda9CUDAGraphC1Eb";
    internal const string GraphConstructorOldSymbol = "_ZN2at4cuda9CUDAGraphC1Ev";

    // capture_begin(MempoolId_t pool = {0, 0}, cudaStreamCaptureMode mode): MempoolId_t is std::pair<unsigned long long,
    // unsigned long long>, trivially copyable, so the SysV ABI passes it in two integer registers after `this`.
    internal const string GraphCaptureBeginSymbol = "_ZN2at4cuda9CUDAGraph13capture_beginESt4pairIyyE21cudaStreamCaptureMode";
    internal const string GraphCaptureEndSymbol = "_ZN2at4cuda9CUDAGraph11capture_endEv";
    internal const string GraphReplaySymbol = "_ZN2at4cuda9CUDAGraph6replayEv";
    internal const string GraphDestructorSymbol = "_ZN2at4cuda9CUDAGraphD1Ev";

    private static readonly object Gate = new();
    private static (LibTorchCuda? Lib, string Reason)? _loaded;

    private readonly delegate* unmanaged<int, IntPtr*, int> _getCurrentStream;
    private readonly delegate* unmanaged<IntPtr, int, int> _setCurrentStream;
    private readonly delegate* unmanaged<byte, int, IntPtr*, int> _streamFromPool;
    private readonly delegate* unmanaged<int, IntPtr*, int> _createGuard;
    private readonly delegate* unmanaged<IntPtr, int> _deleteGuard;

    private LibTorchCuda(string location, IntPtr library)
    {
        Location = location;
        Library = library;
        _getCurrentStream = (delegate* unmanaged<int, IntPtr*, int>)Export(GetCurrentStreamSymbol);
        foreach (var name in SetCurrentStreamSymbols)
        {
            if (_setCurrentStream == null)
            {
                _setCurrentStream = (delegate* unmanaged<IntPtr, int, int>)Export(name);
            }
        }

        _streamFromPool = (delegate* unmanaged<byte, int, IntPtr*, int>)Export(StreamFromPoolSymbol);
        _createGuard = (delegate* unmanaged<int, IntPtr*, int>)Export(CreateGuardSymbol);
        _deleteGuard = (delegate* unmanaged<IntPtr, int>)Export(DeleteGuardSymbol);
    }

    public string Location { get; }

    public IntPtr Library { get; }

    /// <summary>The address of an export, zero when this libtorch does not have it.</summary>
    public IntPtr Export(string name) => NativeLibrary.TryGetExport(Library, name, out var address) ? address : IntPtr.Zero;

    /// <summary>The loaded libtorch_cuda, found once: TorchSharp's CUDA backend is initialised first so it is the same copy.</summary>
    public static bool TryGet([NotNullWhen(true)] out LibTorchCuda? lib, out string reason)
    {
        lock (Gate)
        {
            _loaded ??= Load();
            lib = _loaded.Value.Lib;
            reason = _loaded.Value.Reason;
            return lib is not null;
        }
    }

    private static (LibTorchCuda?, string) Load()
    {
        try
        {
            // Loads TorchSharp's CUDA libtorch if it was not yet: the exports must come from the copy TorchSharp uses.
            if (!torch.cuda.is_available())
            {
                return (null, "TorchSharp reports no CUDA (torch.cuda.is_available() is false: a CPU-only libtorch, or no GPU)");
            }
        }
        catch (Exception e) when (e is DllNotFoundException or NotSupportedException or InvalidOperationException or ExternalException)
        {
            return (null, $"TorchSharp's native library could not start CUDA: {e.Message}");
        }

        var candidates = new List<string>();
        if (NativeLibraryLocator.FindMapped(NativeLibraryLocator.MappedFiles(), "libtorch_cuda.so") is { } mapped)
        {
            candidates.Add(mapped);
        }

        candidates.Add(OperatingSystem.IsWindows() ? "torch_cuda.dll" : "libtorch_cuda.so");
        foreach (var candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, out var library))
            {
                return (new LibTorchCuda(candidate, library), "");
            }
        }

        return (null, $"libtorch_cuda is not loaded in this process (looked in /proc/self/maps and for {candidates[^1]})");
    }

    public bool TryGetCurrentStream(int device, out IntPtr stream, out string reason)
    {
        stream = IntPtr.Zero;
        if (_getCurrentStream == null)
        {
            reason = $"{Location} does not export {GetCurrentStreamSymbol} (libtorch older than 2.11?)";
            return false;
        }

        IntPtr value;
        int error = _getCurrentStream(device, &value);
        if (error != 0)
        {
            reason = $"{GetCurrentStreamSymbol}({device}) failed with AOTITorchError {error} (libtorch printed the cause on stderr)";
            return false;
        }

        stream = value;
        reason = "";
        return true;
    }

    public bool TrySetCurrentStream(int device, IntPtr stream, out string reason)
    {
        if (_setCurrentStream == null)
        {
            reason = $"{Location} exports none of {string.Join(", ", SetCurrentStreamSymbols)} (libtorch older than 2.11?)";
            return false;
        }

        int error = _setCurrentStream(stream, device);
        reason = error == 0 ? "" : $"setting libtorch's current stream on device {device} failed with AOTITorchError {error}";
        return error == 0;
    }

    public bool TryGetPoolStream(int device, out IntPtr stream, out string reason)
    {
        stream = IntPtr.Zero;
        if (_streamFromPool == null)
        {
            reason = $"{Location} does not export {StreamFromPoolSymbol}";
            return false;
        }

        IntPtr value;
        int error = _streamFromPool(0, device, &value);
        if (error != 0 || value == IntPtr.Zero)
        {
            reason = $"{StreamFromPoolSymbol}({device}) failed with AOTITorchError {error}";
            return false;
        }

        stream = value;
        reason = "";
        return true;
    }

    /// <summary>libtorch's CUDAGuard on <paramref name="device"/> until disposed; null where this libtorch does not export it.</summary>
    public IDisposable? DeviceGuard(int device)
    {
        if (_createGuard == null || _deleteGuard == null)
        {
            return null;
        }

        IntPtr guard;
        return _createGuard(device, &guard) == 0 ? new Guard(this, guard) : null;
    }

    private sealed class Guard(LibTorchCuda lib, IntPtr handle) : IDisposable
    {
        private IntPtr _handle = handle;

        public void Dispose()
        {
            if (_handle != IntPtr.Zero)
            {
                lib._deleteGuard(_handle);
                _handle = IntPtr.Zero;
            }
        }
    }
}
