using System;
using System.IO;
using System.Linq;
using MambaGen.Cuda;

namespace MambaGen.Tests.Cuda;

public sealed class NativeDiscoveryTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mambagen-discovery-test-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private string Touch(params string[] parts)
    {
        var path = Path.Combine(new[] { _root }.Concat(parts).ToArray());
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "");
        return path;
    }

    [Fact]
    public void Loading_the_real_driver_never_throws_and_a_failure_says_why()
    {
        bool loaded = CudaDriver.TryLoad(out var driver, out var reason);

        Assert.Equal(loaded, driver is not null);
        if (!loaded)
        {
            Assert.False(string.IsNullOrWhiteSpace(reason));
        }
    }

    [Fact]
    public void Missing_driver_library_is_false_with_a_reason_naming_it()
    {
        Assert.False(CudaDriver.TryLoad(new[] { "libcuda-mambagen-missing.so.1" }, out var driver, out var reason));

        Assert.Null(driver);
        Assert.Contains("no CUDA driver: libcuda-mambagen-missing.so.1 could not be loaded", reason);
    }

    [Fact]
    public void Library_without_the_driver_exports_is_false_naming_the_missing_functions()
    {
        Assert.False(CudaDriver.TryLoad(new[] { "libc.so.6" }, out _, out var reason));

        Assert.Contains("the CUDA driver libc.so.6 lacks cuInit", reason);
        Assert.Contains("cuStreamDestroy_v2", reason);
    }

    [Fact]
    public void Runtime_on_a_machine_without_a_usable_driver_is_null_with_the_drivers_reason()
    {
        if (CudaDriver.TryGetShared(out _, out var driverReason))
        {
            // A GPU machine: the fake-driver tests cover creation; here it must at least not throw.
            CudaRuntime.TryCreate(0, null, out _);
            return;
        }

        Assert.Null(CudaRuntime.TryCreate(0, null, out var reason));
        Assert.Equal(driverReason, reason);
    }

    [Fact]
    public void NVRTC_that_is_nowhere_is_false_with_the_places_tried()
    {
        Assert.False(Nvrtc.TryLoad(new[] { "/nonexistent/libnvrtc.so.13", "libnvrtc-mambagen-missing.so" }, out var nvrtc, out var reason));

        Assert.Null(nvrtc);
        Assert.StartsWith("NVRTC not found", reason);
    }

    [Fact]
    public void Library_without_NVRTCs_exports_is_passed_over_with_the_missing_functions_named()
    {
        Assert.False(Nvrtc.TryLoad(new[] { "libc.so.6" }, out _, out var reason));

        Assert.Contains("libc.so.6 lacks nvrtcVersion", reason);
    }

    [Fact]
    public void NVRTC_is_looked_for_in_a_pip_torchs_nvidia_folders_newest_first_without_the_builtins()
    {
        var torchCuda = Touch("site-packages", "torch", "lib", "libtorch_cuda.so");
        var cu13 = Touch("site-packages", "nvidia", "cu13", "lib", "libnvrtc.so.13");
        Touch("site-packages", "nvidia", "cu13", "lib", "libnvrtc-builtins.so.13.0");
        var cu12 = Touch("site-packages", "nvidia", "cuda_nvrtc", "lib", "libnvrtc.so.12");
        Touch("site-packages", "nvidia", "cuda_nvrtc", "lib", "libnvrtc.so.11.2");

        var candidates = NativeLibraryLocator.NvrtcCandidates(new[] { "/usr/lib/libc.so.6", torchCuda });

        Assert.Equal(cu13, candidates[0]);
        Assert.Contains(cu12, candidates);
        Assert.True(candidates.ToList().IndexOf(cu12) < candidates.ToList().FindIndex(c => c.EndsWith(".so.11.2", StringComparison.Ordinal)));
        Assert.DoesNotContain(candidates, c => c.Contains("builtins", StringComparison.Ordinal));
    }

    [Fact]
    public void NVRTC_already_mapped_in_the_process_comes_first_then_its_folder()
    {
        var mapped = Touch("lib", "libnvrtc-672ee683.so.12");
        var beside = Touch("torch", "lib", "libnvrtc.so.13");
        var torchCuda = Touch("torch", "lib", "libtorch_cuda.so");

        var candidates = NativeLibraryLocator.NvrtcCandidates(new[] { torchCuda, mapped });

        Assert.Equal(new[] { mapped, beside }, candidates.Take(2));
    }

    [Fact]
    public void Proc_maps_give_each_mapped_file_once_without_anonymous_or_deleted_mappings()
    {
        const string maps = """
            7f0000000000-7f0000001000 r--p 00000000 08:01 123 /usr/lib/libtorch_cuda.so
            7f0000001000-7f0000002000 r-xp 00001000 08:01 123 /usr/lib/libtorch_cuda.so
            7f0000002000-7f0000003000 rw-p 00000000 00:00 0 
            7f0000003000-7f0000004000 rw-p 00000000 00:00 0 [heap]
            7f0000004000-7f0000005000 r--p 00000000 08:01 9 /tmp/gone.so (deleted)
            7f0000005000-7f0000006000 r--p 00000000 08:01 7 /opt/my libs/libnvrtc.so.13
            """;

        Assert.Equal(new[] { "/usr/lib/libtorch_cuda.so", "/opt/my libs/libnvrtc.so.13" }, NativeLibraryLocator.ParseMaps(maps));
    }

    [Fact]
    public void Driver_versions_format_as_CUDA_writes_them()
    {
        Assert.Equal("13.0", CudaDriver.FormatVersion(13000));
        Assert.Equal("12.4", CudaDriver.FormatVersion(12040));
    }
}
