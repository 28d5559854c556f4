using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using MambaGen.Cuda;

namespace MambaGen.Tests.Cuda;

public class CudaRuntimeLoadTests
{
    [Fact]
    public void NVRTC_compiles_a_CUBIN_for_the_devices_exact_arch_with_the_prelude_as_a_header_and_no_fast_math()
    {
        var driver = CudaFakes.Driver();
        driver.Capability = (8, 6);
        var nvrtc = new FakeNvrtc();
        var module = CudaFakes.Runtime(driver, nvrtc).TryLoad(CudaFakes.Sample, out var reason);

        Assert.NotNull(module);
        Assert.Equal("", reason);
        Assert.Equal(ModuleOrigin.Nvrtc, module.Origin);
        Assert.Equal("sm_86 CUBIN from NVRTC 13.0", module.Description);
        var call = Assert.Single(nvrtc.Calls);
        Assert.Equal(NvrtcOutput.Cubin, call.Output);
        Assert.Equal(new[] { "--gpu-architecture=sm_86", "-default-device", "--std=c++17", "-D__MAMBAGEN_NVRTC__" }, call.Options);
        Assert.DoesNotContain(call.Options, o => o.Contains("fast_math", StringComparison.Ordinal));
        Assert.Equal(new[] { KeyValuePair.Create("prelude.cuh", CudaFakes.Prelude) }, call.Headers);
        Assert.Equal(CudaFakes.Sample.Code, call.Source);
    }

    [Fact]
    public void Missing_NVRTC_falls_back_to_the_builds_PTX_and_says_why()
    {
        var driver = CudaFakes.Driver();
        var module = CudaFakes.Runtime(driver, nvrtc: null).TryLoad(CudaFakes.Sample, out _);

        Assert.NotNull(module);
        Assert.Equal(ModuleOrigin.BuildPtx, module.Origin);
        Assert.Equal("PTX from the build (NVRTC missing: libnvrtc.so.13 not found (fake))", module.Description);
        var image = Assert.Single(driver.LoadedImages);
        Assert.Equal(CudaFakes.Ptx + "\0", Encoding.UTF8.GetString(image));
    }

    [Fact]
    public void NVRTC_compile_error_falls_back_to_PTX_with_the_compilers_log()
    {
        var driver = CudaFakes.Driver();
        var module = CudaFakes.Runtime(driver, new FakeNvrtc { FailWithLog = "sample.cu(2): error: identifier \"x\" is undefined" }).TryLoad(CudaFakes.Sample, out _);

        Assert.NotNull(module);
        Assert.Equal(ModuleOrigin.BuildPtx, module.Origin);
        Assert.Contains("NVRTC 13.0 failed on sample.cu: nvrtcCompileProgram failed: NVRTC_ERROR_COMPILATION", module.Description);
        Assert.Contains("identifier \"x\" is undefined", module.Description);
    }

    [Fact]
    public void CUBIN_the_driver_refuses_falls_back_to_PTX_naming_the_drivers_error()
    {
        var driver = CudaFakes.Driver();
        driver.DriverVersion = 12040;
        driver.Refuse = image => FakeCudaDriver.IsPtx(image) ? null : CudaResult.ErrorUnsupportedPtxVersion;
        var module = CudaFakes.Runtime(driver, new FakeNvrtc { Version = (13, 1) }).TryLoad(CudaFakes.Sample, out _);

        Assert.NotNull(module);
        Assert.Equal(ModuleOrigin.BuildPtx, module.Origin);
        Assert.Contains("the driver (CUDA 12.4) refused NVRTC 13.1's sm_90 CUBIN: cuModuleLoadDataEx failed: CUDA_ERROR_UNSUPPORTED_PTX_VERSION", module.Description);
        Assert.Equal(2, driver.LoadedImages.Count);
    }

    [Fact]
    public void No_NVRTC_and_no_PTX_gives_null_with_a_reason_naming_both()
    {
        var log = new List<string>();
        var module = CudaFakes.Runtime(CudaFakes.Driver(), nvrtc: null, ptx: null, log: log).TryLoad(CudaFakes.Sample, out var reason);

        Assert.Null(module);
        Assert.Equal("NVRTC missing: libnvrtc.so.13 not found (fake); no PTX fallback in this build (fake)", reason);
        Assert.Contains(log, line => line.Contains("sample.cu: not loaded", StringComparison.Ordinal));
    }

    [Fact]
    public void PTX_the_driver_refuses_too_gives_null_with_every_failure_in_order()
    {
        var driver = CudaFakes.Driver();
        driver.Refuse = _ => CudaResult.ErrorInvalidImage;
        var module = CudaFakes.Runtime(driver, new FakeNvrtc()).TryLoad(CudaFakes.Sample, out var reason);

        Assert.Null(module);
        int cubin = reason.IndexOf("refused NVRTC 13.0's sm_90 CUBIN", StringComparison.Ordinal);
        int ptx = reason.IndexOf("the driver could not load the build's PTX: cuModuleLoadDataEx failed: CUDA_ERROR_INVALID_IMAGE", StringComparison.Ordinal);
        Assert.True(cubin >= 0 && ptx > cubin, reason);
    }

    [Fact]
    public void Module_without_a_declared_entry_is_refused_naming_the_entry_and_unloaded()
    {
        var driver = CudaFakes.Driver();
        driver.Entries = new HashSet<string> { "scale" };
        var module = CudaFakes.Runtime(driver, new FakeNvrtc(), ptx: null).TryLoad(CudaFakes.Sample, out var reason);

        Assert.Null(module);
        Assert.Contains("sample.cu has no entry 'fill'", reason);
        Assert.Single(driver.UnloadedModules);
    }

    [Fact]
    public void Each_source_is_compiled_and_loaded_once_even_when_many_threads_ask_at_once()
    {
        var driver = CudaFakes.Driver();
        var nvrtc = new FakeNvrtc();
        var runtime = CudaFakes.Runtime(driver, nvrtc);
        var modules = new CudaModule?[16];
        Parallel.For(0, modules.Length, i => modules[i] = runtime.TryLoad(CudaFakes.Sample, out _));

        Assert.Equal(1, nvrtc.Compiles);
        Assert.Single(driver.LoadedImages);
        Assert.All(modules, m => Assert.Same(modules[0], m));
    }

    [Fact]
    public void Failed_load_is_remembered_and_reported_again_without_retrying()
    {
        var nvrtc = new FakeNvrtc { FailWithLog = "error" };
        var runtime = CudaFakes.Runtime(CudaFakes.Driver(), nvrtc, ptx: null);

        Assert.Null(runtime.TryLoad(CudaFakes.Sample, out var first));
        Assert.Null(runtime.TryLoad(CudaFakes.Sample, out var second));
        Assert.Equal(first, second);
        Assert.Equal(1, nvrtc.Compiles);
        Assert.Contains("could not be loaded", Assert.Throws<InvalidOperationException>(() => runtime.Load(CudaFakes.Sample)).Message);
    }

    [Fact]
    public void Describe_names_the_device_and_the_path_each_module_took()
    {
        var other = CudaFakes.Sample with { FileName = "other.cu", Code = CudaFakes.Sample.Code + "// other\n" };
        var runtime = CudaFakes.Runtime(CudaFakes.Driver(), new FakeNvrtc());
        runtime.TryLoad(CudaFakes.Sample, out _);
        var failing = CudaFakes.Runtime(CudaFakes.Driver(), nvrtc: null, ptx: null);
        failing.TryLoad(other, out _);

        var text = runtime.Describe();
        Assert.StartsWith("CUDA device 0 (sm_90), driver CUDA 13.0 (fake libcuda.so.1); NVRTC 13.0 (fake libnvrtc.so.13); kernel cache off", text);
        Assert.Contains("\n  sample.cu: sm_90 CUBIN from NVRTC 13.0", text);
        Assert.Contains("NVRTC missing: libnvrtc.so.13 not found (fake)", failing.Describe());
        Assert.Contains("\n  other.cu: not loaded: NVRTC missing", failing.Describe());
    }

    [Fact]
    public void Creating_the_runtime_makes_the_primary_context_current_when_the_thread_has_none()
    {
        var driver = CudaFakes.Driver();
        var runtime = CudaFakes.Runtime(driver, new FakeNvrtc());

        Assert.Equal(driver.PrimaryContext, runtime.Context);
        Assert.Equal(driver.PrimaryContext, driver.Current.Value);
    }

    [Fact]
    public void Loading_under_another_current_context_loads_in_the_primary_one_and_restores_the_other()
    {
        var driver = CudaFakes.Driver();
        driver.Current.Value = 0x99;
        var runtime = CudaFakes.Runtime(driver, new FakeNvrtc());
        runtime.TryLoad(CudaFakes.Sample, out _);

        Assert.Equal(driver.PrimaryContext, Assert.Single(driver.ContextsAtLoad));
        Assert.Equal((IntPtr)0x99, driver.Current.Value);
    }

    [Fact]
    public void Device_the_driver_rejects_gives_null_naming_the_device_and_the_error()
    {
        var driver = CudaFakes.Driver();
        driver.DeviceOf = ordinal => throw new CudaException("cuDeviceGet", CudaResult.ErrorInvalidDevice, detail: $"device {ordinal}");
        var runtime = CudaRuntime.TryCreate(3, driver, new FakeNvrtc(), "", KernelCache.Disabled, new KernelAssets(null, _ => null, _ => ""), null, out var reason);

        Assert.Null(runtime);
        Assert.Equal("CUDA device 3: cuDeviceGet failed: CUDA_ERROR_INVALID_DEVICE: device 3", reason);
    }

    [Fact]
    public void Sources_with_the_same_name_but_different_code_are_separate_modules()
    {
        var nvrtc = new FakeNvrtc();
        var runtime = CudaFakes.Runtime(CudaFakes.Driver(), nvrtc);
        var a = runtime.TryLoad(CudaFakes.Sample, out _);
        var b = runtime.TryLoad(CudaFakes.Sample with { Code = CudaFakes.Sample.Code + " " }, out _);

        Assert.NotSame(a, b);
        Assert.Equal(2, nvrtc.Compiles);
        Assert.Equal(2, nvrtc.Calls.Select(c => c.Source).Distinct().Count());
    }
}
