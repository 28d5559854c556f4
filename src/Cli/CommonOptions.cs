using System.CommandLine;

namespace MambaGen.Cli;

/// <summary>Options several commands share; each command gets its own instances.</summary>
internal static class CommonOptions
{
    public static Option<string?> Model() => NotEmpty(new("--model", "-m")
    {
        Description = "A HuggingFace Mamba/Mamba2 checkpoint folder (config.json, *.safetensors, tokenizer.json). Default: the embedded model.",
    }, "a checkpoint folder; leave --model out to use the embedded model");

    /// <summary>An empty value (--model "") is a mistake, not "use the default": the option must then name something.</summary>
    public static Option<string?> NotEmpty(Option<string?> option, string what)
    {
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count == 1 && string.IsNullOrWhiteSpace(result.Tokens[0].Value))
                result.AddError($"{option.Name} is empty: it needs {what}.");
        });
        return option;
    }

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
