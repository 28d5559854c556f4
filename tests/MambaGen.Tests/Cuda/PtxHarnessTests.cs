using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Xml.Linq;
using MambaGen.Cuda;
using MambaGen.Testing;
using static MambaGen.Cuda.KernelParam;

namespace MambaGen.Tests.Cuda;

public class PtxHarnessTests
{
    private const string NoClangHint = "the runtime was built without clang-14 (CudaKernels.targets embeds PTX only when clang-14 or $(MambaGenClang) runs)";

    [Fact]
    public void Parse_reads_each_entrys_parameter_types_including_none_and_by_value_structs()
    {
        const string ptx = """
            .visible .entry a(
                .param .u64 a_param_0,
                .param .s64 a_param_1,
                .param .u32 a_param_2,
                .param .s32 a_param_3,
                .param .b32 a_param_4,
                .param .f32 a_param_5,
                .param .align 8 .b8 a_param_6[16]
            )
            {
            }
            .visible .entry b()
            {
            }
            """;

        var entries = PtxEntries.Parse(ptx);

        Assert.Equal(new[] { "a", "b" }, entries.Select(e => e.Name));
        Assert.Equal(new[] { "u64", "s64", "u32", "s32", "b32", "f32", "b8" }, entries[0].Params.Select(p => p.Type));
        Assert.Equal(new[] { Ptr, I64 }, entries[0].Params[0].Kinds);
        Assert.Equal(new[] { I32 }, entries[0].Params[4].Kinds);
        Assert.Equal(new[] { F32 }, entries[0].Params[5].Kinds);
        Assert.Empty(entries[0].Params[6].Kinds);
        Assert.Empty(entries[1].Params);
    }

    [Fact]
    public void Mismatch_names_the_kernel_and_the_parameter_that_differs()
    {
        var entry = new PtxEntry("k", new[] { new PtxParam("u64", false), new PtxParam("u32", false) });

        Assert.Null(PtxEntries.Mismatch(new KernelSpec("k", Ptr, I32), entry));
        Assert.Null(PtxEntries.Mismatch(new KernelSpec("k", I64, I32), entry));
        Assert.Equal("k parameter 1: the KernelSpec says F32, the PTX entry has .u32", PtxEntries.Mismatch(new KernelSpec("k", Ptr, F32), entry));
        Assert.Contains("the KernelSpec has 1 parameters (Ptr), the PTX entry 2", PtxEntries.Mismatch(new KernelSpec("k", Ptr), entry));
    }

    [Fact]
    public void Sample_kernel_compiled_by_clang14_with_the_builds_flags_has_entries_matching_its_specs()
    {
        var output = Path.Combine(Path.GetTempPath(), $"mambagen-sample-{Guid.NewGuid():N}.ptx");
        try
        {
            var ptx = CompileWithBuildFlags(RepoPaths.Combine("tests", "MambaGen.Tests", "Cuda", "Sample", "sample.cu"), output);
            var entries = PtxEntries.Parse(ptx).ToDictionary(e => e.Name);

            Assert.Null(PtxEntries.Mismatch(new KernelSpec("sample_scale", Ptr, Ptr, I64, I32, F32), entries["sample_scale"]));
            Assert.Null(PtxEntries.Mismatch(new KernelSpec("sample_empty"), entries["sample_empty"]));
            Assert.NotNull(PtxEntries.Mismatch(new KernelSpec("sample_scale", Ptr, Ptr, I32, I32, F32), entries["sample_scale"]));
        }
        finally
        {
            File.Delete(output);
        }
    }

    [Fact]
    public void Every_embedded_kernel_file_has_its_PTX_embedded_and_a_registered_source()
    {
        Assert.NotEmpty(KernelResources.SourceFileNames);
        Assert.NotNull(KernelResources.Prelude);
        foreach (var file in KernelResources.SourceFileNames)
        {
            Assert.True(KernelResources.TryReadPtx(file) is not null, $"{file} has no embedded PTX: {NoClangHint}.");
            Assert.True(KernelSources.All.Any(s => s.FileName == file), $"{file} is embedded but no KernelSource in KernelSources.All uses it.");
        }
    }

    [Fact]
    public void Every_KernelSpec_in_the_registry_matches_its_entry_in_the_embedded_PTX()
    {
        Assert.NotEmpty(KernelSources.All);
        var problems = new System.Collections.Generic.List<string>();
        foreach (var source in KernelSources.All)
        {
            Assert.Equal(KernelResources.ReadSource(source.FileName), source.Code);
            var ptx = KernelResources.TryReadPtx(source.FileName);
            Assert.True(ptx is not null, $"{source.FileName} has no embedded PTX: {NoClangHint}.");
            var entries = PtxEntries.Parse(ptx!).ToDictionary(e => e.Name);
            foreach (var spec in source.Kernels)
            {
                if (!entries.TryGetValue(spec.Name, out var entry))
                {
                    problems.Add($"{source.FileName}: no PTX entry '{spec.Name}' (extern \"C\" __global__ missing or misspelt)");
                }
                else if (PtxEntries.Mismatch(spec, entry) is { } mismatch)
                {
                    problems.Add($"{source.FileName}: {mismatch}");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void Static_shared_memory_is_counted_per_entry_from_the_variables_its_body_names()
    {
        const string ptx = """
            .weak .shared .align 4 .b8 _ZZ1fE5stage[40000];
            .weak .shared .align 4 .f32 _ZZ1fE4step;
            .shared .align 16 .b8 other[16];
            .visible .entry a(
            .param .u64 a_param_0
            )
            {
            mov.u64 %rd1, _ZZ1fE5stage;
            ld.shared.f32 %f1, [_ZZ1fE4step];
            }
            .visible .entry b()
            {
            mov.u64 %rd1, _ZZ1fE5stage;
            mov.u64 %rd2, _ZZ1fE5stage_2;
            }
            """;

        var bytes = PtxEntries.StaticSharedBytes(ptx);

        Assert.Equal(40004, bytes["a"]);
        Assert.Equal(40000, bytes["b"]);
    }

    [Fact]
    public void Every_embedded_kernel_declares_at_most_48_KiB_of_static_shared_memory()
    {
        var problems = new System.Collections.Generic.List<string>();
        foreach (var file in KernelResources.SourceFileNames)
        {
            var ptx = KernelResources.TryReadPtx(file);
            Assert.True(ptx is not null, $"{file} has no embedded PTX: {NoClangHint}.");
            foreach (var (entry, bytes) in PtxEntries.StaticSharedBytes(ptx!))
            {
                if (bytes > 48 * 1024)
                {
                    problems.Add($"{file}: {entry} declares {bytes} bytes of static shared memory; a block may declare 49152, and the driver refuses the module past that");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>Runs clang-14 with the flags CudaKernels.targets uses, read from that file so the two cannot drift apart.</summary>
    private static string CompileWithBuildFlags(string source, string output)
    {
        var targets = XDocument.Load(RepoPaths.Combine("src", "Runtime", "build", "CudaKernels.targets"));
        var flags = targets.Descendants().Single(e => e.Name.LocalName == "_MambaGenClangArgs").Value;
        var clang = Environment.GetEnvironmentVariable("MambaGenClang") is { Length: > 0 } configured ? configured : "clang-14";
        var start = new ProcessStartInfo(clang) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var flag in flags.Split(' ', StringSplitOptions.RemoveEmptyEntries).Concat(new[] { "-o", output, source }))
        {
            start.ArgumentList.Add(flag);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{clang} is needed to check kernels against their launch specs, and could not be started: {e.Message}", e);
        }

        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"{clang} failed on {source}:\n{errors.Result}");
        }

        return File.ReadAllText(output);
    }
}
