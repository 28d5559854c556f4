using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;

namespace MambaGen.Cuda;

/// <summary>What an NVRTC compile produces.</summary>
public enum NvrtcOutput
{
    /// <summary>Machine code for the exact architecture named in the options (<c>--gpu-architecture=sm_XY</c>).</summary>
    Cubin,

    /// <summary>PTX text, NUL-terminated, for the driver to compile.</summary>
    Ptx,
}

/// <summary>The NVRTC runtime compiler, behind an interface so tests can fake it.</summary>
public interface INvrtc
{
    /// <summary>Where NVRTC was loaded from, for messages.</summary>
    string Location { get; }

    /// <summary><c>nvrtcVersion</c>.</summary>
    (int Major, int Minor) Version { get; }

    /// <summary>
    /// Compiles one program; <paramref name="headers"/> are the files it may <c>#include</c> by name. Throws
    /// <see cref="NvrtcException"/> with NVRTC's log when the compile fails.
    /// </summary>
    byte[] Compile(string source, string programName, IReadOnlyList<KeyValuePair<string, string>> headers, IReadOnlyList<string> options, NvrtcOutput output);
}

/// <summary>
/// NVRTC found at run time: first beside the CUDA libraries libtorch loaded (an NVRTC already mapped, the same folders,
/// a pip torch's <c>nvidia/cu*/lib</c>), then through the system loader (<c>libnvrtc.so.13</c>, .12, .11, <c>libnvrtc.so</c>).
/// </summary>
public sealed unsafe class Nvrtc : INvrtc
{
    private readonly delegate* unmanaged<int, sbyte*> _getErrorString;
    private readonly delegate* unmanaged<IntPtr*, byte*, byte*, int, byte**, byte**, int> _createProgram;
    private readonly delegate* unmanaged<IntPtr, int, byte**, int> _compileProgram;
    private readonly delegate* unmanaged<IntPtr, nuint*, int> _getProgramLogSize;
    private readonly delegate* unmanaged<IntPtr, byte*, int> _getProgramLog;
    private readonly delegate* unmanaged<IntPtr, nuint*, int> _getCubinSize;
    private readonly delegate* unmanaged<IntPtr, byte*, int> _getCubin;
    private readonly delegate* unmanaged<IntPtr, nuint*, int> _getPtxSize;
    private readonly delegate* unmanaged<IntPtr, byte*, int> _getPtx;
    private readonly delegate* unmanaged<IntPtr*, int> _destroyProgram;

    /// <summary>Every export this class calls; an NVRTC older than 11.1 has no CUBIN output and is passed over.</summary>
    internal static readonly string[] RequiredSymbols =
    {
        "nvrtcVersion", "nvrtcGetErrorString", "nvrtcCreateProgram", "nvrtcCompileProgram", "nvrtcGetProgramLogSize",
        "nvrtcGetProgramLog", "nvrtcGetCUBINSize", "nvrtcGetCUBIN", "nvrtcGetPTXSize", "nvrtcGetPTX", "nvrtcDestroyProgram",
    };

    private Nvrtc(string location, Dictionary<string, IntPtr> symbols, (int, int) version)
    {
        Location = location;
        Version = version;
        _getErrorString = (delegate* unmanaged<int, sbyte*>)symbols["nvrtcGetErrorString"];
        _createProgram = (delegate* unmanaged<IntPtr*, byte*, byte*, int, byte**, byte**, int>)symbols["nvrtcCreateProgram"];
        _compileProgram = (delegate* unmanaged<IntPtr, int, byte**, int>)symbols["nvrtcCompileProgram"];
        _getProgramLogSize = (delegate* unmanaged<IntPtr, nuint*, int>)symbols["nvrtcGetProgramLogSize"];
        _getProgramLog = (delegate* unmanaged<IntPtr, byte*, int>)symbols["nvrtcGetProgramLog"];
        _getCubinSize = (delegate* unmanaged<IntPtr, nuint*, int>)symbols["nvrtcGetCUBINSize"];
        _getCubin = (delegate* unmanaged<IntPtr, byte*, int>)symbols["nvrtcGetCUBIN"];
        _getPtxSize = (delegate* unmanaged<IntPtr, nuint*, int>)symbols["nvrtcGetPTXSize"];
        _getPtx = (delegate* unmanaged<IntPtr, byte*, int>)symbols["nvrtcGetPTX"];
        _destroyProgram = (delegate* unmanaged<IntPtr*, int>)symbols["nvrtcDestroyProgram"];
    }

    public string Location { get; }

    public (int Major, int Minor) Version { get; }

    /// <summary>Finds and loads NVRTC (see the class summary); false with the places tried when there is none.</summary>
    public static bool TryLoad([NotNullWhen(true)] out Nvrtc? nvrtc, out string reason)
    {
        var candidates = NativeLibraryLocator.NvrtcCandidates(NativeLibraryLocator.MappedFiles()).Concat(NativeLibraryLocator.DefaultNvrtcNames()).ToList();
        return TryLoad(candidates, out nvrtc, out reason);
    }

    /// <summary>The same over given names or paths, tried in order.</summary>
    internal static bool TryLoad(IReadOnlyList<string> candidates, [NotNullWhen(true)] out Nvrtc? nvrtc, out string reason)
    {
        var problems = new List<string>();
        foreach (var candidate in candidates)
        {
            try
            {
                if (!NativeLibrary.TryLoad(candidate, out var library))
                {
                    continue;
                }

                var symbols = new Dictionary<string, IntPtr>();
                var missing = RequiredSymbols.Where(name =>
                {
                    bool found = NativeLibrary.TryGetExport(library, name, out var address);
                    symbols[name] = address;
                    return !found;
                }).ToList();
                if (missing.Count > 0)
                {
                    problems.Add($"{candidate} lacks {string.Join(", ", missing)}");
                    continue;
                }

                int major, minor;
                int result = ((delegate* unmanaged<int*, int*, int>)symbols["nvrtcVersion"])(&major, &minor);
                if (result != 0)
                {
                    problems.Add($"nvrtcVersion failed in {candidate} with nvrtcResult {result}");
                    continue;
                }

                nvrtc = new Nvrtc(candidate, symbols, (major, minor));
                reason = "";
                return true;
            }
            catch (Exception e) when (e is BadImageFormatException or DllNotFoundException or ArgumentException)
            {
                problems.Add($"{candidate}: {e.Message}");
            }
        }

        nvrtc = null;
        reason = problems.Count > 0
            ? "no usable NVRTC: " + string.Join("; ", problems)
            : $"NVRTC not found (tried beside libtorch's CUDA libraries and {string.Join(", ", NativeLibraryLocator.DefaultNvrtcNames())})";
        return false;
    }

    public byte[] Compile(string source, string programName, IReadOnlyList<KeyValuePair<string, string>> headers, IReadOnlyList<string> options, NvrtcOutput output)
    {
        // NVRTC copies the strings at create/compile time, so they only need to outlive those calls.
        var pinned = new List<GCHandle>();
        try
        {
            byte* Utf8(string text)
            {
                var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
                Encoding.UTF8.GetBytes(text, bytes);
                var handle = GCHandle.Alloc(bytes, GCHandleType.Pinned);
                pinned.Add(handle);
                return (byte*)handle.AddrOfPinnedObject();
            }

            byte** headerTexts = stackalloc byte*[Math.Max(1, headers.Count)];
            byte** headerNames = stackalloc byte*[Math.Max(1, headers.Count)];
            for (int i = 0; i < headers.Count; i++)
            {
                headerTexts[i] = Utf8(headers[i].Value);
                headerNames[i] = Utf8(headers[i].Key);
            }

            IntPtr program;
            Check(_createProgram(&program, Utf8(source), Utf8(programName), headers.Count, headerTexts, headerNames), "nvrtcCreateProgram");
            try
            {
                byte** optionTexts = stackalloc byte*[Math.Max(1, options.Count)];
                for (int i = 0; i < options.Count; i++)
                {
                    optionTexts[i] = Utf8(options[i]);
                }

                int result = _compileProgram(program, options.Count, optionTexts);
                if (result != 0)
                {
                    throw new NvrtcException("nvrtcCompileProgram", result, ErrorName(result), ProgramLog(program));
                }

                nuint size;
                if (output == NvrtcOutput.Cubin)
                {
                    Check(_getCubinSize(program, &size), "nvrtcGetCUBINSize");
                    var cubin = new byte[(int)size];
                    fixed (byte* data = cubin)
                    {
                        Check(_getCubin(program, data), "nvrtcGetCUBIN");
                    }

                    return cubin;
                }

                Check(_getPtxSize(program, &size), "nvrtcGetPTXSize");
                var ptx = new byte[(int)size];
                fixed (byte* data = ptx)
                {
                    Check(_getPtx(program, data), "nvrtcGetPTX");
                }

                return ptx;
            }
            finally
            {
                _destroyProgram(&program);
            }
        }
        finally
        {
            foreach (var handle in pinned)
            {
                handle.Free();
            }
        }
    }

    private string ProgramLog(IntPtr program)
    {
        nuint size;
        if (_getProgramLogSize(program, &size) != 0 || size <= 1)
        {
            return "";
        }

        var log = new byte[(int)size];
        fixed (byte* data = log)
        {
            return _getProgramLog(program, data) == 0 ? Encoding.UTF8.GetString(log, 0, log.Length - 1) : "";
        }
    }

    private string ErrorName(int result)
    {
        var text = _getErrorString(result);
        return text == null ? $"nvrtcResult {result}" : new string(text);
    }

    private void Check(int result, string call)
    {
        if (result != 0)
        {
            throw new NvrtcException(call, result, ErrorName(result));
        }
    }
}
