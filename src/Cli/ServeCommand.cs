using System;
using System.CommandLine;
using System.IO;
using System.Threading.Tasks;
using MambaGen.Server;
using MambaGen.Serving;
using Microsoft.Extensions.Logging;

namespace MambaGen.Cli;

/// <summary>
/// <c>mambagen serve</c>: the model behind an OpenAI-compatible HTTP server (see docs/serving.md) until Ctrl+C or
/// SIGTERM. It listens on the loopback address unless --host says otherwise.
/// </summary>
internal sealed class ServeCommand
{
    private readonly Option<string?> _model = CommonOptions.Model();
    private readonly Option<string> _device = CommonOptions.Device();
    private readonly Option<string> _dtype = CommonOptions.Dtype();
    private readonly Option<string?> _host = CommonOptions.NotEmpty(new("--host") { Description = "The IP address to listen on (0.0.0.0: every interface). Default: 127.0.0.1, this machine only." }, "an IP address");
    private readonly Option<int> _port = CliParsing.Int(new("--port") { Description = "The TCP port to listen on (0: any free one).", DefaultValueFactory = _ => 8000 });
    private readonly Option<int> _maxConcurrent = CliParsing.Int(new("--max-concurrent") { Description = "Most requests that run at once: the state cache gets one block each.", DefaultValueFactory = _ => 16 });
    private readonly Option<int> _maxQueue = CliParsing.Int(new("--max-queue") { Description = "Most requests that wait for a block on top of those running; one more is refused with 429.", DefaultValueFactory = _ => 64 });
    private readonly Option<int> _maxModelLen = CliParsing.Int(new("--max-model-len") { Description = "Most tokens a request may hold: prompt plus max_tokens.", DefaultValueFactory = _ => 2048 });
    private readonly Option<string?> _name = CommonOptions.NotEmpty(new("--served-model-name") { Description = "The model id clients send and /v1/models lists. Default: --model as given, or 'default' for the embedded model." }, "a model id");

    private readonly TextWriter _err;

    public ServeCommand(TextWriter error)
    {
        _err = error;
        Command = new Command("serve", "Serve the model over an OpenAI-compatible HTTP API (completions, chat, streaming, /metrics) with a chat page at /.")
        {
            _model, _device, _dtype, _host, _port, _maxConcurrent, _maxQueue, _maxModelLen, _name,
        };
        Command.SetAction(Execute);
    }

    public Command Command { get; }

    private int Execute(ParseResult parse)
    {
        int port = parse.GetValue(_port), maxConcurrent = parse.GetValue(_maxConcurrent), maxQueue = parse.GetValue(_maxQueue), maxModelLen = parse.GetValue(_maxModelLen);
        if (port is < 0 or > 65535) throw new CliInputException($"--port must be from 0 to 65535 (got {port}).");
        if (maxConcurrent < 1) throw new CliInputException($"--max-concurrent must be at least 1 (got {maxConcurrent}).");
        if (maxQueue < 0) throw new CliInputException($"--max-queue must be 0 or more (got {maxQueue}).");
        if (maxModelLen < 2) throw new CliInputException($"--max-model-len must be at least 2 (got {maxModelLen}).");
        string? modelOption = parse.GetValue(_model);
        var options = new ServerOptions
        {
            ModelName = parse.GetValue(_name) ?? (string.IsNullOrEmpty(modelOption) ? "default" : modelOption),
            Host = parse.GetValue(_host) ?? "127.0.0.1",
            Port = port,
            MaxModelLen = maxModelLen,
            // The host's own report of a failed start is a stack trace; serve says why in one line instead.
            ConfigureLogging = logging => logging.AddSimpleConsole(c => c.SingleLine = true).SetMinimumLevel(LogLevel.Warning)
                .AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None),
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CliInputException("--host: " + e.Message.Split(" (Parameter", 2)[0], e);
        }

        var device = DeviceSelection.Open(parse.GetValue(_device)!);
        var dtype = DeviceSelection.Dtype(parse.GetValue(_dtype)!);
        var (checkpoint, isDefault) = LoadedModel.Open(modelOption);
        if (checkpoint.MaxPositions is int positions && maxModelLen > positions)
        {
            // A model with learned or RoPE positions has a context limit of its own: the default follows it, an explicit value may not pass it.
            if (parse.GetResult(_maxModelLen) is { Implicit: false })
            {
                throw new CliInputException($"--max-model-len {maxModelLen} is more than the model's {positions} positions (max_position_embeddings in {checkpoint.Folder}).");
            }

            maxModelLen = positions;
            options = options with { MaxModelLen = positions };
        }

        using var loggers = LoggerFactory.Create(logging => logging.AddSimpleConsole(c => c.SingleLine = true).SetMinimumLevel(LogLevel.Information));
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var engine = new EngineService(() => checkpoint.Hybrid is { } hybrid
                ? ServedModel.Load(hybrid, device, dtype, maxConcurrent, maxModelLen)
                : ServedModel.Load(checkpoint.Mamba!, device, dtype, maxConcurrent, maxModelLen),
            new EngineServiceOptions { MaxQueuedRequests = maxQueue }, loggers.CreateLogger("MambaGen.Engine"));
        string where = isDefault ? $"default model ({checkpoint.Folder})" : checkpoint.Folder;
        _err.WriteLine($"model: {where}, {checkpoint.ModelType}, {dtype.ToString().ToLowerInvariant()} on {device.type.ToString().ToLowerInvariant()}, loaded in {GenerateCommand.Seconds(started.Elapsed)}");
        if (engine.ChatTemplateError is { } templateError) _err.WriteLine($"warning: chat requests will fail: {templateError.Message}");
        else if (engine.ChatTemplate is null) _err.WriteLine("note: the model has no chat template: /v1/chat/completions answers 400; /v1/completions works.");
        return RunAsync(engine, options).GetAwaiter().GetResult();
    }

    private async Task<int> RunAsync(EngineService engine, ServerOptions options)
    {
        OpenAiServer server;
        try
        {
            server = await OpenAiServer.StartAsync(engine, options).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            throw new CliInputException($"Could not listen on {options.Host}:{options.Port}: {e.Message}", e);
        }

        await using (server.ConfigureAwait(false))
        {
            _err.WriteLine($"serving '{options.ModelName}' at {server.Address} (OpenAI API under /v1, chat page at /, metrics at /metrics); Ctrl+C stops.");
            _err.Flush();
            await server.WaitForShutdownAsync().ConfigureAwait(false);
        }

        return ExitCodes.Success;
    }
}
