using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using MambaGen.Cuda;

namespace MambaGen.Tests.Cuda;

/// <summary>
/// When kernels go out as programmatic dependents (cuLaunchKernelEx with programmatic stream serialization): only where
/// asked for, on sm_90 and later, with a driver that captures such launches, for modules NVRTC compiled for the device
/// from sources whose entries wait on the previous grid; every other case launches the ordinary way and says why.
/// </summary>
public class ProgrammaticLaunchTests
{
    private static readonly KernelSource Waiting = CudaFakes.Sample with { AwaitsPreviousGrid = true };

    private static FakeLaunch LaunchScale(FakeCudaDriver driver, CudaRuntime runtime, KernelSource source)
    {
        var module = runtime.TryLoad(source, out var reason) ?? throw new InvalidOperationException(reason);
        module.Function("scale").Launch(LaunchGrid.Linear(2, 64), 0x77, KernelArg.Ptr(0), KernelArg.I64(1), KernelArg.I32(2), KernelArg.F32(3));
        return Assert.Single(driver.Launches);
    }

    [Fact]
    public void Kernels_that_wait_on_the_previous_grid_launch_as_its_programmatic_dependents_on_sm_90_when_asked()
    {
        var driver = CudaFakes.Driver();
        var runtime = CudaFakes.Runtime(driver, new FakeNvrtc(), programmaticLaunch: true);

        Assert.True(runtime.ProgrammaticLaunch);
        Assert.True(LaunchScale(driver, runtime, Waiting).Programmatic);
        Assert.Contains("programmatic dependent launch on", runtime.Describe());
    }

    [Fact]
    public void Kernels_launch_the_ordinary_way_unless_asked()
    {
        var driver = CudaFakes.Driver();
        var runtime = CudaFakes.Runtime(driver, new FakeNvrtc());

        Assert.False(LaunchScale(driver, runtime, Waiting).Programmatic);
        Assert.Contains($"programmatic dependent launch off ({CudaRuntime.ProgrammaticLaunchVariable}=1 turns it on)", runtime.Describe());
    }

    [Fact]
    public void A_source_that_does_not_declare_its_entries_wait_is_never_launched_early()
    {
        var driver = CudaFakes.Driver();
        var runtime = CudaFakes.Runtime(driver, new FakeNvrtc(), programmaticLaunch: true);

        Assert.False(LaunchScale(driver, runtime, CudaFakes.Sample).Programmatic);
    }

    [Fact]
    public void The_builds_sm_80_PTX_is_never_launched_early_since_its_waits_are_compiled_out()
    {
        var driver = CudaFakes.Driver();
        var runtime = CudaFakes.Runtime(driver, nvrtc: null, programmaticLaunch: true);

        var launch = LaunchScale(driver, runtime, Waiting);

        Assert.Equal(ModuleOrigin.BuildPtx, runtime.Load(Waiting).Origin);
        Assert.False(launch.Programmatic);
    }

    [Theory]
    [InlineData(8, 0, 13000, true, "asked for, but sm_80 has none (sm_90 and later)")]
    [InlineData(9, 0, 12020, true, "asked for, but the driver (CUDA 12.2) lacks cuLaunchKernelEx or is older than CUDA 12.3")]
    [InlineData(9, 0, 13000, false, "asked for, but the driver (CUDA 13.0) lacks cuLaunchKernelEx or is older than CUDA 12.3")]
    public void Asked_for_where_the_device_or_driver_cannot_it_launches_the_ordinary_way_and_says_why(int major, int minor, int driverVersion, bool hasLaunchEx, string why)
    {
        var driver = CudaFakes.Driver();
        driver.Capability = (major, minor);
        driver.DriverVersion = driverVersion;
        driver.HasLaunchKernelEx = hasLaunchEx;
        var runtime = CudaFakes.Runtime(driver, new FakeNvrtc(), programmaticLaunch: true);

        Assert.False(runtime.ProgrammaticLaunch);
        Assert.Equal(why, runtime.ProgrammaticLaunchReason);
        Assert.False(LaunchScale(driver, runtime, Waiting).Programmatic);
    }

    [Theory]
    [InlineData(CudaResult.ErrorInvalidValue)]
    [InlineData(CudaResult.ErrorNotSupported)]
    public void A_driver_that_refuses_the_attribute_turns_it_off_and_the_kernels_launch_the_ordinary_way(int refusal)
    {
        var driver = CudaFakes.Driver();
        driver.RefuseProgrammaticLaunch = refusal;
        var log = new List<string>();
        var runtime = CudaFakes.Runtime(driver, new FakeNvrtc(), log: log, programmaticLaunch: true);
        var scale = runtime.Load(Waiting).Function("scale");

        scale.Launch(LaunchGrid.Linear(2, 64), 0x77, KernelArg.Ptr(0), KernelArg.I64(1), KernelArg.I32(2), KernelArg.F32(3));
        scale.Launch(LaunchGrid.Linear(2, 64), 0x77, KernelArg.Ptr(0), KernelArg.I64(1), KernelArg.I32(2), KernelArg.F32(3));

        Assert.Equal(2, driver.Launches.Count);
        Assert.All(driver.Launches, l => Assert.False(l.Programmatic));
        Assert.False(runtime.ProgrammaticLaunch);
        Assert.StartsWith("turned off: cuLaunchKernelEx(PROGRAMMATIC_STREAM_SERIALIZATION) failed", runtime.ProgrammaticLaunchReason);
        Assert.Contains("kernel 'scale'", runtime.ProgrammaticLaunchReason);
        Assert.Single(log, l => l.Contains("programmatic dependent launch turned off", StringComparison.Ordinal));
    }

    [Fact]
    public void Another_launch_error_is_not_taken_for_the_attributes_and_reaches_the_caller()
    {
        var driver = CudaFakes.Driver();
        driver.RefuseProgrammaticLaunch = 700;  // CUDA_ERROR_ILLEGAL_ADDRESS: an earlier kernel's fault, sticky
        var runtime = CudaFakes.Runtime(driver, new FakeNvrtc(), programmaticLaunch: true);
        var scale = runtime.Load(Waiting).Function("scale");

        var e = Assert.Throws<CudaException>(() => scale.Launch(LaunchGrid.Linear(2, 64), 0x77, KernelArg.Ptr(0), KernelArg.I64(1), KernelArg.I32(2), KernelArg.F32(3)));

        Assert.Equal(700, e.Result);
        Assert.True(runtime.ProgrammaticLaunch);
    }

    [Fact]
    public void The_launch_config_and_attribute_have_cuda_hs_layout()
    {
        // CUlaunchConfig: seven uints, the stream at 32 (8-byte aligned), the attributes at 40, their count at 48.
        Assert.Equal(56, Marshal.SizeOf<CudaDriver.LaunchConfig>());
        Assert.Equal(32, (int)Marshal.OffsetOf<CudaDriver.LaunchConfig>(nameof(CudaDriver.LaunchConfig.Stream)));
        Assert.Equal(40, (int)Marshal.OffsetOf<CudaDriver.LaunchConfig>(nameof(CudaDriver.LaunchConfig.Attributes)));
        Assert.Equal(48, (int)Marshal.OffsetOf<CudaDriver.LaunchConfig>(nameof(CudaDriver.LaunchConfig.AttributeCount)));
        // CUlaunchAttribute: the id, padding to 8 bytes, a 64-byte value union.
        Assert.Equal(72, Marshal.SizeOf<CudaDriver.LaunchAttribute>());
        Assert.Equal(8, (int)Marshal.OffsetOf<CudaDriver.LaunchAttribute>(nameof(CudaDriver.LaunchAttribute.Value)));
    }
}
