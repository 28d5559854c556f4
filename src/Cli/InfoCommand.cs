using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using MambaGen.Cache;

namespace MambaGen.Cli;

/// <summary><c>mambagen info</c>: the model's layers, their state specs and what the state cache costs.</summary>
internal sealed class InfoCommand
{
    private readonly Option<string?> _model = CommonOptions.Model();
    private readonly Option<int> _requests = CliParsing.Int(new("--requests", "-r") { Description = "Concurrent requests to size the state cache for.", DefaultValueFactory = _ => 1 });
    private readonly Option<string> _dtype = CommonOptions.Dtype();
    private readonly Option<int?> _tokens = CliParsing.NullableInt(new("--tokens") { Description = "Hybrid models: the length (prompt + generated) of each request the page pool is sized for. Default: 2048, or max_position_embeddings when smaller." });
    private readonly Option<double?> _memory = CliParsing.NullableDouble(new("--cache-memory") { Description = "Hybrid models: a cache memory budget in GiB; shows how many requests of --tokens fit in it." });
    private readonly TextWriter _out;

    public InfoCommand(TextWriter output)
    {
        _out = output;
        Command = new Command("info", "Show the model's layers, mamba types, backends, state shapes and dtypes, page bytes and state-cache memory.")
        {
            _model, _requests, _dtype, _tokens, _memory,
        };
        Command.SetAction(Execute);
    }

    public Command Command { get; }

    private int Execute(ParseResult parse)
    {
        int requests = parse.GetValue(_requests);
        if (requests < 1) throw new CliInputException($"--requests must be at least 1 (got {requests}).");
        var dtype = DeviceSelection.Dtype(parse.GetValue(_dtype)!);
        var (checkpoint, isDefault) = LoadedModel.Open(parse.GetValue(_model));
        using var loaded = LoadedModel.Load(checkpoint, isDefault, TorchSharp.torch.CPU, dtype);
        if (loaded.Hybrid is { } hybrid)
        {
            HybridInfo.Write(_out, loaded.Description, hybrid, requests, parse.GetValue(_tokens), parse.GetValue(_memory));
            return ExitCodes.Success;
        }

        if (parse.GetValue(_tokens) is not null || parse.GetValue(_memory) is not null)
            throw new CliInputException($"--tokens and --cache-memory size a hybrid model's page pool; {loaded.Description} is a {checkpoint.ModelType} checkpoint, whose state cache holds one page per request per layer whatever its length.");

        var model = loaded.Mamba!;
        var config = checkpoint.Mamba!.Config;

        _out.WriteLine($"model:       {loaded.Description}");
        _out.WriteLine($"model type:  {config.ModelType}, {config.NumHiddenLayers} layers, hidden {config.HiddenSize}, vocab {config.VocabSize}, tied embeddings {(config.TieWordEmbeddings ? "yes" : "no")}");
        _out.WriteLine($"parameters:  {Parameters(model.parameters())}");
        _out.WriteLine($"eos tokens:  {(config.EosTokenIds.Count == 0 ? "none" : string.Join(", ", config.EosTokenIds))}; bos {config.BosTokenId?.ToString(CultureInfo.InvariantCulture) ?? "none"}; pad {config.PadTokenId?.ToString(CultureInfo.InvariantCulture) ?? "none"}");
        _out.WriteLine("layers:");
        foreach (var layer in model.Mixers)
        {
            var spec = layer.GetKvCacheSpec(model.EngineConfig);
            var states = string.Join(", ", spec.Shapes.Select((s, i) => $"[{string.Join(", ", s)}] {spec.Dtypes[i].ToString().ToLowerInvariant()}"));
            _out.WriteLine($"  {layer.GetName()}: mamba type {layer.MambaType}, backend {layer.GetAttnBackend().Name}, states {states}, page {N(spec.PageSizeBytes)} bytes");
        }

        long perRequest = MambaStateCache.MemoryBytes(model.Mixers, 1);
        long total = MambaStateCache.MemoryBytes(model.Mixers, requests);
        _out.WriteLine($"state cache: {N(perRequest)} bytes per request; {N(total)} bytes ({MiB(total)}) for {requests} concurrent request(s)");
        return ExitCodes.Success;
    }

    /// <summary>"55,248 (float32)", or per dtype where they differ ("55,248: 52,416 bfloat16, 2,832 float32"), as a
    /// mixed-precision model on the CPU holds them: the count of what was built, not of what was asked.</summary>
    internal static string Parameters(IEnumerable<TorchSharp.torch.Tensor> parameters)
    {
        var byDtype = parameters.GroupBy(p => p.dtype).Select(g => (Dtype: g.Key, Count: g.Sum(p => p.numel()))).OrderByDescending(d => d.Count).ToArray();
        long total = byDtype.Sum(d => d.Count);
        string Name(TorchSharp.torch.ScalarType d) => d.ToString().ToLowerInvariant();
        return byDtype.Length == 1 ? $"{N(total)} ({Name(byDtype[0].Dtype)})" : $"{N(total)}: {string.Join(", ", byDtype.Select(d => $"{N(d.Count)} {Name(d.Dtype)}"))}";
    }

    internal static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    internal static string MiB(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("0.00", CultureInfo.InvariantCulture) + " MiB";
}
