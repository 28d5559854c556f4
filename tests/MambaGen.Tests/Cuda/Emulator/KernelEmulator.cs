using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using MambaGen.Cuda;

namespace MambaGen.Tests.Cuda.Emulator;

/// <summary>
/// The runtime's embedded kernel files built as host C++ for the CPU emulator (<c>emulator.cpp</c>) with clang++-14,
/// once per set of sources (cached under the temp folder by their hash), and loaded. Each entry gets a trampoline
/// <c>emu_&lt;name&gt;(void** args)</c> generated from its <see cref="KernelSpec"/>: the same array of pointers to
/// parameter values that <c>cuLaunchKernel</c> takes, so the runtime's own launch code drives it.
/// </summary>
internal static class KernelEmulator
{
    private const string Compiler = "clang++-14";

    private static readonly Lazy<IntPtr> Library = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The loaded emulator library; throws with the compiler's output when it cannot be built.</summary>
    public static IntPtr Handle => Library.Value;

    /// <summary>The trampoline of a kernel entry.</summary>
    public static IntPtr Entry(string kernel) =>
        NativeLibrary.TryGetExport(Handle, "emu_" + kernel, out var entry) ? entry
            : throw new CudaException("cuModuleGetFunction", CudaResult.ErrorNotFound, detail: $"the emulator has no entry '{kernel}'");

    /// <summary>Runs a kernel over a grid; a deadlock or bad block shape is an <see cref="InvalidOperationException"/>.</summary>
    public static void Launch(IntPtr entry, in LaunchGrid grid, IntPtr args)
    {
        // The emulator's threads, shuffle slots and shared memory are process-wide: one launch at a time.
        lock (Gate)
        {
            if (Run.Value(entry, args, (uint)grid.GridX, (uint)grid.GridY, (uint)grid.GridZ, (uint)grid.BlockX, (uint)grid.BlockY, (uint)grid.BlockZ) != 0)
            {
                throw new InvalidOperationException("kernel emulator: " + Marshal.PtrToStringUTF8(Error.Value()));
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="run"/> with every block's threads between barriers in reverse index order and its shared
    /// memory filled with NaNs before it starts. Race-free kernels give the same bits as in order; a thread reading what
    /// another writes without a barrier between does not, nor does a block reading shared memory it never wrote (which
    /// the emulator otherwise leaves as the last block left it).
    /// </summary>
    public static T InReverseOrder<T>(Func<T> run)
    {
        SetReverseOrder(true);
        try
        {
            return run();
        }
        finally
        {
            SetReverseOrder(false);
        }
    }

    private static void SetReverseOrder(bool on)
    {
        lock (Gate)
        {
            Reverse.Value(on ? 1 : 0);
            Poison.Value(on ? 1 : 0);
        }
    }

    private static readonly object Gate = new();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void OrderFunction(int on);

    private static readonly Lazy<OrderFunction> Reverse = new(() => Marshal.GetDelegateForFunctionPointer<OrderFunction>(NativeLibrary.GetExport(Handle, "mg_emu_set_reverse")));

    private static readonly Lazy<OrderFunction> Poison = new(() => Marshal.GetDelegateForFunctionPointer<OrderFunction>(NativeLibrary.GetExport(Handle, "mg_emu_set_poison")));

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int LaunchFunction(IntPtr entry, IntPtr args, uint gx, uint gy, uint gz, uint bx, uint by, uint bz);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr ErrorFunction();

    private static readonly Lazy<LaunchFunction> Run = new(() => Marshal.GetDelegateForFunctionPointer<LaunchFunction>(NativeLibrary.GetExport(Handle, "mg_emu_launch")));

    private static readonly Lazy<ErrorFunction> Error = new(() => Marshal.GetDelegateForFunctionPointer<ErrorFunction>(NativeLibrary.GetExport(Handle, "mg_emu_error")));

    private static IntPtr Build()
    {
        var files = new Dictionary<string, string>
        {
            [KernelResources.PreludeFileName] = KernelResources.Prelude ?? throw new InvalidOperationException("the runtime embeds no prelude.cuh"),
            ["emulator.cpp"] = ReadOwnResource("emulator.cpp"),
            ["trampolines.cpp"] = Trampolines(KernelSources.All),
        };
        foreach (var source in KernelSources.All)
        {
            files[source.FileName] = source.Code;
        }

        string hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\0", files.OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => f.Key + "\0" + f.Value)))))[..16];
        string folder = Path.Combine(Path.GetTempPath(), "mambagen-kernel-emulator", hash);
        string library = Path.Combine(folder, "libmgemu.so");
        if (!File.Exists(library))
        {
            string work = Path.Combine(folder + ".build-" + Environment.ProcessId);
            Directory.CreateDirectory(work);
            foreach (var (name, text) in files)
            {
                File.WriteAllText(Path.Combine(work, name), text);
            }

            var units = files.Keys.Where(n => n.EndsWith(".cu", StringComparison.Ordinal) || n.EndsWith(".cpp", StringComparison.Ordinal)).ToArray();
            // The fortify check would take a longjmp between the coroutines' stacks for stack smashing.
            var compiles = units.Select(unit => Start(work, "-x", "c++", "-std=c++17", "-O1", "-fPIC", "-U_FORTIFY_SOURCE", "-D__MAMBAGEN_EMU__",
                "-Wno-unused-command-line-argument", "-c", unit, "-o", unit + ".o")).ToArray();
            foreach (var compile in compiles)
            {
                Finish(compile);
            }

            Finish(Start(work, units.Select(u => u + ".o").Concat(new[] { "-shared", "-lm", "-o", "libmgemu.so" }).ToArray()));
            Directory.CreateDirectory(folder);
            // Another test process may have finished first: either copy is the same build.
            File.Move(Path.Combine(work, "libmgemu.so"), library, overwrite: true);
            Directory.Delete(work, recursive: true);
        }

        return NativeLibrary.Load(library);
    }

    /// <summary>One C++ trampoline per entry: the kernel declared with its parameter kinds, called with values read through the pointers.</summary>
    internal static string Trampolines(IEnumerable<KernelSource> sources)
    {
        var text = new StringBuilder("// Generated by KernelEmulator from the KernelSpecs: emu_<entry>(void** args) calls the entry as cuLaunchKernel would.\n");
        foreach (var spec in sources.SelectMany(s => s.Kernels))
        {
            var types = spec.Params.Select(p => p switch
            {
                KernelParam.Ptr => "void*",
                KernelParam.I64 => "long long",
                KernelParam.I32 => "int",
                KernelParam.F32 => "float",
                _ => throw new ArgumentOutOfRangeException(nameof(sources), p, spec.Name),
            }).ToArray();
            text.Append($"extern \"C\" void {spec.Name}({string.Join(", ", types)});\n");
            text.Append($"extern \"C\" void emu_{spec.Name}(void** a) {{ {spec.Name}({string.Join(", ", types.Select((t, i) => $"*({t}*)a[{i}]"))}); }}\n");
        }

        return text.ToString();
    }

    private static Process Start(string folder, params string[] arguments)
    {
        var info = new ProcessStartInfo(Compiler) { WorkingDirectory = folder, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        try
        {
            return Process.Start(info) ?? throw new InvalidOperationException($"{Compiler} did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"The kernel emulator needs {Compiler} on PATH (Debian: apt-get install clang-14; {EmulatorTests.OptOutVariable}=1 skips these tests): {e.Message}", e);
        }
    }

    private static void Finish(Process process)
    {
        string output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Compiler} {string.Join(' ', process.StartInfo.ArgumentList)} failed ({process.ExitCode}):\n{output}");
        }
    }

    private static string ReadOwnResource(string name)
    {
        var assembly = Assembly.GetExecutingAssembly();
        string resource = assembly.GetManifestResourceNames().Single(n => n.EndsWith("Emulator." + name, StringComparison.Ordinal));
        using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
        return reader.ReadToEnd();
    }
}
