using System.CommandLine;

namespace MambaGen.Cli;

/// <summary>Options several commands share; each command gets its own instances.</summary>
internal static class CommonOptions
{
    public static Option<string?> Model() => new("--model", "-m")
    {
        Description = "A HuggingFace Mamba/Mamba2 checkpoint folder (config.json, *.safetensors, tokenizer.json). Default: the embedded model.",
    };

    public static Option<string> Device()
    {
        var option = new Option<string>("--device", "-d") { Description = "Where the model runs.", DefaultValueFactory = _ => "cpu" };
        option.AcceptOnlyFromAmong(DeviceSelection.DeviceNames);
        return option;
    }

    public static Option<string> Dtype()
    {
        var option = new Option<string>("--dtype") { Description = "The dtype the weights are loaded into and the model computes in.", DefaultValueFactory = _ => "float32" };
        option.AcceptOnlyFromAmong(DeviceSelection.DtypeNames);
        return option;
    }
}
