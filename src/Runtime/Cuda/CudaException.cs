using System;

namespace MambaGen.Cuda;

/// <summary>A CUDA driver call that returned an error: the call, the <c>CUresult</c> code and its name.</summary>
public sealed class CudaException : Exception
{
    public CudaException(string call, int result, string? resultName = null, string? description = null, string? detail = null)
        : base(Format(call, result, resultName, description, detail))
    {
        Call = call;
        Result = result;
        ResultName = resultName ?? CudaResult.NameOf(result);
    }

    /// <summary>The driver function that failed, e.g. <c>cuModuleLoadData</c>.</summary>
    public string Call { get; }

    /// <summary>The <c>CUresult</c> it returned.</summary>
    public int Result { get; }

    /// <summary>The result's name, e.g. <c>CUDA_ERROR_NO_BINARY_FOR_GPU</c>.</summary>
    public string ResultName { get; }

    private static string Format(string call, int result, string? name, string? description, string? detail)
    {
        var text = $"{call} failed: {name ?? CudaResult.NameOf(result)}";
        if (!string.IsNullOrWhiteSpace(description))
        {
            text += $" ({description})";
        }

        return string.IsNullOrWhiteSpace(detail) ? text : text + ": " + detail.Trim();
    }
}

/// <summary>A failed NVRTC call: the call, the <c>nvrtcResult</c>, and the compile log when there is one.</summary>
public sealed class NvrtcException : Exception
{
    public NvrtcException(string call, int result, string resultName, string log = "")
        : base(string.IsNullOrWhiteSpace(log) ? $"{call} failed: {resultName}" : $"{call} failed: {resultName}\n{log.TrimEnd()}")
    {
        Call = call;
        Result = result;
        ResultName = resultName;
        Log = log;
    }

    public string Call { get; }

    public int Result { get; }

    public string ResultName { get; }

    /// <summary>NVRTC's program log (compiler errors and warnings), empty when the failure was not a compile.</summary>
    public string Log { get; }
}

/// <summary>The <c>CUresult</c> codes the runtime acts on, and names for the common ones when the driver gives none.</summary>
public static class CudaResult
{
    public const int Success = 0;
    public const int ErrorInvalidValue = 1;
    public const int ErrorOutOfMemory = 2;
    public const int ErrorNotInitialized = 3;
    public const int ErrorNoDevice = 100;
    public const int ErrorInvalidDevice = 101;
    public const int ErrorInvalidImage = 200;
    public const int ErrorInvalidContext = 201;
    public const int ErrorNoBinaryForGpu = 209;
    public const int ErrorInvalidPtx = 218;
    public const int ErrorUnsupportedPtxVersion = 222;
    public const int ErrorJitCompilerNotFound = 221;
    public const int ErrorNotFound = 500;
    public const int ErrorNotSupported = 801;
    public const int ErrorLaunchOutOfResources = 701;
    public const int ErrorStreamCaptureInvalidated = 901;

    /// <summary>The code's <c>CUDA_ERROR_*</c> name where this table knows it; the driver's own names win when it is loaded.</summary>
    public static string NameOf(int result) => result switch
    {
        Success => "CUDA_SUCCESS",
        ErrorInvalidValue => "CUDA_ERROR_INVALID_VALUE",
        ErrorOutOfMemory => "CUDA_ERROR_OUT_OF_MEMORY",
        ErrorNotInitialized => "CUDA_ERROR_NOT_INITIALIZED",
        4 => "CUDA_ERROR_DEINITIALIZED",
        34 => "CUDA_ERROR_STUB_LIBRARY",
        35 => "CUDA_ERROR_INSUFFICIENT_DRIVER",
        ErrorNoDevice => "CUDA_ERROR_NO_DEVICE",
        ErrorInvalidDevice => "CUDA_ERROR_INVALID_DEVICE",
        ErrorInvalidImage => "CUDA_ERROR_INVALID_IMAGE",
        ErrorInvalidContext => "CUDA_ERROR_INVALID_CONTEXT",
        ErrorNoBinaryForGpu => "CUDA_ERROR_NO_BINARY_FOR_GPU",
        ErrorInvalidPtx => "CUDA_ERROR_INVALID_PTX",
        ErrorJitCompilerNotFound => "CUDA_ERROR_JIT_COMPILER_NOT_FOUND",
        ErrorUnsupportedPtxVersion => "CUDA_ERROR_UNSUPPORTED_PTX_VERSION",
        400 => "CUDA_ERROR_INVALID_HANDLE",
        ErrorNotFound => "CUDA_ERROR_NOT_FOUND",
        ErrorLaunchOutOfResources => "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
        700 => "CUDA_ERROR_ILLEGAL_ADDRESS",
        719 => "CUDA_ERROR_LAUNCH_FAILED",
        900 => "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED",
        ErrorStreamCaptureInvalidated => "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED",
        _ => $"CUresult {result}",
    };
}
