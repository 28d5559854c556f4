using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Text;

namespace MambaGen.Cuda;

/// <summary>A stream's capture state (<c>CUstreamCaptureStatus</c>).</summary>
public enum CudaCaptureStatus
{
    None = 0,
    Active = 1,
    Invalidated = 2,
}

/// <summary>
/// The part of the CUDA driver API the runtime uses. Every method throws <see cref="CudaException"/> naming the call
/// and the <c>CUresult</c> when the driver reports an error. Tests put a fake behind it.
/// </summary>
public interface ICudaDriver
{
    /// <summary>Where the driver was loaded from, for messages.</summary>
    string Location { get; }

    /// <summary><c>cuDriverGetVersion</c>: e.g. 13000 for CUDA 13.0.</summary>
    int DriverVersion { get; }

    /// <summary><c>cuDeviceGet</c>.</summary>
    int GetDevice(int ordinal);

    /// <summary>The device's compute capability (attributes 75 and 76).</summary>
    (int Major, int Minor) GetComputeCapability(int device);

    /// <summary><c>cuCtxGetCurrent</c>: the calling thread's context, zero when none.</summary>
    IntPtr GetCurrentContext();

    /// <summary><c>cuDevicePrimaryCtxRetain</c>: the device's primary context, the one libtorch (through cudart) uses.</summary>
    IntPtr RetainPrimaryContext(int device);

    /// <summary><c>cuCtxSetCurrent</c>.</summary>
    void SetCurrentContext(IntPtr context);

    /// <summary>
    /// <c>cuModuleLoadDataEx</c> (or <c>cuModuleLoadData</c>) of a CUBIN, or of NUL-terminated PTX the driver compiles;
    /// a refusal's <see cref="CudaException"/> carries the JIT's error log when there is one.
    /// </summary>
    IntPtr LoadModule(ReadOnlySpan<byte> image);

    /// <summary><c>cuModuleGetFunction</c>.</summary>
    IntPtr GetFunction(IntPtr module, string name);

    /// <summary><c>cuModuleUnload</c>.</summary>
    void UnloadModule(IntPtr module);

    /// <summary><c>cuFuncSetAttribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)</c>.</summary>
    void SetMaxDynamicSharedMemory(IntPtr function, int bytes);

    /// <summary>
    /// <c>cuLaunchKernel</c>; <paramref name="args"/> is the <c>void**</c> array of one pointer per kernel parameter to
    /// its value. <paramref name="programmatic"/>: <c>cuLaunchKernelEx</c> with programmatic stream serialization, so
    /// the grid may start before the previous one in the stream ends (only where
    /// <see cref="SupportsProgrammaticLaunch"/>, and only for kernels that wait on the previous grid themselves).
    /// </summary>
    void LaunchKernel(IntPtr function, in LaunchGrid grid, IntPtr stream, IntPtr args, bool programmatic);

    /// <summary>Whether <c>cuLaunchKernelEx</c> is there and the driver captures programmatic launches into graphs (CUDA 12.3 and later).</summary>
    bool SupportsProgrammaticLaunch { get; }

    /// <summary><c>cuStreamCreate</c> (<c>CU_STREAM_NON_BLOCKING</c> when asked).</summary>
    IntPtr CreateStream(bool nonBlocking);

    /// <summary><c>cuStreamDestroy_v2</c>.</summary>
    void DestroyStream(IntPtr stream);

    /// <summary><c>cuStreamSynchronize</c>.</summary>
    void SynchronizeStream(IntPtr stream);

    /// <summary><c>cuStreamIsCapturing</c>.</summary>
    CudaCaptureStatus GetCaptureStatus(IntPtr stream);

    /// <summary><c>cuStreamEndCapture</c>: ends a capture (even an invalidated one); the graph, zero when none was made.</summary>
    IntPtr EndCapture(IntPtr stream);

    /// <summary><c>cuGraphDestroy</c>.</summary>
    void DestroyGraph(IntPtr graph);

    /// <summary><c>cuEventCreate</c> without timing: a mark in a stream that the host can wait for alone.</summary>
    IntPtr CreateEvent();

    /// <summary><c>cuEventRecord</c>: marks the end of the work queued on <paramref name="stream"/> so far.</summary>
    void RecordEvent(IntPtr cudaEvent, IntPtr stream);

    /// <summary><c>cuEventSynchronize</c>: waits until the work before the event's record has run, not the work queued after it.</summary>
    void SynchronizeEvent(IntPtr cudaEvent);

    /// <summary><c>cuEventDestroy_v2</c>.</summary>
    void DestroyEvent(IntPtr cudaEvent);
}

/// <summary>
/// The CUDA driver (<c>libcuda.so.1</c> / <c>nvcuda.dll</c>) resolved at run time through function pointers: no
/// link-time CUDA dependency. <see cref="TryLoad(out CudaDriver?, out string)"/> says why when there is no usable driver.
/// </summary>
public sealed unsafe class CudaDriver : ICudaDriver
{
    private const int AttributeComputeCapabilityMajor = 75;
    private const int AttributeComputeCapabilityMinor = 76;
    private const int FuncAttributeMaxDynamicSharedSizeBytes = 8;
    private const int JitErrorLogBuffer = 5;
    private const int JitErrorLogBufferSizeBytes = 6;
    private const int JitLogBytes = 16 * 1024;
    private const int LaunchAttributeProgrammaticStreamSerialization = 6;

    /// <summary>The first driver that turns programmatic launches inside a stream capture into graph edges.</summary>
    internal const int ProgrammaticLaunchDriverVersion = 12030;

    private static readonly object SharedLock = new();
    private static (CudaDriver? Driver, string Reason)? _shared;

    private readonly delegate* unmanaged<int, sbyte**, int> _cuGetErrorName;
    private readonly delegate* unmanaged<int, sbyte**, int> _cuGetErrorString;
    private readonly delegate* unmanaged<int*, int, int> _cuDeviceGet;
    private readonly delegate* unmanaged<int*, int, int, int> _cuDeviceGetAttribute;
    private readonly delegate* unmanaged<IntPtr*, int, int> _cuDevicePrimaryCtxRetain;
    private readonly delegate* unmanaged<IntPtr*, int> _cuCtxGetCurrent;
    private readonly delegate* unmanaged<IntPtr, int> _cuCtxSetCurrent;
    private readonly delegate* unmanaged<IntPtr*, void*, int> _cuModuleLoadData;
    private readonly delegate* unmanaged<IntPtr*, void*, uint, int*, void**, int> _cuModuleLoadDataEx;
    private readonly delegate* unmanaged<IntPtr*, IntPtr, byte*, int> _cuModuleGetFunction;
    private readonly delegate* unmanaged<IntPtr, int> _cuModuleUnload;
    private readonly delegate* unmanaged<IntPtr, int, int, int> _cuFuncSetAttribute;
    private readonly delegate* unmanaged<IntPtr, uint, uint, uint, uint, uint, uint, uint, IntPtr, void**, void**, int> _cuLaunchKernel;
    private readonly delegate* unmanaged<LaunchConfig*, IntPtr, void**, void**, int> _cuLaunchKernelEx;
    private readonly delegate* unmanaged<IntPtr*, uint, int> _cuStreamCreate;
    private readonly delegate* unmanaged<IntPtr, int> _cuStreamDestroy;
    private readonly delegate* unmanaged<IntPtr, int> _cuStreamSynchronize;
    private readonly delegate* unmanaged<IntPtr, int*, int> _cuStreamIsCapturing;
    private readonly delegate* unmanaged<IntPtr, IntPtr*, int> _cuStreamEndCapture;
    private readonly delegate* unmanaged<IntPtr, int> _cuGraphDestroy;
    private readonly delegate* unmanaged<IntPtr*, uint, int> _cuEventCreate;
    private readonly delegate* unmanaged<IntPtr, IntPtr, int> _cuEventRecord;
    private readonly delegate* unmanaged<IntPtr, int> _cuEventSynchronize;
    private readonly delegate* unmanaged<IntPtr, int> _cuEventDestroy;

    private CudaDriver(string location, IntPtr library, Dictionary<string, IntPtr> symbols, int driverVersion)
    {
        Location = location;
        Library = library;
        DriverVersion = driverVersion;
        _cuGetErrorName = (delegate* unmanaged<int, sbyte**, int>)symbols.GetValueOrDefault("cuGetErrorName");
        _cuGetErrorString = (delegate* unmanaged<int, sbyte**, int>)symbols.GetValueOrDefault("cuGetErrorString");
        _cuDeviceGet = (delegate* unmanaged<int*, int, int>)symbols["cuDeviceGet"];
        _cuDeviceGetAttribute = (delegate* unmanaged<int*, int, int, int>)symbols["cuDeviceGetAttribute"];
        _cuDevicePrimaryCtxRetain = (delegate* unmanaged<IntPtr*, int, int>)symbols["cuDevicePrimaryCtxRetain"];
        _cuCtxGetCurrent = (delegate* unmanaged<IntPtr*, int>)symbols["cuCtxGetCurrent"];
        _cuCtxSetCurrent = (delegate* unmanaged<IntPtr, int>)symbols["cuCtxSetCurrent"];
        _cuModuleLoadData = (delegate* unmanaged<IntPtr*, void*, int>)symbols["cuModuleLoadData"];
        _cuModuleLoadDataEx = (delegate* unmanaged<IntPtr*, void*, uint, int*, void**, int>)symbols.GetValueOrDefault("cuModuleLoadDataEx");
        _cuModuleGetFunction = (delegate* unmanaged<IntPtr*, IntPtr, byte*, int>)symbols["cuModuleGetFunction"];
        _cuModuleUnload = (delegate* unmanaged<IntPtr, int>)symbols["cuModuleUnload"];
        _cuFuncSetAttribute = (delegate* unmanaged<IntPtr, int, int, int>)symbols["cuFuncSetAttribute"];
        _cuLaunchKernel = (delegate* unmanaged<IntPtr, uint, uint, uint, uint, uint, uint, uint, IntPtr, void**, void**, int>)symbols["cuLaunchKernel"];
        _cuLaunchKernelEx = (delegate* unmanaged<LaunchConfig*, IntPtr, void**, void**, int>)symbols.GetValueOrDefault("cuLaunchKernelEx");
        _cuStreamCreate = (delegate* unmanaged<IntPtr*, uint, int>)symbols["cuStreamCreate"];
        _cuStreamDestroy = (delegate* unmanaged<IntPtr, int>)symbols["cuStreamDestroy_v2"];
        _cuStreamSynchronize = (delegate* unmanaged<IntPtr, int>)symbols["cuStreamSynchronize"];
        _cuStreamIsCapturing = (delegate* unmanaged<IntPtr, int*, int>)symbols["cuStreamIsCapturing"];
        _cuStreamEndCapture = (delegate* unmanaged<IntPtr, IntPtr*, int>)symbols["cuStreamEndCapture"];
        _cuGraphDestroy = (delegate* unmanaged<IntPtr, int>)symbols["cuGraphDestroy"];
        _cuEventCreate = (delegate* unmanaged<IntPtr*, uint, int>)symbols["cuEventCreate"];
        _cuEventRecord = (delegate* unmanaged<IntPtr, IntPtr, int>)symbols["cuEventRecord"];
        _cuEventSynchronize = (delegate* unmanaged<IntPtr, int>)symbols["cuEventSynchronize"];
        _cuEventDestroy = (delegate* unmanaged<IntPtr, int>)symbols["cuEventDestroy_v2"];
    }

    /// <summary>
    /// The exports this class needs, by their exported names: cuda.h maps some API names to versioned symbols
    /// (<c>#define cuStreamDestroy cuStreamDestroy_v2</c>); the others here have kept their first ABI.
    /// </summary>
    internal static readonly string[] RequiredSymbols =
    {
        "cuInit", "cuDriverGetVersion", "cuDeviceGet", "cuDeviceGetAttribute", "cuDevicePrimaryCtxRetain",
        "cuCtxGetCurrent", "cuCtxSetCurrent", "cuModuleLoadData", "cuModuleGetFunction", "cuModuleUnload",
        "cuFuncSetAttribute", "cuLaunchKernel", "cuStreamCreate", "cuStreamDestroy_v2", "cuStreamSynchronize",
        "cuStreamIsCapturing", "cuStreamEndCapture", "cuGraphDestroy", "cuEventCreate", "cuEventRecord", "cuEventSynchronize",
        "cuEventDestroy_v2",
    };

    /// <summary>Used when present: the JIT's error log on a refused PTX, the driver's own error names, launches with attributes.</summary>
    internal static readonly string[] OptionalSymbols = { "cuModuleLoadDataEx", "cuGetErrorName", "cuGetErrorString", "cuLaunchKernelEx" };

    /// <summary><c>CUlaunchAttribute</c>: the attribute's id, padding to 8 bytes, and a 64-byte value union (here an int).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 72)]
    internal struct LaunchAttribute
    {
        [FieldOffset(0)]
        public int Id;

        [FieldOffset(8)]
        public int Value;
    }

    /// <summary><c>CUlaunchConfig</c>: grid, block, dynamic shared memory, stream and the attributes.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct LaunchConfig
    {
        public uint GridX, GridY, GridZ, BlockX, BlockY, BlockZ, SharedBytes;
        public IntPtr Stream;
        public LaunchAttribute* Attributes;
        public uint AttributeCount;
    }

    public string Location { get; }

    public int DriverVersion { get; }

    /// <summary>The native library handle; the library stays loaded for the life of the process.</summary>
    internal IntPtr Library { get; }

    /// <summary>One driver for the process, loaded at first use; the reason stays the same for every caller.</summary>
    public static bool TryGetShared([NotNullWhen(true)] out CudaDriver? driver, out string reason)
    {
        lock (SharedLock)
        {
            if (_shared is null)
            {
                TryLoad(out var loaded, out var why);
                _shared = (loaded, why);
            }

            driver = _shared.Value.Driver;
            reason = _shared.Value.Reason;
            return driver is not null;
        }
    }

    /// <summary>Loads the driver library, resolves its exports and runs <c>cuInit(0)</c>; false with a reason on any failure.</summary>
    public static bool TryLoad([NotNullWhen(true)] out CudaDriver? driver, out string reason) =>
        TryLoad(DefaultLibraryNames(), out driver, out reason);

    /// <summary>The same with given library names or paths, tried in order (tests point it at libraries that are not a driver).</summary>
    internal static bool TryLoad(IReadOnlyList<string> libraryNames, [NotNullWhen(true)] out CudaDriver? driver, out string reason)
    {
        driver = null;
        try
        {
            IntPtr library = IntPtr.Zero;
            string? location = null;
            foreach (var name in libraryNames)
            {
                if (NativeLibrary.TryLoad(name, out library))
                {
                    location = name;
                    break;
                }
            }

            if (location is null)
            {
                reason = $"no CUDA driver: {string.Join(", ", libraryNames)} could not be loaded (no NVIDIA driver installed on this machine?)";
                return false;
            }

            var symbols = new Dictionary<string, IntPtr>();
            var missing = new List<string>();
            foreach (var name in RequiredSymbols)
            {
                if (NativeLibrary.TryGetExport(library, name, out var address))
                {
                    symbols[name] = address;
                }
                else
                {
                    missing.Add(name);
                }
            }

            if (missing.Count > 0)
            {
                reason = $"the CUDA driver {location} lacks {string.Join(", ", missing)} (too old a driver, or not a CUDA driver)";
                return false;
            }

            foreach (var name in OptionalSymbols)
            {
                if (NativeLibrary.TryGetExport(library, name, out var address))
                {
                    symbols[name] = address;
                }
            }

            var cuInit = (delegate* unmanaged<uint, int>)symbols["cuInit"];
            int result = cuInit(0);
            if (result != CudaResult.Success)
            {
                reason = $"cuInit failed in {location}: {NameWith(symbols, result)} (no usable GPU, or a driver/kernel module mismatch)";
                return false;
            }

            var getVersion = (delegate* unmanaged<int*, int>)symbols["cuDriverGetVersion"];
            int version;
            result = getVersion(&version);
            if (result != CudaResult.Success)
            {
                reason = $"cuDriverGetVersion failed in {location}: {NameWith(symbols, result)}";
                return false;
            }

            driver = new CudaDriver(location, library, symbols, version);
            reason = "";
            return true;
        }
        catch (Exception e) when (e is BadImageFormatException or DllNotFoundException or EntryPointNotFoundException or ArgumentException)
        {
            // NativeLibrary reports some environment problems as exceptions; they are still only "no driver".
            reason = $"the CUDA driver could not be loaded: {e.Message}";
            return false;
        }
    }

    /// <summary>Formats a driver version number the way CUDA does: 13000 is "13.0", 12040 is "12.4".</summary>
    public static string FormatVersion(int version) => $"{version / 1000}.{version % 1000 / 10}";

    private static IReadOnlyList<string> DefaultLibraryNames() =>
        OperatingSystem.IsWindows() ? new[] { "nvcuda.dll" } : new[] { "libcuda.so.1", "libcuda.so" };

    private static string NameWith(Dictionary<string, IntPtr> symbols, int result)
    {
        if (symbols.TryGetValue("cuGetErrorName", out var address))
        {
            sbyte* name = null;
            if (((delegate* unmanaged<int, sbyte**, int>)address)(result, &name) == CudaResult.Success && name != null)
            {
                return new string(name);
            }
        }

        return CudaResult.NameOf(result);
    }

    /// <summary>Throws the <see cref="CudaException"/> for a failed call; inlined checks keep the success path a compare.</summary>
    private void Check(int result, string call, string? detail = null)
    {
        if (result != CudaResult.Success)
        {
            throw Error(result, call, detail);
        }
    }

    internal CudaException Error(int result, string call, string? detail = null)
    {
        string? name = null, description = null;
        sbyte* text = null;
        if (_cuGetErrorName != null && _cuGetErrorName(result, &text) == CudaResult.Success && text != null)
        {
            name = new string(text);
        }

        text = null;
        if (_cuGetErrorString != null && _cuGetErrorString(result, &text) == CudaResult.Success && text != null)
        {
            description = new string(text);
        }

        return new CudaException(call, result, name, description, detail);
    }

    public int GetDevice(int ordinal)
    {
        int device;
        Check(_cuDeviceGet(&device, ordinal), "cuDeviceGet", $"device {ordinal}");
        return device;
    }

    public (int Major, int Minor) GetComputeCapability(int device)
    {
        int major, minor;
        Check(_cuDeviceGetAttribute(&major, AttributeComputeCapabilityMajor, device), "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MAJOR)");
        Check(_cuDeviceGetAttribute(&minor, AttributeComputeCapabilityMinor, device), "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MINOR)");
        return (major, minor);
    }

    public IntPtr GetCurrentContext()
    {
        IntPtr context;
        Check(_cuCtxGetCurrent(&context), "cuCtxGetCurrent");
        return context;
    }

    public IntPtr RetainPrimaryContext(int device)
    {
        IntPtr context;
        Check(_cuDevicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain", $"device {device}");
        return context;
    }

    public void SetCurrentContext(IntPtr context) => Check(_cuCtxSetCurrent(context), "cuCtxSetCurrent");

    public IntPtr LoadModule(ReadOnlySpan<byte> image)
    {
        IntPtr module;
        fixed (byte* data = image)
        {
            if (_cuModuleLoadDataEx == null)
            {
                Check(_cuModuleLoadData(&module, data), "cuModuleLoadData");
                return module;
            }

            // The JIT's error log says which PTX line it refused; without it a bad PTX is only "CUDA_ERROR_INVALID_PTX".
            byte* log = stackalloc byte[JitLogBytes];
            log[0] = 0;
            int* options = stackalloc int[] { JitErrorLogBuffer, JitErrorLogBufferSizeBytes };
            void** values = stackalloc void*[] { log, (void*)(nint)JitLogBytes };
            int result = _cuModuleLoadDataEx(&module, data, 2, options, values);
            if (result != CudaResult.Success)
            {
                throw Error(result, "cuModuleLoadDataEx", Marshal.PtrToStringUTF8((IntPtr)log));
            }

            return module;
        }
    }

    public IntPtr GetFunction(IntPtr module, string name)
    {
        int count = Encoding.UTF8.GetByteCount(name);
        byte* utf8 = stackalloc byte[count + 1];
        Encoding.UTF8.GetBytes(name, new Span<byte>(utf8, count));
        utf8[count] = 0;
        IntPtr function;
        Check(_cuModuleGetFunction(&function, module, utf8), "cuModuleGetFunction", $"entry '{name}'");
        return function;
    }

    public void UnloadModule(IntPtr module) => Check(_cuModuleUnload(module), "cuModuleUnload");

    public void SetMaxDynamicSharedMemory(IntPtr function, int bytes) =>
        Check(_cuFuncSetAttribute(function, FuncAttributeMaxDynamicSharedSizeBytes, bytes), "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)", $"{bytes} bytes");

    public bool SupportsProgrammaticLaunch => _cuLaunchKernelEx != null && DriverVersion >= ProgrammaticLaunchDriverVersion;

    public void LaunchKernel(IntPtr function, in LaunchGrid grid, IntPtr stream, IntPtr args, bool programmatic)
    {
        if (programmatic && SupportsProgrammaticLaunch)
        {
            var attribute = new LaunchAttribute { Id = LaunchAttributeProgrammaticStreamSerialization, Value = 1 };
            var config = new LaunchConfig
            {
                GridX = (uint)grid.GridX, GridY = (uint)grid.GridY, GridZ = (uint)grid.GridZ,
                BlockX = (uint)grid.BlockX, BlockY = (uint)grid.BlockY, BlockZ = (uint)grid.BlockZ,
                SharedBytes = (uint)grid.SharedBytes, Stream = stream, Attributes = &attribute, AttributeCount = 1,
            };
            int ex = _cuLaunchKernelEx(&config, function, (void**)args, null);
            if (ex != CudaResult.Success)
            {
                throw Error(ex, "cuLaunchKernelEx(PROGRAMMATIC_STREAM_SERIALIZATION)", grid.ToString());
            }

            return;
        }

        int result = _cuLaunchKernel(function, (uint)grid.GridX, (uint)grid.GridY, (uint)grid.GridZ,
            (uint)grid.BlockX, (uint)grid.BlockY, (uint)grid.BlockZ, (uint)grid.SharedBytes, stream, (void**)args, null);
        if (result != CudaResult.Success)
        {
            throw Error(result, "cuLaunchKernel", grid.ToString());
        }
    }

    public IntPtr CreateStream(bool nonBlocking)
    {
        IntPtr stream;
        Check(_cuStreamCreate(&stream, nonBlocking ? 1u : 0u), "cuStreamCreate");
        return stream;
    }

    public void DestroyStream(IntPtr stream) => Check(_cuStreamDestroy(stream), "cuStreamDestroy_v2");

    public void SynchronizeStream(IntPtr stream) => Check(_cuStreamSynchronize(stream), "cuStreamSynchronize");

    public CudaCaptureStatus GetCaptureStatus(IntPtr stream)
    {
        int status;
        Check(_cuStreamIsCapturing(stream, &status), "cuStreamIsCapturing");
        return (CudaCaptureStatus)status;
    }

    public IntPtr EndCapture(IntPtr stream)
    {
        IntPtr graph = IntPtr.Zero;
        int result = _cuStreamEndCapture(stream, &graph);
        // An invalidated capture ends with CUDA_ERROR_STREAM_CAPTURE_INVALIDATED and no graph: that is the expected end.
        if (result != CudaResult.Success && result != CudaResult.ErrorStreamCaptureInvalidated)
        {
            throw Error(result, "cuStreamEndCapture");
        }

        return graph;
    }

    public void DestroyGraph(IntPtr graph) => Check(_cuGraphDestroy(graph), "cuGraphDestroy");

    public IntPtr CreateEvent()
    {
        const uint DisableTiming = 2;
        IntPtr cudaEvent;
        Check(_cuEventCreate(&cudaEvent, DisableTiming), "cuEventCreate");
        return cudaEvent;
    }

    public void RecordEvent(IntPtr cudaEvent, IntPtr stream) => Check(_cuEventRecord(cudaEvent, stream), "cuEventRecord");

    public void SynchronizeEvent(IntPtr cudaEvent) => Check(_cuEventSynchronize(cudaEvent), "cuEventSynchronize");

    public void DestroyEvent(IntPtr cudaEvent) => Check(_cuEventDestroy(cudaEvent), "cuEventDestroy_v2");
}
