using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;

namespace MambaGen.Cuda;

/// <summary>
/// The PTX and prelude the runtime falls back on and compiles with: the ones embedded in the runtime by default
/// (<see cref="Embedded"/>), fakes in tests.
/// </summary>
internal sealed class KernelAssets
{
    private readonly Func<string, string?> _ptx;
    private readonly Func<string, string> _missingPtxReason;

    public KernelAssets(string? prelude, Func<string, string?> ptx, Func<string, string> missingPtxReason)
    {
        Prelude = prelude;
        _ptx = ptx;
        _missingPtxReason = missingPtxReason;
    }

    public static KernelAssets Embedded { get; } = new(KernelResources.Prelude, KernelResources.TryReadPtx, KernelResources.MissingPtxReason);

    /// <summary>The text of <c>prelude.cuh</c>, given to NVRTC as a header; null when there is none.</summary>
    public string? Prelude { get; }

    public string? TryGetPtx(string sourceFileName, out string reason)
    {
        var ptx = _ptx(sourceFileName);
        reason = ptx is null ? _missingPtxReason(sourceFileName) : "";
        return ptx;
    }
}

/// <summary>
/// Own CUDA kernels on one device, in libtorch's primary context: modules loaded from the disk cache, compiled by NVRTC
/// for the device's exact architecture, or JIT-compiled by the driver from the PTX the build made; launched through the
/// driver API on libtorch's stream. Every environment problem is a null with a reason, never an exception.
/// </summary>
public sealed class CudaRuntime
{
    private static readonly ConcurrentDictionary<int, Lazy<(CudaRuntime? Runtime, string Reason)>> PerDevice = new();

    private readonly Lazy<(INvrtc? Nvrtc, string Reason)> _nvrtc;
    private readonly KernelAssets _assets;
    private readonly Action<string>? _log;
    private readonly ConcurrentDictionary<(string FileName, string Code), Lazy<LoadResult>> _modules = new();

    private CudaRuntime(int deviceIndex, ICudaDriver driver, int device, (int, int) capability, IntPtr context,
        Func<(INvrtc?, string)> loadNvrtc, KernelCache cache, KernelAssets assets, Action<string>? log, bool programmaticLaunch)
    {
        DeviceIndex = deviceIndex;
        Driver = driver;
        Device = device;
        ComputeCapability = capability;
        Context = context;
        Cache = cache;
        _assets = assets;
        _log = log;
        _nvrtc = new Lazy<(INvrtc?, string)>(loadNvrtc, LazyThreadSafetyMode.ExecutionAndPublication);
        (ProgrammaticLaunch, ProgrammaticLaunchReason) = !programmaticLaunch
            ? (false, $"off ({ProgrammaticLaunchVariable}=1 turns it on)")
            : capability.Item1 < 9
                ? (false, $"asked for, but {Arch} has none (sm_90 and later)")
                : !driver.SupportsProgrammaticLaunch
                    ? (false, $"asked for, but the driver (CUDA {CudaDriver.FormatVersion(driver.DriverVersion)}) lacks cuLaunchKernelEx or is older than CUDA {CudaDriver.FormatVersion(CudaDriver.ProgrammaticLaunchDriverVersion)}")
                    : (true, "on");
    }

    /// <summary>Set to 1 (or true, on) to launch the kernels as programmatic dependents (<see cref="ProgrammaticLaunch"/>).</summary>
    public const string ProgrammaticLaunchVariable = "MAMBAGEN_PDL";

    /// <summary>
    /// Whether kernels go out as programmatic dependents of the kernel before them (Hopper's programmatic dependent
    /// launch): a grid may start while the previous one ends, its blocks waiting on it in <c>mg_after_previous_grid()</c>
    /// (GEMVs load their weights first), which hides most of a launch's latency between the small kernels of a decode
    /// step. Asked for with <see cref="ProgrammaticLaunchVariable"/>=1; needs sm_90 or later and CUDA 12.3 or later, and
    /// applies to modules NVRTC compiled for the device (<see cref="CudaFunction.Programmatic"/>).
    /// </summary>
    public bool ProgrammaticLaunch { get; private set; }

    /// <summary>"on", or why not.</summary>
    public string ProgrammaticLaunchReason { get; private set; }

    /// <summary>
    /// Turns programmatic launches off for the rest of the process after the driver refused one (its own
    /// <c>cuLaunchKernelEx</c> support, not the kernel's), so launches go on the ordinary way instead of failing.
    /// </summary>
    internal void TurnOffProgrammaticLaunch(string reason)
    {
        if (ProgrammaticLaunch)
        {
            ProgrammaticLaunch = false;
            ProgrammaticLaunchReason = "turned off: " + reason;
            _log?.Invoke($"CUDA kernels: programmatic dependent launch turned off: {reason}");
        }
    }

    /// <summary>The CUDA device ordinal, as in TorchSharp's <c>cuda:N</c>.</summary>
    public int DeviceIndex { get; }

    public ICudaDriver Driver { get; }

    /// <summary>The driver's <c>CUdevice</c>.</summary>
    public int Device { get; }

    public (int Major, int Minor) ComputeCapability { get; }

    /// <summary>The exact architecture NVRTC compiles for, e.g. <c>sm_90</c>.</summary>
    public string Arch => $"sm_{ComputeCapability.Major}{ComputeCapability.Minor}";

    /// <summary>The device's primary context, shared with libtorch.</summary>
    public IntPtr Context { get; }

    public KernelCache Cache { get; }

    /// <summary>
    /// The runtime of a device, made once per process and device: null with the reason when there is no usable driver
    /// or device. <paramref name="log"/> (the first caller's) hears which path each module took and any cache trouble.
    /// </summary>
    public static CudaRuntime? TryCreate(int deviceIndex, Action<string>? log, out string reason)
    {
        var entry = PerDevice.GetOrAdd(deviceIndex, index => new Lazy<(CudaRuntime?, string)>(() =>
        {
            if (!CudaDriver.TryGetShared(out var driver, out var why))
            {
                return (null, why);
            }

            var runtime = TryCreate(index, driver, LoadNvrtc, KernelCache.FromEnvironment(log), KernelAssets.Embedded, log, out why,
                Config.EnvironmentSwitch.IsOn(ProgrammaticLaunchVariable));
            return (runtime, why);
        }, LazyThreadSafetyMode.ExecutionAndPublication));
        reason = entry.Value.Reason;
        return entry.Value.Runtime;
    }

    /// <summary>A runtime over given parts (tests: a fake driver, a fake or missing NVRTC, a cache folder, fake PTX).</summary>
    internal static CudaRuntime? TryCreate(int deviceIndex, ICudaDriver driver, INvrtc? nvrtc, string nvrtcMissingReason,
        KernelCache cache, KernelAssets assets, Action<string>? log, out string reason, bool programmaticLaunch = false) =>
        TryCreate(deviceIndex, driver, () => (nvrtc, nvrtc is null ? nvrtcMissingReason : ""), cache, assets, log, out reason, programmaticLaunch);

    internal static CudaRuntime? TryCreate(int deviceIndex, ICudaDriver driver, Func<(INvrtc?, string)> loadNvrtc,
        KernelCache cache, KernelAssets assets, Action<string>? log, out string reason, bool programmaticLaunch = false)
    {
        try
        {
            int device = driver.GetDevice(deviceIndex);
            var capability = driver.GetComputeCapability(device);
            var primary = driver.RetainPrimaryContext(device);
            var current = driver.GetCurrentContext();
            if (current == IntPtr.Zero)
            {
                // Before libtorch's first CUDA call on this thread no context is current; its primary context is the one to use.
                driver.SetCurrentContext(primary);
            }

            reason = "";
            return new CudaRuntime(deviceIndex, driver, device, capability, primary, loadNvrtc, cache, assets, log, programmaticLaunch);
        }
        catch (CudaException e)
        {
            reason = $"CUDA device {deviceIndex}: {e.Message}";
            return null;
        }
    }

    /// <summary>Set to 1 to leave NVRTC unloaded, so the build's PTX is used (a check of the fallback on a GPU machine).</summary>
    public const string NoNvrtcVariable = "MAMBAGEN_NO_NVRTC";

    private static (INvrtc?, string) LoadNvrtc()
    {
        if (Environment.GetEnvironmentVariable(NoNvrtcVariable) == "1")
        {
            return (null, $"turned off by {NoNvrtcVariable}=1");
        }

        return Nvrtc.TryLoad(out var nvrtc, out var reason) ? (nvrtc, "") : (null, reason);
    }

    /// <summary>The NVRTC options: the device's exact architecture; no fast math, as the results must match the references.</summary>
    public IReadOnlyList<string> CompileOptions() =>
        new[] { $"--gpu-architecture={Arch}", "-default-device", "--std=c++17", "-D__MAMBAGEN_NVRTC__" };

    /// <summary>
    /// The module of a kernel source, loaded once (later calls, from any thread, get the same module or the same
    /// reason): from the kernel cache, else NVRTC's CUBIN, else the build's PTX; null with what failed at each step.
    /// </summary>
    public CudaModule? TryLoad(KernelSource source, out string reason)
    {
        ArgumentNullException.ThrowIfNull(source);
        var result = _modules.GetOrAdd((source.FileName, source.Code),
            _ => new Lazy<LoadResult>(() => LoadOnce(source), LazyThreadSafetyMode.ExecutionAndPublication)).Value;
        reason = result.Reason;
        return result.Module;
    }

    /// <summary>As <see cref="TryLoad"/>, throwing <see cref="InvalidOperationException"/> with the reason.</summary>
    public CudaModule Load(KernelSource source) =>
        TryLoad(source, out var reason) ?? throw new InvalidOperationException($"CUDA kernels {source.FileName} could not be loaded: {reason}");

    /// <summary>Makes this device's primary context current on the calling thread (a thread that never ran libtorch's CUDA code).</summary>
    public void MakeCurrent()
    {
        if (Driver.GetCurrentContext() != Context)
        {
            Driver.SetCurrentContext(Context);
        }
    }

    /// <summary>Which path each module took, e.g. "norm.cu: sm_90 CUBIN from NVRTC 13.0".</summary>
    public string Describe()
    {
        var text = new StringBuilder();
        text.Append($"CUDA device {DeviceIndex} ({Arch}), driver CUDA {CudaDriver.FormatVersion(Driver.DriverVersion)} ({Driver.Location})");
        if (_nvrtc.IsValueCreated)
        {
            var (nvrtc, why) = _nvrtc.Value;
            text.Append(nvrtc is null ? $"; NVRTC missing: {why}" : $"; NVRTC {nvrtc.Version.Major}.{nvrtc.Version.Minor} ({nvrtc.Location})");
        }

        text.Append(Cache.Directory is { } folder ? $"; kernel cache {folder}" : "; kernel cache off");
        text.Append("; programmatic dependent launch ").Append(ProgrammaticLaunchReason);
        foreach (var entry in _modules.OrderBy(m => m.Key.FileName, StringComparer.Ordinal))
        {
            if (!entry.Value.IsValueCreated)
            {
                continue;
            }

            var result = entry.Value.Value;
            text.Append('\n').Append("  ").Append(entry.Key.FileName).Append(": ")
                .Append(result.Module is { } module ? module.Description : "not loaded: " + result.Reason);
        }

        return text.ToString();
    }

    private sealed record LoadResult(CudaModule? Module, string Reason);

    private LoadResult LoadOnce(KernelSource source)
    {
        var clock = Stopwatch.StartNew();
        IntPtr previous;
        try
        {
            previous = Driver.GetCurrentContext();
            if (previous != Context)
            {
                Driver.SetCurrentContext(Context);
            }
        }
        catch (CudaException e)
        {
            return Fail(source, $"could not make device {DeviceIndex}'s context current: {e.Message}");
        }

        try
        {
            var result = LoadInContext(source);
            if (result.Module is { } module)
            {
                _log?.Invoke($"CUDA kernels {source.FileName}: {module.Description} ({clock.ElapsedMilliseconds} ms)");
            }

            return result;
        }
        finally
        {
            if (previous != Context && previous != IntPtr.Zero)
            {
                try
                {
                    Driver.SetCurrentContext(previous);
                }
                catch (CudaException e)
                {
                    _log?.Invoke($"CUDA kernels {source.FileName}: could not restore the thread's previous context: {e.Message}");
                }
            }
        }
    }

    private LoadResult LoadInContext(KernelSource source)
    {
        var failures = new List<string>();
        var (nvrtc, nvrtcReason) = _nvrtc.Value;
        if (nvrtc is null)
        {
            failures.Add($"NVRTC missing: {nvrtcReason}");
        }
        else
        {
            var nvrtcVersion = $"{nvrtc.Version.Major}.{nvrtc.Version.Minor}";
            var options = CompileOptions();
            var prelude = _assets.Prelude;
            var key = KernelCache.Key(source.Code, prelude ?? "", options, nvrtcVersion, Arch, Driver.DriverVersion);

            var cached = Cache.TryRead(key);
            if (cached is not null)
            {
                if (TryModule(source, cached, ModuleOrigin.KernelCache, $"from the kernel cache ({Arch} CUBIN of NVRTC {nvrtcVersion})", out var module, out var why))
                {
                    return new LoadResult(module, "");
                }

                _log?.Invoke($"kernel cache: the driver refused {source.FileName}'s entry ({why}); compiling instead");
            }

            byte[]? cubin = null;
            try
            {
                var headers = prelude is null
                    ? Array.Empty<KeyValuePair<string, string>>()
                    : new[] { KeyValuePair.Create(KernelResources.PreludeFileName, prelude) };
                cubin = nvrtc.Compile(source.Code, source.FileName, headers, options, NvrtcOutput.Cubin);
            }
            catch (NvrtcException e)
            {
                failures.Add($"NVRTC {nvrtcVersion} failed on {source.FileName}: {FirstLines(e.Message, 12)}");
            }

            if (cubin is not null)
            {
                if (TryModule(source, cubin, ModuleOrigin.Nvrtc, $"{Arch} CUBIN from NVRTC {nvrtcVersion}", out var module, out var why))
                {
                    Cache.Write(key, cubin);
                    return new LoadResult(module, "");
                }

                failures.Add($"the driver (CUDA {CudaDriver.FormatVersion(Driver.DriverVersion)}) refused NVRTC {nvrtcVersion}'s {Arch} CUBIN: {why}");
            }
        }

        var ptx = _assets.TryGetPtx(source.FileName, out var noPtx);
        if (ptx is null)
        {
            return Fail(source, $"{string.Join("; ", failures)}; {noPtx}");
        }

        var image = Encoding.UTF8.GetBytes(ptx + "\0");
        if (TryModule(source, image, ModuleOrigin.BuildPtx, $"PTX from the build ({string.Join("; ", failures)})", out var ptxModule, out var ptxWhy))
        {
            return new LoadResult(ptxModule, "");
        }

        failures.Add($"the driver could not load the build's PTX: {ptxWhy}");
        return Fail(source, string.Join("; ", failures));
    }

    private LoadResult Fail(KernelSource source, string reason)
    {
        _log?.Invoke($"CUDA kernels {source.FileName}: not loaded: {reason}");
        return new LoadResult(null, reason);
    }

    /// <summary>Loads an image and resolves every entry the source declares; any failure unloads it and says why.</summary>
    private bool TryModule(KernelSource source, byte[] image, ModuleOrigin origin, string description, out CudaModule? module, out string reason)
    {
        module = null;
        IntPtr handle;
        try
        {
            handle = Driver.LoadModule(image);
        }
        catch (CudaException e)
        {
            reason = FirstLines(e.Message, 12);
            return false;
        }

        var functions = new List<CudaFunction>();
        foreach (var spec in source.Kernels)
        {
            try
            {
                // The build's PTX targets sm_80, where mg_after_previous_grid() is empty: its grids must not start early.
                bool awaits = source.AwaitsPreviousGrid && origin != ModuleOrigin.BuildPtx;
                functions.Add(new CudaFunction(this, source.FileName, spec, Driver.GetFunction(handle, spec.Name), awaits));
            }
            catch (CudaException e)
            {
                reason = e.Result == CudaResult.ErrorNotFound
                    ? $"{source.FileName} has no entry '{spec.Name}' (its KernelSpec names an extern \"C\" __global__ function the module lacks)"
                    : e.Message;
                TryUnload(handle);
                return false;
            }
            catch (ArgumentException e)
            {
                reason = e.Message;
                TryUnload(handle);
                return false;
            }
        }

        module = new CudaModule(source, origin, description, handle, functions);
        reason = "";
        return true;
    }

    private void TryUnload(IntPtr handle)
    {
        try
        {
            Driver.UnloadModule(handle);
        }
        catch (CudaException e)
        {
            _log?.Invoke($"CUDA kernels: cuModuleUnload of a refused module failed: {e.Message}");
        }
    }

    private static string FirstLines(string text, int count)
    {
        var lines = text.Split('\n');
        return lines.Length <= count ? text.TrimEnd() : string.Join('\n', lines.Take(count)) + $"\n... ({lines.Length - count} more lines)";
    }
}
