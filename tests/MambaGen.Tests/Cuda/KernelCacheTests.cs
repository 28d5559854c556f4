using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MambaGen.Cuda;

namespace MambaGen.Tests.Cuda;

public sealed class KernelCacheTests : IDisposable
{
    private static readonly string[] Options = { "--gpu-architecture=sm_90", "-default-device" };
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "mambagen-kernel-cache-test-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private static string Key(int change = -1) => KernelCache.Key(
        change == 0 ? "source'" : "source",
        change == 1 ? "prelude'" : "prelude",
        change == 2 ? Options.Append("-DX").ToArray() : Options,
        change == 3 ? "13.1" : "13.0",
        change == 4 ? "sm_89" : "sm_90",
        change == 5 ? 12080 : 13000);

    [Fact]
    public void Same_inputs_give_the_same_key()
    {
        Assert.Equal(Key(), Key());
        Assert.Matches("^[0-9a-f]{64}$", Key());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Each_input_source_prelude_options_NVRTC_arch_driver_changes_the_key(int component)
    {
        Assert.NotEqual(Key(), Key(component));
    }

    [Fact]
    public void Moving_text_from_one_key_part_to_the_next_changes_the_key()
    {
        Assert.NotEqual(KernelCache.Key("ab", "c", Options, "13.0", "sm_90", 13000), KernelCache.Key("a", "bc", Options, "13.0", "sm_90", 13000));
        Assert.NotEqual(KernelCache.Key("s", "p", new[] { "-a", "-b" }, "13.0", "sm_90", 13000), KernelCache.Key("s", "p", new[] { "-a-b" }, "13.0", "sm_90", 13000));
    }

    [Fact]
    public void Written_entry_is_read_back_and_no_temporary_file_is_left()
    {
        var cache = new KernelCache(_folder);
        Assert.True(cache.Write(Key(), new byte[] { 1, 2, 3 }));

        Assert.Equal(new byte[] { 1, 2, 3 }, cache.TryRead(Key()));
        Assert.Equal(new[] { Key() + ".cubin" }, Directory.GetFiles(_folder).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("corrupt")]
    [InlineData("foreign")]
    public void Damaged_entry_is_ignored_with_the_reason_logged(string damage)
    {
        var log = new List<string>();
        var cache = new KernelCache(_folder, log.Add);
        cache.Write(Key(), Enumerable.Range(0, 100).Select(i => (byte)i).ToArray());
        var path = cache.EntryPath(Key())!;
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, damage switch
        {
            "truncated" => bytes[..^10],
            "corrupt" => bytes.Select((b, i) => i == bytes.Length - 1 ? (byte)(b ^ 0xff) : b).ToArray(),
            _ => new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' },
        });

        Assert.Null(cache.TryRead(Key()));
        Assert.Contains(damage switch { "truncated" => "truncated", "corrupt" => "corrupt", _ => "bad header" }, Assert.Single(log));
    }

    [Fact]
    public void Corrupt_entry_is_recompiled_by_NVRTC_and_replaced()
    {
        var log = new List<string>();
        var cache = new KernelCache(_folder, log.Add);
        var first = CudaFakes.Runtime(CudaFakes.Driver(), new FakeNvrtc(), cache);
        first.TryLoad(CudaFakes.Sample, out _);
        var entry = Directory.GetFiles(_folder).Single();
        File.WriteAllBytes(entry, new byte[] { 1, 2, 3 });

        var nvrtc = new FakeNvrtc();
        var module = CudaFakes.Runtime(CudaFakes.Driver(), nvrtc, cache, log: log).TryLoad(CudaFakes.Sample, out _);

        Assert.Equal(ModuleOrigin.Nvrtc, module!.Origin);
        Assert.Equal(1, nvrtc.Compiles);
        Assert.Contains(log, line => line.Contains("kernel cache: ignored", StringComparison.Ordinal));
        Assert.NotNull(cache.TryRead(Path.GetFileNameWithoutExtension(entry)));
    }

    [Fact]
    public void Second_process_loads_the_module_from_the_cache_without_compiling()
    {
        var cache = new KernelCache(_folder);
        CudaFakes.Runtime(CudaFakes.Driver(), new FakeNvrtc(), cache).TryLoad(CudaFakes.Sample, out _);

        var nvrtc = new FakeNvrtc();
        var module = CudaFakes.Runtime(CudaFakes.Driver(), nvrtc, new KernelCache(_folder)).TryLoad(CudaFakes.Sample, out _);

        Assert.Equal(ModuleOrigin.KernelCache, module!.Origin);
        Assert.Equal("from the kernel cache (sm_90 CUBIN of NVRTC 13.0)", module.Description);
        Assert.Equal(0, nvrtc.Compiles);
    }

    [Fact]
    public void New_driver_version_misses_the_cache_and_recompiles()
    {
        CudaFakes.Runtime(CudaFakes.Driver(), new FakeNvrtc(), new KernelCache(_folder)).TryLoad(CudaFakes.Sample, out _);

        var driver = CudaFakes.Driver();
        driver.DriverVersion = 13010;
        var nvrtc = new FakeNvrtc();
        CudaFakes.Runtime(driver, nvrtc, new KernelCache(_folder)).TryLoad(CudaFakes.Sample, out _);

        Assert.Equal(1, nvrtc.Compiles);
        Assert.Equal(2, Directory.GetFiles(_folder).Length);
    }

    [Fact]
    public void Folder_that_cannot_be_created_turns_caching_off_and_the_load_still_succeeds()
    {
        // /proc is read-only even for root, so this holds wherever the tests run as root or not.
        var log = new List<string>();
        var cache = new KernelCache("/proc/mambagen-kernel-cache-test", log.Add);
        var module = CudaFakes.Runtime(CudaFakes.Driver(), new FakeNvrtc(), cache).TryLoad(CudaFakes.Sample, out _);

        Assert.Equal(ModuleOrigin.Nvrtc, module!.Origin);
        Assert.Null(cache.Directory);
        Assert.Contains(log, line => line.Contains("kernel cache: off", StringComparison.Ordinal) && line.Contains("/proc/mambagen-kernel-cache-test", StringComparison.Ordinal));
    }

    [Fact]
    public void Entry_that_cannot_be_written_turns_caching_off_and_the_load_still_succeeds()
    {
        var log = new List<string>();
        var cache = new KernelCache(_folder, log.Add);
        var nvrtc = new FakeNvrtc();
        var runtime = CudaFakes.Runtime(CudaFakes.Driver(), nvrtc, cache);
        var key = KernelCache.Key(CudaFakes.Sample.Code, CudaFakes.Prelude, runtime.CompileOptions(), "13.0", "sm_90", 13000);
        // A folder where the entry's file would go: the rename over it fails, as on a read-only or full disk.
        Directory.CreateDirectory(Path.Combine(_folder, key + ".cubin"));

        var module = runtime.TryLoad(CudaFakes.Sample, out _);

        Assert.Equal(ModuleOrigin.Nvrtc, module!.Origin);
        Assert.Null(cache.Directory);
        Assert.Contains(log, line => line.Contains("kernel cache: off for this process, could not write", StringComparison.Ordinal));
        Assert.DoesNotContain(Directory.GetFiles(_folder), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void Default_folder_is_MAMBAGEN_KERNEL_CACHE_then_XDG_CACHE_HOME_then_the_home_cache_and_off_turns_it_off()
    {
        string? Env(Dictionary<string, string> values, string name) => values.GetValueOrDefault(name);

        Assert.Equal("/x/cache", KernelCache.DefaultDirectory(n => Env(new() { ["MAMBAGEN_KERNEL_CACHE"] = "/x/cache", ["XDG_CACHE_HOME"] = "/xdg", ["HOME"] = "/home/u" }, n)));
        Assert.Equal("/xdg/mambagen/kernels", KernelCache.DefaultDirectory(n => Env(new() { ["XDG_CACHE_HOME"] = "/xdg", ["HOME"] = "/home/u" }, n)));
        Assert.Equal("/home/u/.cache/mambagen/kernels", KernelCache.DefaultDirectory(n => Env(new() { ["HOME"] = "/home/u" }, n)));
        Assert.Null(KernelCache.DefaultDirectory(n => Env(new() { ["MAMBAGEN_KERNEL_CACHE"] = "off", ["HOME"] = "/home/u" }, n)));
    }
}
