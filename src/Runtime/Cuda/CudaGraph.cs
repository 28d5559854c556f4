using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace MambaGen.Cuda;

/// <summary>What <see cref="CudaGraph"/> needs from libtorch and the driver; tests put a fake behind it.</summary>
internal interface ICudaGraphApi
{
    bool TryGetCurrentStream(int device, out IntPtr stream, out string reason);

    CudaCaptureStatus GetCaptureStatus(IntPtr stream);

    /// <summary>Ends a capture through the driver (never through libtorch, whose failure would be a C++ exception) and drops its graph.</summary>
    void EndCaptureThroughDriver(IntPtr stream);

    IDisposable? DeviceGuard(int device);

    /// <summary>A new <c>at::cuda::CUDAGraph</c> constructed in a native block.</summary>
    IntPtr Create();

    void CaptureBegin(IntPtr graph, int mode);

    void CaptureEnd(IntPtr graph);

    void Replay(IntPtr graph);

    /// <summary>Runs the destructor and frees the block.</summary>
    void Destroy(IntPtr graph);
}

/// <summary>
/// A CUDA graph captured and replayed through libtorch's own <c>at::cuda::CUDAGraph</c>: its private memory pool makes
/// TorchSharp ops that allocate safe to capture (a bare driver capture is not: the caching allocator would hand the
/// graph's freed temporaries to other tensors while the graph still uses them). Everything captured must run on this
/// thread, on libtorch's current stream, which must not be the legacy default stream (<see cref="TorchCuda.TryUseSideStream"/>).
/// Replays read and write the same device addresses as the capture: refill the captured input tensors, then replay.
/// </summary>
public sealed class CudaGraph : IDisposable
{
    /// <summary>
    /// <c>cudaStreamCaptureModeThreadLocal</c>: a call that would break the capture (a host sync such as <c>.item()</c>)
    /// fails on the capturing thread and invalidates the capture, which is then reported instead of a wrong graph,
    /// while other threads (the .NET finalizer thread freeing tensors through the caching allocator) are not
    /// restricted, as they would be under <c>Global</c>, where their failing calls would be C++ exceptions.
    /// <c>Relaxed</c> would let such calls on the capturing thread through. libtorch switches to Relaxed itself around
    /// the <c>cudaMalloc</c> of its private pool.
    /// </summary>
    public const int CaptureMode = 1;

    /// <summary>
    /// The native block the C++ object lives in. sizeof(at::cuda::CUDAGraph) is a few hundred bytes in PyTorch 2.x
    /// (two handles, flags, ids, a stream, maps, vectors, tensors); it is not exported, so the block is far larger
    /// than any version has needed, and zeroed, so a member this code does not know about starts as it would in a
    /// value-initialised object.
    /// </summary>
    internal const int NativeObjectBytes = 64 * 1024;

    private readonly ICudaGraphApi _api;
    private IntPtr _native;

    private CudaGraph(ICudaGraphApi api, IntPtr native, int device, IntPtr stream)
    {
        _api = api;
        _native = native;
        Device = device;
        Stream = stream;
    }

    public int Device { get; }

    /// <summary>The stream the graph was captured on.</summary>
    public IntPtr Stream { get; }

    /// <summary>
    /// Captures what <paramref name="body"/> enqueues on libtorch's current stream for <paramref name="device"/>. Null
    /// with the reason when capture is not possible (no libtorch exports, the default stream current) or the body broke
    /// the capture; an exception from the body ends the capture and is rethrown.
    /// </summary>
    public static CudaGraph? TryCapture(int device, Action body, out string reason)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!LibTorchGraphApi.TryCreate(out var api, out reason))
        {
            return null;
        }

        return TryCapture(device, body, api, out reason);
    }

    internal static CudaGraph? TryCapture(int device, Action body, ICudaGraphApi api, out string reason)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!api.TryGetCurrentStream(device, out var stream, out reason))
        {
            return null;
        }

        if (stream == IntPtr.Zero)
        {
            reason = $"libtorch's current stream on cuda:{device} is the legacy default stream, which cannot be captured; call TorchCuda.TryUseSideStream({device}, ...) first on this thread";
            return null;
        }

        try
        {
            var before = api.GetCaptureStatus(stream);
            if (before != CudaCaptureStatus.None)
            {
                reason = $"stream 0x{stream:x} is already capturing ({before}); graphs cannot be nested";
                return null;
            }
        }
        catch (CudaException e)
        {
            reason = $"cannot query stream 0x{stream:x}: {e.Message}";
            return null;
        }

        using var guard = api.DeviceGuard(device);
        var native = api.Create();
        api.CaptureBegin(native, CaptureMode);
        try
        {
            body();
        }
        catch
        {
            // libtorch's capture_end would throw a C++ exception on a broken capture, and that aborts the process.
            Abandon(api, stream, out _);
            throw;
        }

        CudaCaptureStatus status;
        try
        {
            status = api.GetCaptureStatus(stream);
        }
        catch (CudaException e)
        {
            Abandon(api, stream, out var abandonProblem);
            reason = $"cannot query the capture on stream 0x{stream:x}: {e.Message}{abandonProblem}";
            return null;
        }

        if (status != CudaCaptureStatus.Active)
        {
            Abandon(api, stream, out var abandonProblem);
            reason = status == CudaCaptureStatus.Invalidated
                ? "the capture was invalidated by an operation that cannot be captured (a host sync such as .item() or .cpu(), a synchronous copy, or an allocation outside libtorch's pool)" + abandonProblem
                : "the stream stopped capturing before the body returned (something else ended the capture)" + abandonProblem;
            return null;
        }

        api.CaptureEnd(native);
        reason = "";
        return new CudaGraph(api, native, device, stream);
    }

    /// <summary>
    /// Ends a broken or abandoned capture through the driver. The caller leaks the C++ object (its 64 KiB block and
    /// whatever libtorch's pool holds) rather than call into it: its capture_end or destructor could throw a C++
    /// exception across the boundary, which aborts the process.
    /// </summary>
    private static void Abandon(ICudaGraphApi api, IntPtr stream, out string problem)
    {
        problem = "";
        try
        {
            if (api.GetCaptureStatus(stream) != CudaCaptureStatus.None)
            {
                api.EndCaptureThroughDriver(stream);
            }
        }
        catch (CudaException e)
        {
            problem = $" (ending the capture through the driver also failed: {e.Message})";
        }
    }

    /// <summary>Launches the captured work on libtorch's current stream for the device.</summary>
    public void Replay()
    {
        ObjectDisposedException.ThrowIf(_native == IntPtr.Zero, this);
        _api.Replay(_native);
    }

    /// <summary>Destroys the graph and releases its memory pool to libtorch's allocator.</summary>
    public void Dispose()
    {
        if (_native != IntPtr.Zero)
        {
            var native = _native;
            _native = IntPtr.Zero;
            _api.Destroy(native);
        }
    }
}

/// <summary><see cref="ICudaGraphApi"/> over the loaded libtorch_cuda's <c>at::cuda::CUDAGraph</c> and the CUDA driver.</summary>
internal sealed unsafe class LibTorchGraphApi : ICudaGraphApi
{
    private readonly LibTorchCuda _lib;
    private readonly ICudaDriver _driver;
    private readonly delegate* unmanaged<IntPtr, byte, void> _construct;
    private readonly delegate* unmanaged<IntPtr, void> _constructOld;
    private readonly delegate* unmanaged<IntPtr, ulong, ulong, int, void> _captureBegin;
    private readonly delegate* unmanaged<IntPtr, void> _captureEnd;
    private readonly delegate* unmanaged<IntPtr, void> _replay;
    private readonly delegate* unmanaged<IntPtr, void> _destruct;

    private LibTorchGraphApi(LibTorchCuda lib, ICudaDriver driver)
    {
        _lib = lib;
        _driver = driver;
        _construct = (delegate* unmanaged<IntPtr, byte, void>)lib.Export(LibTorchCuda.GraphConstructorSymbol);
        _constructOld = (delegate* unmanaged<IntPtr, void>)lib.Export(LibTorchCuda.GraphConstructorOldSymbol);
        _captureBegin = (delegate* unmanaged<IntPtr, ulong, ulong, int, void>)lib.Export(LibTorchCuda.GraphCaptureBeginSymbol);
        _captureEnd = (delegate* unmanaged<IntPtr, void>)lib.Export(LibTorchCuda.GraphCaptureEndSymbol);
        _replay = (delegate* unmanaged<IntPtr, void>)lib.Export(LibTorchCuda.GraphReplaySymbol);
        _destruct = (delegate* unmanaged<IntPtr, void>)lib.Export(LibTorchCuda.GraphDestructorSymbol);
    }

    public static bool TryCreate([NotNullWhen(true)] out LibTorchGraphApi? api, out string reason)
    {
        api = null;
        if (!OperatingSystem.IsLinux())
        {
            reason = "CUDA graphs through libtorch's at::cuda::CUDAGraph are resolved by their Itanium C++ ABI names: Linux only";
            return false;
        }

        if (!LibTorchCuda.TryGet(out var lib, out reason))
        {
            return false;
        }

        if (!CudaDriver.TryGetShared(out var driver, out reason))
        {
            return false;
        }

        var candidate = new LibTorchGraphApi(lib, driver);
        var missing = new System.Collections.Generic.List<string>();
        if (candidate._construct == null && candidate._constructOld == null)
        {
            missing.Add(LibTorchCuda.GraphConstructorSymbol);
        }

        if (candidate._captureBegin == null)
        {
            missing.Add(LibTorchCuda.GraphCaptureBeginSymbol);
        }

        if (candidate._captureEnd == null)
        {
            missing.Add(LibTorchCuda.GraphCaptureEndSymbol);
        }

        if (candidate._replay == null)
        {
            missing.Add(LibTorchCuda.GraphReplaySymbol);
        }

        if (candidate._destruct == null)
        {
            missing.Add(LibTorchCuda.GraphDestructorSymbol);
        }

        if (missing.Count > 0)
        {
            reason = $"{lib.Location} does not export at::cuda::CUDAGraph as expected (missing {string.Join(", ", missing)}): another libtorch version";
            return false;
        }

        api = candidate;
        reason = "";
        return true;
    }

    public bool TryGetCurrentStream(int device, out IntPtr stream, out string reason) => _lib.TryGetCurrentStream(device, out stream, out reason);

    public CudaCaptureStatus GetCaptureStatus(IntPtr stream) => _driver.GetCaptureStatus(stream);

    public void EndCaptureThroughDriver(IntPtr stream)
    {
        var graph = _driver.EndCapture(stream);
        if (graph != IntPtr.Zero)
        {
            _driver.DestroyGraph(graph);
        }
    }

    public IDisposable? DeviceGuard(int device) => _lib.DeviceGuard(device);

    public IntPtr Create()
    {
        var native = (IntPtr)NativeMemory.AlignedAlloc(CudaGraph.NativeObjectBytes, 64);
        NativeMemory.Clear((void*)native, CudaGraph.NativeObjectBytes);
        if (_construct != null)
        {
            // keep_graph = false: capture_end instantiates the graph and drops the template, as torch.cuda.CUDAGraph() does.
            _construct(native, 0);
        }
        else
        {
            _constructOld(native);
        }

        return native;
    }

    // pool {0, 0}: a private pool for this graph.
    public void CaptureBegin(IntPtr graph, int mode) => _captureBegin(graph, 0, 0, mode);

    public void CaptureEnd(IntPtr graph) => _captureEnd(graph);

    public void Replay(IntPtr graph) => _replay(graph);

    public void Destroy(IntPtr graph)
    {
        _destruct(graph);
        NativeMemory.AlignedFree((void*)graph);
    }
}
