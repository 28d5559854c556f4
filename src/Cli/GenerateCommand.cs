using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using TorchSharp;

namespace MambaGen.Cli;

/// <summary>
/// <c>mambagen generate</c>: one prompt is streamed token by token; several prompts (--prompts-file) run batched
/// through the engine and each text is printed on one line, numbered, when its request finishes. Statistics go to stderr.
/// </summary>
internal sealed class GenerateCommand
{
    /// <summary>Most requests the engine runs at once (a state cache gets one block each; a hybrid pool room for each at its longest).</summary>
    private const int MaxConcurrentRequests = 64;

    private readonly Argument<string?> _prompt = new("prompt") { Description = "The prompt text.", Arity = ArgumentArity.ZeroOrOne };
    private readonly Option<string?> _promptOption = new("--prompt", "-p") { Description = "The prompt text (instead of the positional prompt)." };
    private readonly Option<string?> _promptsFile = CommonOptions.NotEmpty(new("--prompts-file") { Description = "A file of prompts, one per line (blank lines are skipped); run batched." }, "a file of prompts");
    private readonly Option<string?> _model = CommonOptions.Model();
    private readonly Option<string> _device = CommonOptions.Device();
    private readonly Option<string> _dtype = CommonOptions.Dtype();
    private readonly Option<int> _maxTokens = CliParsing.Int(new("--max-tokens", "-n") { Description = "Most tokens to generate per prompt.", DefaultValueFactory = _ => 64 });
    private readonly Option<double> _temperature = CliParsing.Double(new("--temperature", "-t") { Description = "0 picks the most likely token (greedy); above 0 samples.", DefaultValueFactory = _ => 0.0 });
    private readonly Option<double> _topP = CliParsing.Double(new("--top-p") { Description = "Nucleus sampling: keep the most likely tokens up to this probability mass (0, 1].", DefaultValueFactory = _ => 1.0 });
    private readonly Option<ulong?> _seed = CliParsing.NullableULong(new("--seed") { Description = "Seed for sampling (with --temperature above 0), so a run repeats." });
    private readonly Option<int?> _threads = CliParsing.NullableInt(new("--threads") { Description = "CPU threads for TorchSharp, 1 to the number of cores (default: TorchSharp's own choice, one per core)." });
    private readonly Option<bool> _noBos = new("--no-bos") { Description = "Do not start the prompt with the model's bos token." };

    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly bool _interactiveErr;

    public GenerateCommand(TextWriter output, TextWriter error, bool interactiveErr)
    {
        _out = output;
        _err = error;
        _interactiveErr = interactiveErr;
        Command = new Command("generate", "Generate text from a prompt (streamed) or from a file of prompts (batched).")
        {
            _prompt, _promptOption, _promptsFile, _model, _device, _dtype, _maxTokens, _temperature, _topP, _seed, _threads, _noBos,
        };
        Command.SetAction(Execute);
    }

    public Command Command { get; }

    private int Execute(ParseResult parse)
    {
        var prompts = ReadPrompts(parse);
        int maxTokens = parse.GetValue(_maxTokens);
        double temperature = parse.GetValue(_temperature), topP = parse.GetValue(_topP);
        if (maxTokens < 1) throw new CliInputException($"--max-tokens must be at least 1 (got {maxTokens}).");
        if (temperature < 0 || double.IsNaN(temperature)) throw new CliInputException($"--temperature must be 0 (greedy) or positive (got {temperature.ToString(CultureInfo.InvariantCulture)}).");
        if (!(topP > 0 && topP <= 1)) throw new CliInputException($"--top-p must be in (0, 1] (got {topP.ToString(CultureInfo.InvariantCulture)}).");

        if (parse.GetValue(_threads) is int threads)
        {
            if (threads < 1) throw new CliInputException($"--threads must be at least 1 (got {threads}).");
            // More threads than cores only oversubscribes them (100,000 made the machine unusable): refused, not clamped, so the figures are what was asked for.
            if (threads > Environment.ProcessorCount)
                throw new CliInputException($"--threads must be at most the number of cores this process may use ({Environment.ProcessorCount}) (got {threads}).");
            TorchSharp.torch.set_num_threads(threads);
        }

        var device = DeviceSelection.Open(parse.GetValue(_device)!);
        var dtype = DeviceSelection.Dtype(parse.GetValue(_dtype)!);
        var (checkpoint, isDefault) = LoadedModel.Open(parse.GetValue(_model));
        ITextTokenizer tokenizer = checkpoint.HasTokenizer ? checkpoint.LoadTokenizer() : new TokenIdTokenizer(checkpoint.VocabSize);
        if (!checkpoint.HasTokenizer) _err.WriteLine($"note: {checkpoint.Folder} has no tokenizer.json: prompts are read as token ids and output is printed as token ids.");
        bool addBos = !parse.GetValue(_noBos) && checkpoint.BosTokenId is not null;
        var promptIds = prompts.Select(p => Encode(tokenizer, p, addBos ? checkpoint.BosTokenId : null)).ToArray();
        long longest = (long)promptIds.Max(p => p.Length) + maxTokens;
        if (longest > int.MaxValue)
            throw new CliInputException($"The longest prompt ({promptIds.Max(p => p.Length)} tokens) plus --max-tokens ({maxTokens}) is {longest} tokens, more than a sequence can hold ({int.MaxValue}).");
        if (checkpoint.MaxPositions is int positions && longest > positions)
            throw new CliInputException($"The longest prompt ({promptIds.Max(p => p.Length)} tokens) plus --max-tokens ({maxTokens}) is {longest} tokens, more than the model's {positions} positions (max_position_embeddings in {checkpoint.Folder}/config.json).");
        int maxModelLen = Math.Max(2048, (int)longest);
        var sampling = new SamplingParams
        {
            Temperature = temperature,
            TopP = topP,
            MaxTokens = maxTokens,
            StopTokenIds = checkpoint.EosTokenIds.ToArray(),
            Seed = parse.GetValue(_seed),
        };
        // The engine's own range checks, before minutes of loading: e.g. a temperature that underflows float32.
        try
        {
            sampling.Validate();
        }
        catch (ArgumentException e)
        {
            var option = e.ParamName switch { "Temperature" => "--temperature", "TopP" => "--top-p", "MaxTokens" => "--max-tokens", _ => "sampling" };
            var reason = e.Message.Split('\n')[0];
            int cut = reason.IndexOf(" (Parameter", StringComparison.Ordinal);
            throw new CliInputException($"{option}: {(cut >= 0 ? reason[..cut] : reason)}", e);
        }

        using var loaded = LoadedModel.Load(checkpoint, isDefault, device, dtype, maxModelLen);
        _err.WriteLine($"model: {loaded.Description}, {checkpoint.ModelType}, {checkpoint.NumLayers} layers, {dtype.ToString().ToLowerInvariant()} on {device.type.ToString().ToLowerInvariant()}, loaded in {Seconds(loaded.LoadTime)}");

        _err.WriteLine($"warm-up: {Seconds(WarmUp(loaded, promptIds[0]))} (one prefill and one decode step, not counted below)");
        if (device.type == DeviceType.CUDA)
        {
            // Which ops and whether decode graphs run, with the reason when the fast path was not taken.
            _err.WriteLine($"path: {loaded.ExecutionPath}");
        }
        var stats = prompts.Count == 1
            ? Stream(loaded, tokenizer, prompts[0], promptIds[0], sampling, (int)longest)
            : Batch(loaded, tokenizer, prompts, promptIds, sampling, (int)longest);
        _err.WriteLine(stats.Describe());
        return ExitCodes.Success;
    }

    private List<string> ReadPrompts(ParseResult parse)
    {
        string? positional = parse.GetValue(_prompt), option = parse.GetValue(_promptOption), file = parse.GetValue(_promptsFile);
        int given = new[] { positional is not null, option is not null, file is not null }.Count(b => b);
        if (given == 0) throw new CliInputException("No prompt: give one as an argument (mambagen generate \"Gets the number of\"), with --prompt, or a file of prompts with --prompts-file.");
        if (given > 1) throw new CliInputException("Give the prompt one way only: as an argument, with --prompt, or with --prompts-file.");
        if (file is null) return new List<string> { positional ?? option! };
        if (!File.Exists(file)) throw new CliInputException($"Prompts file not found: {Path.GetFullPath(file)}");
        var lines = File.ReadAllLines(file).Where(l => l.Trim().Length > 0).ToList();
        if (lines.Count == 0) throw new CliInputException($"Prompts file {Path.GetFullPath(file)} holds no prompt (every line is blank).");
        return lines;
    }

    private static int[] Encode(ITextTokenizer tokenizer, string prompt, int? bos)
    {
        var ids = tokenizer.Encode(prompt);
        // A document starts after the bos token in training, so a prompt reads as the start of a document with it.
        if (bos is int b && (ids.Length == 0 || ids[0] != b)) ids = ids.Prepend(b).ToArray();
        if (ids.Length == 0) throw new CliInputException("The prompt is empty and the model has no bos token to start from.");
        return ids;
    }

    /// <summary>One prompt: prints the prompt, then each piece of text as soon as its tokens complete it.</summary>
    private GenerationStats Stream(LoadedModel loaded, ITextTokenizer tokenizer, string prompt, int[] ids, SamplingParams sampling, int longest)
    {
        using var cache = loaded.Cache(1, longest);
        var engine = cache.Engine();
        engine.AddRequest(ids, sampling, "0");
        var detokenizer = new IncrementalDetokenizer(tokenizer);
        var stats = new GenerationStats(1, ids.Length);
        _out.Write(prompt);
        _out.Flush();
        while (engine.HasUnfinishedRequests)
        {
            var outputs = stats.TimeStep(engine);
            foreach (var o in outputs)
            {
                if (o.Finish == FinishReason.Stop) stats.Finished(o);
                else
                {
                    _out.Write(detokenizer.Add(o.Token));
                    _out.Flush();
                    if (o.Finished) stats.Finished(o);
                }
            }
        }

        _out.WriteLine(detokenizer.Flush());
        return stats;
    }

    /// <summary>Several prompts: runs them batched and prints each full text (prompt + completion) on one line when it finishes.</summary>
    private GenerationStats Batch(LoadedModel loaded, ITextTokenizer tokenizer, IReadOnlyList<string> prompts, int[][] ids, SamplingParams sampling, int longest)
    {
        using var cache = loaded.Cache(Math.Min(prompts.Count, MaxConcurrentRequests), longest);
        var engine = cache.Engine(new SchedulerOptions(MaxNumSeqs: MaxConcurrentRequests));
        var tokens = new List<int>[prompts.Count];
        for (int i = 0; i < prompts.Count; i++)
        {
            tokens[i] = new List<int>();
            engine.AddRequest(ids[i], sampling, i.ToString(CultureInfo.InvariantCulture));
        }

        var stats = new GenerationStats(prompts.Count, ids.Sum(p => p.Length));
        int done = 0;
        var shown = TimeSpan.FromSeconds(-1);
        while (engine.HasUnfinishedRequests)
        {
            foreach (var o in stats.TimeStep(engine))
            {
                int i = int.Parse(o.RequestId, CultureInfo.InvariantCulture);
                if (o.Finish != FinishReason.Stop) tokens[i].Add(o.Token);
                if (!o.Finished) continue;
                stats.Finished(o);
                done++;
                if (_interactiveErr) _err.Write("\r" + new string(' ', 60) + "\r");
                _out.WriteLine($"[{i + 1}] {OneLine(prompts[i] + tokenizer.Decode(tokens[i]))}");
                _out.Flush();
            }

            if (_interactiveErr && stats.Elapsed - shown >= TimeSpan.FromSeconds(0.1))
            {
                // A status line that rewrites itself, ten times a second at most; only on a terminal, where it does not litter a log.
                shown = stats.Elapsed;
                _err.Write($"\rgenerating: {done}/{prompts.Count} prompts done, {stats.GeneratedTokens} tokens, {Seconds(stats.Elapsed)}");
                _err.Flush();
            }
        }

        if (_interactiveErr) _err.Write("\r" + new string(' ', 60) + "\r");
        return stats;
    }

    /// <summary>Runs (the start of) the first prompt for two tokens, so one-time costs of the prefill and decode paths
    /// (kernel selection, allocator growth) stay out of the figures.</summary>
    private static TimeSpan WarmUp(LoadedModel loaded, int[] prompt)
    {
        var watch = Stopwatch.StartNew();
        var warmUp = prompt.Take(64).ToArray();
        using var cache = loaded.Cache(1, warmUp.Length + 2);
        var engine = cache.Engine();
        engine.AddRequest(warmUp, SamplingParams.Greedy(2), "warm-up");
        foreach (var _ in engine.Run())
        {
        }

        return watch.Elapsed;
    }

    /// <summary>A text on one line (backslash, newline, carriage return and tab escaped as in C#), so each prompt of a file gets one line of output.</summary>
    internal static string OneLine(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)
            .Replace("\r", "\\r", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal);

    internal static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture) + " s";
}
