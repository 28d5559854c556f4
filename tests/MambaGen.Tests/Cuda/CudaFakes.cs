using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using MambaGen.Cuda;
using static MambaGen.Cuda.KernelParam;

namespace MambaGen.Tests.Cuda;

/// <summary>One recorded launch: the function's entry name, the shape, the stream, each parameter's 8-byte slot, and whether it went out as a programmatic dependent.</summary>
internal sealed record FakeLaunch(string Function, LaunchGrid Grid, IntPtr Stream, long[] Slots, bool Programmatic = false);

/// <summary>A CUDA driver in memory: modules are byte images, functions are names, launches are recorded.</summary>
internal sealed class FakeCudaDriver : ICudaDriver
{
    private long _next = 0x1000;
    private readonly ConcurrentDictionary<IntPtr, string> _functionNames = new();

    public string Location => "fake libcuda.so.1";

    public int DriverVersion { get; set; } = 13000;

    /// <summary>Whether the fake has cuLaunchKernelEx (as a CUDA 12.3+ driver does, by default).</summary>
    public bool HasLaunchKernelEx { get; set; } = true;

    public bool SupportsProgrammaticLaunch => HasLaunchKernelEx && DriverVersion >= CudaDriver.ProgrammaticLaunchDriverVersion;

    /// <summary>When set, a programmatic launch fails with this CUresult (as a driver that refuses the attribute would).</summary>
    public int? RefuseProgrammaticLaunch { get; set; }

    public (int Major, int Minor) Capability { get; set; } = (9, 0);

    public IntPtr PrimaryContext { get; } = 0x51;

    /// <summary>The calling thread's context, as cuCtxGetCurrent keeps it.</summary>
    public ThreadLocal<IntPtr> Current { get; } = new(() => IntPtr.Zero);

    /// <summary>Refuses an image with the returned CUresult, or accepts it (null).</summary>
    public Func<byte[], int?> Refuse { get; set; } = _ => null;

    /// <summary>The entries every module has; null: any name resolves.</summary>
    public HashSet<string>? Entries { get; set; }

    /// <summary>Parameter counts by entry name, so a launch's slots can be read back.</summary>
    public Dictionary<string, int> ParamCounts { get; } = new();

    public List<byte[]> LoadedImages { get; } = new();

    public List<IntPtr> UnloadedModules { get; } = new();

    public List<FakeLaunch> Launches { get; } = new();

    public List<(IntPtr Function, int Bytes)> SharedOptIns { get; } = new();

    /// <summary>When set, launches record nothing (the allocation test counts the runtime's allocations only).</summary>
    public bool RecordLaunches { get; set; } = true;

    public int LaunchCount;

    /// <summary>Launches fail with CUDA_ERROR_INVALID_CONTEXT while no context is current, as the real driver does.</summary>
    public bool RequireContextForLaunch { get; set; }

    public Func<int, int> DeviceOf { get; set; } = ordinal => ordinal;

    public int GetDevice(int ordinal) => DeviceOf(ordinal);

    public (int Major, int Minor) GetComputeCapability(int device) => Capability;

    public IntPtr GetCurrentContext() => Current.Value;

    public IntPtr RetainPrimaryContext(int device) => PrimaryContext;

    public void SetCurrentContext(IntPtr context) => Current.Value = context;

    public List<IntPtr> ContextsAtLoad { get; } = new();

    public IntPtr LoadModule(ReadOnlySpan<byte> image)
    {
        var bytes = image.ToArray();
        lock (LoadedImages)
        {
            LoadedImages.Add(bytes);
            ContextsAtLoad.Add(Current.Value);
        }

        if (Refuse(bytes) is int result)
        {
            throw new CudaException("cuModuleLoadDataEx", result, detail: "fake JIT log: line 1");
        }

        return (IntPtr)Interlocked.Increment(ref _next);
    }

    public IntPtr GetFunction(IntPtr module, string name)
    {
        if (Entries is not null && !Entries.Contains(name))
        {
            throw new CudaException("cuModuleGetFunction", CudaResult.ErrorNotFound, detail: $"entry '{name}'");
        }

        var handle = (IntPtr)Interlocked.Increment(ref _next);
        _functionNames[handle] = name;
        return handle;
    }

    public void UnloadModule(IntPtr module)
    {
        lock (UnloadedModules)
        {
            UnloadedModules.Add(module);
        }
    }

    public void SetMaxDynamicSharedMemory(IntPtr function, int bytes) => SharedOptIns.Add((function, bytes));

    public void LaunchKernel(IntPtr function, in LaunchGrid grid, IntPtr stream, IntPtr args, bool programmatic)
    {
        if (RequireContextForLaunch && Current.Value == IntPtr.Zero)
        {
            throw new CudaException("cuLaunchKernel", CudaResult.ErrorInvalidContext);
        }

        if (programmatic && RefuseProgrammaticLaunch is int refused)
        {
            throw new CudaException("cuLaunchKernelEx(PROGRAMMATIC_STREAM_SERIALIZATION)", refused);
        }

        LaunchCount++;
        if (!RecordLaunches)
        {
            return;
        }

        var name = _functionNames[function];
        int count = ParamCounts.GetValueOrDefault(name);
        var slots = new long[count];
        for (int i = 0; i < count; i++)
        {
            // Each kernel parameter is read through its own pointer, as cuLaunchKernel reads kernelParams[i].
            slots[i] = Marshal.ReadInt64(Marshal.ReadIntPtr(args, i * IntPtr.Size));
        }

        Launches.Add(new FakeLaunch(name, grid, stream, slots, programmatic));
    }

    public IntPtr CreateStream(bool nonBlocking) => (IntPtr)Interlocked.Increment(ref _next);

    public void DestroyStream(IntPtr stream)
    {
    }

    public void SynchronizeStream(IntPtr stream)
    {
    }

    public CudaCaptureStatus GetCaptureStatus(IntPtr stream) => CudaCaptureStatus.None;

    public IntPtr EndCapture(IntPtr stream) => IntPtr.Zero;

    public void DestroyGraph(IntPtr graph)
    {
    }

    /// <summary>Event calls in order ("create 0x..", "record 0x.. on 0x..", "wait 0x..", "destroy 0x..").</summary>
    public List<string> EventCalls { get; } = new();

    public IntPtr CreateEvent()
    {
        var cudaEvent = (IntPtr)Interlocked.Add(ref _next, 16);
        EventCalls.Add($"create {cudaEvent}");
        return cudaEvent;
    }

    public void RecordEvent(IntPtr cudaEvent, IntPtr stream) => EventCalls.Add($"record {cudaEvent} on {stream}");

    public void SynchronizeEvent(IntPtr cudaEvent) => EventCalls.Add($"wait {cudaEvent}");

    public void DestroyEvent(IntPtr cudaEvent) => EventCalls.Add($"destroy {cudaEvent}");

    /// <summary>Whether an image is the NUL-terminated PTX text the runtime hands the driver's JIT.</summary>
    public static bool IsPtx(byte[] image) => image.Length > 0 && image[^1] == 0 && Encoding.UTF8.GetString(image).StartsWith("//", StringComparison.Ordinal);
}

/// <summary>An NVRTC that "compiles" to a CUBIN-looking byte string, or fails with a log.</summary>
internal sealed class FakeNvrtc : INvrtc
{
    private int _compiles;

    public string Location => "fake libnvrtc.so.13";

    public (int Major, int Minor) Version { get; set; } = (13, 0);

    /// <summary>When set, every compile fails with this log.</summary>
    public string? FailWithLog { get; set; }

    public int Compiles => _compiles;

    public List<(string Source, IReadOnlyList<KeyValuePair<string, string>> Headers, IReadOnlyList<string> Options, NvrtcOutput Output)> Calls { get; } = new();

    public byte[] Compile(string source, string programName, IReadOnlyList<KeyValuePair<string, string>> headers, IReadOnlyList<string> options, NvrtcOutput output)
    {
        Interlocked.Increment(ref _compiles);
        lock (Calls)
        {
            Calls.Add((source, headers, options, output));
        }

        if (FailWithLog is not null)
        {
            throw new NvrtcException("nvrtcCompileProgram", 6, "NVRTC_ERROR_COMPILATION", FailWithLog);
        }

        return Encoding.UTF8.GetBytes("CUBIN " + options.First(o => o.StartsWith("--gpu-architecture=", StringComparison.Ordinal)) + " " + source.Length);
    }
}

/// <summary>A kernel source, a runtime over the fakes, and the PTX it falls back on.</summary>
internal static class CudaFakes
{
    public const string Prelude = "// fake prelude\n#define MG_FAKE 1\n";
    public const string Ptx = "// fake PTX\n.version 7.0\n.target sm_80\n";

    public static KernelSource Sample { get; } = new("sample.cu", "#include \"prelude.cuh\"\nextern \"C\" __global__ void scale(float* y, long long n, int s, float f) {}\n",
        new[] { new KernelSpec("scale", Ptr, I64, I32, F32), new KernelSpec("fill", Ptr, I32) });

    public static FakeCudaDriver Driver()
    {
        var driver = new FakeCudaDriver();
        foreach (var spec in Sample.Kernels)
        {
            driver.ParamCounts[spec.Name] = spec.Params.Count;
        }

        return driver;
    }

    public static CudaRuntime Runtime(FakeCudaDriver driver, INvrtc? nvrtc, KernelCache? cache = null, string? ptx = Ptx, List<string>? log = null,
        bool programmaticLaunch = false) =>
        CudaRuntime.TryCreate(0, driver, nvrtc, "libnvrtc.so.13 not found (fake)", cache ?? KernelCache.Disabled,
            new KernelAssets(Prelude, _ => ptx, _ => "no PTX fallback in this build (fake)"), log is null ? null : line => { lock (log) { log.Add(line); } }, out var reason,
            programmaticLaunch)
        ?? throw new InvalidOperationException("fake runtime not created: " + reason);
}
