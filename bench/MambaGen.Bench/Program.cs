using System;
using System.Linq;
using MambaGen.Bench;
using TorchSharp;
using static TorchSharp.torch;

// Usage: MambaGen.Bench verify|time|steps|model|correct [--device cpu|cuda] [--dtype bfloat16|float32] [--prefill N --decode N --batch B] [reference folders...]
if (args.Length == 0 || args[0] is not ("verify" or "time" or "steps" or "model" or "correct"))
{
    Console.Error.WriteLine("usage: MambaGen.Bench verify|time|steps [--device cpu|cuda] [--dtype bfloat16|float32] [--prefill N --decode N --batch B] [checkpoint folders with expected.safetensors...]");
    Console.Error.WriteLine("       MambaGen.Bench model --model DIR [--device cuda] [--dtype bfloat16] [--shapes 1x2048,32x512] [--batches 1,32,128] [--tokens 128] [--prompt 16] [--reps 3]");
    Console.Error.WriteLine("       MambaGen.Bench correct --model DIR --prompts FILE --reference TOKENS.txt [--new 32] [--device cuda] [--dtype float32]");
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

if (args[0] == "model")
{
    ModelBench.Run(Option("--model") ?? throw new ArgumentException("--model DIR is required"), device, dtype, Option("--shapes") ?? "1x2048,32x512",
        Option("--batches") ?? "1,32,128", int.Parse(Option("--tokens") ?? "128"), int.Parse(Option("--prompt") ?? "16"), int.Parse(Option("--reps") ?? "3"), Console.Out);
    return 0;
}

if (args[0] == "correct")
{
    return ModelBench.Correct(Option("--model") ?? throw new ArgumentException("--model DIR is required"), device, dtype,
        Option("--prompts") ?? throw new ArgumentException("--prompts FILE is required"), Option("--reference") ?? throw new ArgumentException("--reference FILE is required"),
        int.Parse(Option("--new") ?? "32"), Console.Out) ? 0 : 1;
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
