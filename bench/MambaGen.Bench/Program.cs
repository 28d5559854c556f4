using System;
using System.Linq;
using MambaGen.Bench;
using TorchSharp;
using static TorchSharp.torch;

// Usage: MambaGen.Bench verify|time|steps [--device cpu|cuda] [--dtype bfloat16|float32] [--prefill N --decode N --batch B] [reference folders...]
if (args.Length == 0 || args[0] is not ("verify" or "time" or "steps"))
{
    Console.Error.WriteLine("usage: MambaGen.Bench verify|time|steps [--device cpu|cuda] [--dtype bfloat16|float32] [--prefill N --decode N --batch B] [checkpoint folders with expected.safetensors...]");
    return 2;
}

string deviceName = Option("--device") ?? "cpu";
var dtype = (Option("--dtype") ?? "bfloat16") switch
{
    "float32" => ScalarType.Float32,
    "bfloat16" => ScalarType.BFloat16,
    "float16" => ScalarType.Float16,
    var other => throw new ArgumentException($"unknown --dtype '{other}'"),
};
if (deviceName == "cuda")
{
    torch.InitializeDeviceType(DeviceType.CUDA);
    if (!torch.cuda.is_available())
    {
        Console.Error.WriteLine("CUDA is not available on this machine.");
        return 2;
    }
}

var device = torch.device(deviceName);
var folders = args.Skip(1).Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || !args[i].StartsWith("--", StringComparison.Ordinal))).ToArray();
if (args[0] == "verify")
{
    return Verify.Run(device, folders, Console.Out) ? 0 : 1;
}

if (args[0] == "steps")
{
    LayerTiming.RunSteps(device, dtype, int.Parse(Option("--prefill") ?? "0"), int.Parse(Option("--decode") ?? "0"), int.Parse(Option("--batch") ?? "1"));
    return 0;
}

LayerTiming.Run(device, dtype, Console.Out);
return 0;

string? Option(string name)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
