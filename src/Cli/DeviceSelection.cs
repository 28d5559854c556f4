using System;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Cli;

/// <summary>Turns --device and --dtype into TorchSharp's device and dtype, checking that the device is there.</summary>
internal static class DeviceSelection
{
    public static readonly string[] DeviceNames = { "cpu", "cuda" };

    public static readonly string[] DtypeNames = { "float32", "bfloat16", "float16" };

    public static Device Open(string name)
    {
        if (name == "cpu") return torch.CPU;
        if (name != "cuda") throw new CliInputException($"Unknown device '{name}': use cpu or cuda.");
        try
        {
            // TorchSharp loads the CUDA backend only when asked; with CPU-only libtorch this throws.
            torch.InitializeDeviceType(DeviceType.CUDA);
        }
        catch (Exception e)
        {
            throw new CliInputException($"CUDA is not available: TorchSharp could not load its CUDA backend ({Reason(e)}). mambagen ships with CPU libtorch; run with --device cpu, or reference a libtorch-cuda package and run on a machine with an NVIDIA GPU.", e);
        }

        if (!torch.cuda.is_available())
        {
            throw new CliInputException("CUDA is not available: TorchSharp found no CUDA device on this machine. Run with --device cpu.");
        }

        return torch.CUDA;
    }

    /// <summary>TorchSharp's reason without the native-loader trace it appends.</summary>
    private static string Reason(Exception e)
    {
        string message = e.Message.Split('\n')[0];
        int trace = message.IndexOf("Trace from", StringComparison.Ordinal);
        return (trace > 0 ? message[..trace] : message).Trim().TrimEnd('.');
    }

    public static ScalarType Dtype(string name) => name switch
    {
        "float32" => ScalarType.Float32,
        "bfloat16" => ScalarType.BFloat16,
        "float16" => ScalarType.Float16,
        _ => throw new CliInputException($"Unknown dtype '{name}': use float32, bfloat16 or float16."),
    };
}
