using System;
using System.Threading;
using MambaGen.Cuda;
using MambaGen.Ops;

namespace MambaGen.Tests.Cuda.Emulator;

/// <summary>
/// A CUDA driver whose modules are the kernel emulator's library and whose launches run there, on CPU tensors: the
/// runtime's own loading (the PTX path, every entry resolved), launch packing and <see cref="CudaMambaOps"/> host code
/// drive the real kernel sources, so the suite checks the kernels' arithmetic and indexing on machines with no GPU.
/// </summary>
internal sealed class EmulatedCudaDriver : ICudaDriver
{
    private long _next = 0x1000;

    public string Location => "the CPU kernel emulator";

    public int DriverVersion => 13000;

    public int GetDevice(int ordinal) => ordinal;

    /// <summary>The device's compute capability (sm_80 unless a test asks for an older one).</summary>
    public (int Major, int Minor) Capability { get; init; } = (8, 0);

    public (int Major, int Minor) GetComputeCapability(int device) => Capability;

    public IntPtr GetCurrentContext() => 0x51;

    public IntPtr RetainPrimaryContext(int device) => 0x51;

    public void SetCurrentContext(IntPtr context)
    {
    }

    public IntPtr LoadModule(ReadOnlySpan<byte> image) => (IntPtr)Interlocked.Increment(ref _next);

    public IntPtr GetFunction(IntPtr module, string name) => KernelEmulator.Entry(name);

    public void UnloadModule(IntPtr module)
    {
    }

    public void SetMaxDynamicSharedMemory(IntPtr function, int bytes)
    {
    }

    /// <summary>Kernel launches so far, by every op set over this driver.</summary>
    public int Launches => _launches;

    private int _launches;

    /// <summary>The emulator runs one grid at a time, and its modules are the build's PTX path, never launched early.</summary>
    public bool SupportsProgrammaticLaunch => false;

    public void LaunchKernel(IntPtr function, in LaunchGrid grid, IntPtr stream, IntPtr args, bool programmatic)
    {
        Interlocked.Increment(ref _launches);
        KernelEmulator.Launch(function, grid, args);
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

    /// <summary>Events created and not yet destroyed, by every emulated driver (only the pending picks' test makes them).</summary>
    public static int LiveEvents;

    /// <summary>When set, cuEventCreate fails with this CUresult (as a driver out of resources would).</summary>
    public int? RefuseEvents { get; init; }

    // The emulator runs every launch to its end before it returns: an event has always been reached.
    public IntPtr CreateEvent()
    {
        if (RefuseEvents is int result)
        {
            throw new CudaException("cuEventCreate", result);
        }

        Interlocked.Increment(ref LiveEvents);
        return (IntPtr)Interlocked.Add(ref _next, 16);
    }

    public void RecordEvent(IntPtr cudaEvent, IntPtr stream)
    {
    }

    public void SynchronizeEvent(IntPtr cudaEvent)
    {
    }

    public void DestroyEvent(IntPtr cudaEvent) => Interlocked.Decrement(ref LiveEvents);
}

/// <summary>The fused kernels as op sets over CPU tensors, run by the emulator (built once per test run).</summary>
internal static class EmulatedKernels
{
    private static readonly Lazy<CudaRuntime> Runtime = new(CreateRuntime, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<MambaOps> Timed = new(() => Create(KernelChoices.Default), LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly Lazy<MambaOps> Newest = new(() => Create(KernelChoices.OptIn), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The kernels as a CUDA device runs them by default.</summary>
    public static MambaOps Ops => Timed.Value;

    private static readonly Lazy<MambaOps> FusedOnly = new(() => Create(new KernelChoices(PrefillScan.RowWarps, GemvProjections: true)), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The fused small-step projections with the default scans and state updates.</summary>
    public static MambaOps FusedProjectionsOnly => FusedOnly.Value;

    private static readonly Lazy<MambaOps> FirstTimed = new(() => Create(KernelChoices.RowWarps), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Row-warp scans and state updates only (<see cref="KernelChoices.RowWarps"/>).</summary>
    public static MambaOps RowWarps => FirstTimed.Value;

    private static readonly Lazy<MambaOps> TensorCoreScans = new(() => Create(KernelChoices.Default with { PrefillScan = PrefillScan.TensorCores }), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Mamba-2's bf16 prefills as the SSD on tensor cores, the rest as <see cref="Ops"/>.</summary>
    public static MambaOps TensorCores => TensorCoreScans.Value;

    private static readonly Lazy<MambaOps> BlockScans = new(() => Create(KernelChoices.Default with { PrefillScan = PrefillScan.BlockScan }), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Mamba-1's prefills as block-wide scans, the rest as <see cref="Ops"/>.</summary>
    public static MambaOps BlockScan => BlockScans.Value;

    private static readonly Lazy<MambaOps> ChunkedScans = new(() => Create(KernelChoices.Default with { PrefillScan = PrefillScan.Chunked }), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The chunked prefill scans, the rest as by default.</summary>
    public static MambaOps Chunked => ChunkedScans.Value;

    /// <summary>Every opt-in variant (<see cref="KernelChoices.OptIn"/>).</summary>
    public static MambaOps OptIn => Newest.Value;

    /// <summary>The op set a test names: opt-in, row-warps, chunked, tensor-cores, block-scan, wide, or the default kernels.</summary>
    public static MambaOps Named(string variants) => variants switch
    {
        "opt-in" => OptIn,
        "row-warps" => RowWarps,
        "chunked" => Chunked,
        "tensor-cores" => TensorCores,
        "block-scan" => BlockScan,
        "wide" => Wide,
        _ => Ops,
    };

    private static readonly Lazy<MambaOps> WideUpdates = new(() => Create(KernelChoices.Default with { DecodeSsm = DecodeSsm.Wide }), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Mamba-2's decode update a block per (row, head), the rest as <see cref="Ops"/>.</summary>
    public static MambaOps Wide => WideUpdates.Value;

    private static readonly EmulatedCudaDriver Driver = new();

    private static readonly Lazy<MambaOps> Turing = new(
        () => Create(KernelChoices.Default with { PrefillScan = PrefillScan.TensorCores }, CreateRuntime(new EmulatedCudaDriver { Capability = (7, 5) })),
        LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The tensor-core choice on an sm_75 device, which has no bf16 mma.</summary>
    public static MambaOps TensorCoresOnSm75 => Turing.Value;

    private static readonly Lazy<MambaOps> NoEvents = new(
        () => Create(KernelChoices.Default, CreateRuntime(new EmulatedCudaDriver { RefuseEvents = CudaResult.ErrorOutOfMemory })),
        LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The default kernels over a driver whose cuEventCreate fails.</summary>
    public static MambaOps WithoutEvents => NoEvents.Value;

    /// <summary>Kernel launches so far through any of these op sets.</summary>
    public static int Launches => Driver.Launches;

    private static CudaRuntime CreateRuntime() => CreateRuntime(Driver);

    private static CudaRuntime CreateRuntime(EmulatedCudaDriver driver)
    {
        // The emulator ignores module images: any text stands in for each file's PTX.
        var assets = new KernelAssets(KernelResources.Prelude, file => "// emulated " + file, file => "");
        return CudaRuntime.TryCreate(0, driver, nvrtc: null, "the emulator runs host code, not NVRTC's",
            KernelCache.Disabled, assets, log: null, out var reason) ?? throw new InvalidOperationException(reason);
    }

    private static MambaOps Create(KernelChoices choices) => Create(choices, Runtime.Value);

    private static MambaOps Create(KernelChoices choices, CudaRuntime runtime)
    {
        var kernels = CudaMambaOps.TryCreate(runtime, KernelTarget.HostEmulation, choices, out var reason) ?? throw new InvalidOperationException(reason);
        return MambaOps.Of($"fused CUDA kernels ({choices}) under the CPU emulator", kernels);
    }
}
