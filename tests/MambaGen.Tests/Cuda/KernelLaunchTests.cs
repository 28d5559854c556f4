using System;
using System.Threading;
using MambaGen.Cuda;

namespace MambaGen.Tests.Cuda;

public class KernelLaunchTests
{
    private static (FakeCudaDriver Driver, CudaFunction Scale) Scale()
    {
        var driver = CudaFakes.Driver();
        var module = CudaFakes.Runtime(driver, new FakeNvrtc()).TryLoad(CudaFakes.Sample, out var reason) ?? throw new InvalidOperationException(reason);
        return (driver, module.Function("scale"));
    }

    [Fact]
    public void Launch_packs_each_argument_in_parameter_order_at_its_kinds_width()
    {
        var (driver, scale) = Scale();
        scale.Launch(LaunchGrid.Linear(3, 128), 0x77, KernelArg.Ptr(new IntPtr(0x7f00_1234_5678)), KernelArg.I64(-5_000_000_000), KernelArg.I32(-7), KernelArg.F32(1.5f));

        var launch = Assert.Single(driver.Launches);
        Assert.Equal("scale", launch.Function);
        Assert.Equal(0x7f00_1234_5678, launch.Slots[0]);
        Assert.Equal(-5_000_000_000, launch.Slots[1]);
        Assert.Equal(-7, (int)launch.Slots[2]);
        Assert.Equal(1.5f, BitConverter.Int32BitsToSingle((int)launch.Slots[3]));
    }

    [Fact]
    public void Launch_hands_the_driver_the_grid_block_shared_memory_and_stream()
    {
        var (driver, scale) = Scale();
        var grid = new LaunchGrid(4, 3, 2, 32, 4, 1, 1024);
        scale.Launch(grid, 0x99, KernelArg.Ptr(0), KernelArg.I64(1), KernelArg.I32(2), KernelArg.F32(3));

        var launch = Assert.Single(driver.Launches);
        Assert.Equal(grid, launch.Grid);
        Assert.Equal((IntPtr)0x99, launch.Stream);
    }

    [Fact]
    public void Launch_with_the_wrong_argument_count_names_the_kernel_and_what_it_takes()
    {
        var (driver, scale) = Scale();
        var e = Assert.Throws<ArgumentException>(() => scale.Launch(LaunchGrid.Linear(1, 32), 0, KernelArg.Ptr(0), KernelArg.I64(1), KernelArg.I32(2)));

        Assert.Contains("kernel 'scale' (sample.cu) takes 4 arguments (Ptr, I64, I32, F32), got 3", e.Message);
        Assert.Empty(driver.Launches);
    }

    [Fact]
    public void Launch_with_a_wrong_argument_kind_names_the_kernel_the_index_and_both_kinds()
    {
        var (driver, scale) = Scale();
        var e = Assert.Throws<ArgumentException>(() => scale.Launch(LaunchGrid.Linear(1, 32), 0, KernelArg.Ptr(0), KernelArg.I64(1), KernelArg.F32(2), KernelArg.F32(3)));

        Assert.Contains("kernel 'scale' (sample.cu) argument 2: expected I32, got F32(2)", e.Message);
        Assert.Empty(driver.Launches);
    }

    [Fact]
    public void Launch_refuses_a_grid_over_CUDAs_limits_before_calling_the_driver()
    {
        var (driver, scale) = Scale();
        var e = Assert.Throws<ArgumentException>(() => scale.Launch(LaunchGrid.Linear(1, 2048), 0, KernelArg.Ptr(0), KernelArg.I64(1), KernelArg.I32(2), KernelArg.F32(3)));

        Assert.Contains("1024", e.Message);
        Assert.Empty(driver.Launches);
    }

    [Fact]
    public void Launch_over_48_KiB_of_shared_memory_opts_in_once_for_the_largest_size()
    {
        var (driver, scale) = Scale();
        foreach (var bytes in new[] { 1024, 64 * 1024, 64 * 1024, 100 * 1024, 80 * 1024 })
        {
            scale.Launch(LaunchGrid.Linear(1, 32, bytes), 0, KernelArg.Ptr(0), KernelArg.I64(1), KernelArg.I32(2), KernelArg.F32(3));
        }

        Assert.Equal(new[] { 64 * 1024, 100 * 1024 }, driver.SharedOptIns.ConvertAll(o => o.Bytes));
        Assert.Equal(5, driver.Launches.Count);
    }

    [Fact]
    public void Launch_on_a_thread_without_a_current_context_makes_the_devices_context_current_and_launches()
    {
        var (driver, scale) = Scale();
        driver.RequireContextForLaunch = true;
        var thread = new Thread(() => scale.Launch(LaunchGrid.Linear(1, 32), 0, KernelArg.Ptr(0), KernelArg.I64(1), KernelArg.I32(2), KernelArg.F32(3)));
        thread.Start();
        thread.Join();

        Assert.Single(driver.Launches);
    }

    [Fact]
    public void Launch_allocates_nothing_on_the_heap()
    {
        var (driver, scale) = Scale();
        driver.RecordLaunches = false;
        var grid = LaunchGrid.Blocks(10_000, 256);
        scale.Launch(grid, 0, KernelArg.Ptr(1), KernelArg.I64(2), KernelArg.I32(3), KernelArg.F32(4));

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            scale.Launch(grid, 0, KernelArg.Ptr(i), KernelArg.I64(i), KernelArg.I32(i), KernelArg.F32(i));
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(1001, driver.LaunchCount);
    }

    [Fact]
    public void Function_not_declared_by_the_source_is_an_error_listing_its_kernels()
    {
        var driver = CudaFakes.Driver();
        var module = CudaFakes.Runtime(driver, new FakeNvrtc()).TryLoad(CudaFakes.Sample, out _)!;

        var e = Assert.Throws<ArgumentException>(() => module.Function("scal"));
        Assert.Contains("sample.cu declares no kernel 'scal'", e.Message);
        Assert.Contains("fill, scale", e.Message);
    }

    [Fact]
    public void CudaException_names_the_call_and_the_result()
    {
        var e = new CudaException("cuModuleLoadData", CudaResult.ErrorNoBinaryForGpu, description: "no kernel image is available");

        Assert.Equal("cuModuleLoadData failed: CUDA_ERROR_NO_BINARY_FOR_GPU (no kernel image is available)", e.Message);
        Assert.Equal("CUDA_ERROR_NO_BINARY_FOR_GPU", e.ResultName);
    }
}
