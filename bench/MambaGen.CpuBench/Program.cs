using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using MambaGen.Checkpoints;
using MambaGen.CpuBench.Gguf;

namespace MambaGen.CpuBench;

/// <summary>
/// <c>convert &lt;folder&gt; &lt;out.gguf&gt; [f32|bf16|f16]</c>: a HuggingFace mamba / mamba2 folder to GGUF.<br/>
/// <c>run --engine mambagen|llama --model &lt;folder&gt; [--gguf &lt;file&gt;] --dtype f32|bf16 --threads n [-p P] [-n N] [--reps R] [--warmup-s S]</c>:
/// one engine, one figure (the median of --reps repetitions), one JSON line (peak RSS of this process included).<br/>
/// <c>bench [--models a,b] [--threads 1,2] [--dtypes f32,bf16] [--runs 3] [--reps 3] [-p P] [-n N] [--warmup-s S] [--work dir]</c>: converts each
/// model, runs every figure as paired child processes (MambaGen, then llama.cpp, alternating), prints each run's JSON
/// line, then the medians, the ratios as a markdown table and whether the greedy tokens agree.<br/>
/// <c>make-random &lt;folder&gt; mamba|mamba2 [--hidden 768] [--layers 8] [--vocab 50280]</c>: a checkpoint of that size with random weights.
/// </summary>
public static class Program
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Seconds of warm-up requests before timing (see <see cref="WarmUp"/>); 0 gives the one short request alone.</summary>
    private const string DefaultWarmupSeconds = "2";

    public static int Main(string[] args)
    {
        if (args.Length == 0) { Console.Error.WriteLine("usage: convert | run | bench (see Program.cs)"); return 2; }
        var options = ParseOptions(args.Skip(1).ToArray(), out var positional);
        if (args[0] == "run" && options.GetValueOrDefault("engine") == "mambagen")
        {
            // As the mambagen CLI does, before anything loads libtorch; only in MambaGen's own process, so that
            // llama.cpp's children (their OpenMP too) run with the environment they were given.
            MambaGen.Cpu.CpuThreading.PreferShortSpin();
        }

        switch (args[0])
        {
            case "convert":
                var type = HuggingFaceToGguf.ParseFileType(positional.ElementAtOrDefault(2) ?? "f32");
                var arch = HuggingFaceToGguf.Convert(positional[0], positional[1], type);
                Console.WriteLine($"{positional[1]}: {arch}, {type}");
                return 0;
            case "run":
                return RunOne(options);
            case "bench":
                return Bench(options);
            case "make-random":
                // make-random <folder> mamba|mamba2 [--hidden 768] [--layers 8] [--vocab 50280]
                RandomCheckpoint.Write(positional[0], positional[1], int.Parse(options.GetValueOrDefault("hidden", "768"), Inv),
                    int.Parse(options.GetValueOrDefault("layers", "8"), Inv), int.Parse(options.GetValueOrDefault("vocab", "50280"), Inv));
                Console.WriteLine($"{positional[0]}: random {positional[1]}");
                return 0;
            default:
                Console.Error.WriteLine($"unknown command {args[0]}");
                return 2;
        }
    }

    private static Dictionary<string, string> ParseOptions(string[] args, out List<string> positional)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        positional = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith('-') && i + 1 < args.Length) options[args[i].TrimStart('-')] = args[++i];
            else positional.Add(args[i]);
        }

        return options;
    }

    /// <summary>P prompt ids: bos (if the config has one) then a fixed English text tokenized with the checkpoint's tokenizer,
    /// repeated; without a tokenizer, a fixed pseudo-random sequence of ids.</summary>
    public static int[] PromptIds(string folder, int length)
    {
        var checkpoint = HuggingFaceCheckpoint.Open(folder);
        var ids = new List<int>();
        if (checkpoint.Config.BosTokenId is int bos) ids.Add(bos);
        if (checkpoint.HasTokenizer)
        {
            var text = checkpoint.LoadTokenizer().Encode(
                "Gets the number of elements contained in the collection. Returns a value that indicates whether the current instance is equal to a specified object. ");
            while (ids.Count < length) ids.AddRange(text);
        }
        else
        {
            uint x = 12345;
            while (ids.Count < length) { x = x * 1103515245 + 12345; ids.Add((int)((x >> 16) % (uint)checkpoint.Config.VocabSize)); }
        }

        return ids.Take(length).ToArray();
    }

    private static int RunOne(Dictionary<string, string> o)
    {
        string engine = o["engine"], folder = o["model"], dtype = o.GetValueOrDefault("dtype", "f32");
        int threads = int.Parse(o.GetValueOrDefault("threads", "1"), Inv);
        int p = int.Parse(o.GetValueOrDefault("p", "128"), Inv), n = int.Parse(o.GetValueOrDefault("n", "128"), Inv);
        int reps = int.Parse(o.GetValueOrDefault("reps", "1"), Inv);
        double warmup = double.Parse(o.GetValueOrDefault("warmup-s", DefaultWarmupSeconds), Inv);
        var prompt = PromptIds(folder, p);
        var result = engine switch
        {
            "mambagen" => MambaGenRun.Run(folder, dtype, threads, prompt, n, reps, warmup),
            "llama" => LlamaCppRun.Run(o["gguf"], threads, prompt, n, reps, warmup),
            _ => throw new ArgumentException($"engine {engine}"),
        };
        var line = new Dictionary<string, object>
        {
            ["system"] = engine == "mambagen" ? "MambaGen" : "llama.cpp",
            ["model"] = o.GetValueOrDefault("name", Path.GetFileName(Path.GetFullPath(folder).TrimEnd('/'))),
            ["dtype"] = dtype,
            ["threads"] = threads,
            ["prompt_tokens"] = result.PromptTokens,
            ["decode_tokens"] = result.DecodeTokens,
            ["reps"] = reps,
            ["warmup_s"] = warmup,
            ["load_s"] = Math.Round(result.LoadSeconds, 4),
            ["prefill_tok_s"] = Math.Round(result.PrefillTokensPerSecond, 1),
            ["decode_tok_s"] = Math.Round(result.DecodeTokensPerSecond, 1),
            ["peak_rss_mib"] = Math.Round(PeakRssMiB(), 1),
            ["tokens"] = result.Tokens,
        };
        Console.WriteLine(JsonSerializer.Serialize(line));
        return 0;
    }

    /// <summary>This process's peak resident set (VmHWM), MiB; NaN where /proc is not there.</summary>
    public static double PeakRssMiB()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return double.NaN;
        var hwm = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return hwm is null ? double.NaN : double.Parse(hwm.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], Inv) / 1024.0;
    }

    private static int Bench(Dictionary<string, string> o)
    {
        string root = FindRepoRoot();
        var models = o.GetValueOrDefault("models", "models/default,tests/fixtures/dev-mamba2,tests/fixtures/dev-mamba1").Split(',');
        var threadCounts = o.GetValueOrDefault("threads", "1,2").Split(',').Select(t => int.Parse(t, Inv)).ToArray();
        var dtypes = o.GetValueOrDefault("dtypes", "f32,bf16").Split(',');
        int runs = int.Parse(o.GetValueOrDefault("runs", "3"), Inv);
        string p = o.GetValueOrDefault("p", "128"), n = o.GetValueOrDefault("n", "128"), reps = o.GetValueOrDefault("reps", "3");
        string warmup = o.GetValueOrDefault("warmup-s", DefaultWarmupSeconds);
        string work = o.GetValueOrDefault("work", Path.Combine(Path.GetTempPath(), "mambagen-cpubench"));
        Directory.CreateDirectory(work);

        var rows = new List<(string Model, string Dtype, int Threads, List<JsonElement> Mg, List<JsonElement> Ll)>();
        foreach (var model in models)
        {
            string folder = Path.IsPathRooted(model) ? model : Path.Combine(root, model);
            string name = Path.GetFileName(folder.TrimEnd('/'));
            foreach (var dtype in dtypes)
            {
                string gguf = Path.Combine(work, $"{name}-{dtype}.gguf");
                HuggingFaceToGguf.Convert(folder, gguf, HuggingFaceToGguf.ParseFileType(dtype));
                foreach (var threads in threadCounts)
                {
                    var mg = new List<JsonElement>();
                    var ll = new List<JsonElement>();
                    for (int r = 0; r < runs; r++)
                    {
                        string common = $"--model {folder} --name {name} --dtype {dtype} --threads {threads} -p {p} -n {n} --reps {reps} --warmup-s {warmup}";
                        // Paired: alternate which engine goes first, so drift in the machine's load falls on both.
                        var first = r % 2 == 0 ? "mambagen" : "llama";
                        var second = first == "mambagen" ? "llama" : "mambagen";
                        foreach (var engine in new[] { first, second })
                        {
                            var json = Child($"run --engine {engine} {common} --gguf {gguf}");
                            Console.WriteLine(json);
                            (engine == "mambagen" ? mg : ll).Add(JsonDocument.Parse(json).RootElement.Clone());
                        }
                    }

                    rows.Add((name, dtype, threads, mg, ll));
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine($"Medians of {runs} paired runs (each the median of {reps} repetitions in its process), P = {p} prompt tokens, N = {n} decode steps, greedy, batch 1.");
        Console.WriteLine();
        Console.WriteLine("| model | dtype | threads | MambaGen prefill / decode tok/s | llama.cpp prefill / decode tok/s | MambaGen / llama.cpp prefill / decode | peak RSS MiB MambaGen / llama.cpp | load s MambaGen / llama.cpp | greedy tokens, MambaGen = llama.cpp | each engine's tokens = its f32 ones (MambaGen / llama.cpp) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var (model, dtype, threads, mg, ll) in rows)
        {
            double mp = Median(mg, "prefill_tok_s"), md = Median(mg, "decode_tok_s"), lp = Median(ll, "prefill_tok_s"), ld = Median(ll, "decode_tok_s");
            var mt = Tokens(mg[0]);
            var lt = Tokens(ll[0]);
            string agree = Agreement(mt, lt);
            var f32 = rows.FirstOrDefault(r => r.Model == model && r.Threads == threads && r.Dtype == "f32");
            string own = f32.Mg is null || dtype == "f32" ? "" : $"{Agreement(Tokens(f32.Mg[0]), mt)} / {Agreement(Tokens(f32.Ll[0]), lt)}";
            Console.WriteLine(string.Create(Inv,
                $"| {model} | {dtype} | {threads} | {mp:N0} / {md:N0} | {lp:N0} / {ld:N0} | {mp / lp:0.00} / {md / ld:0.00} | {Median(mg, "peak_rss_mib"):0} / {Median(ll, "peak_rss_mib"):0} | {Median(mg, "load_s"):0.00} / {Median(ll, "load_s"):0.00} | {agree} | {own} |"));
        }

        return 0;
    }

    private static double Median(List<JsonElement> runs, string key) => RunResult.Median(runs.Select(r => r.GetProperty(key).GetDouble()));

    private static int[] Tokens(JsonElement run) => run.GetProperty("tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();

    /// <summary>"all n" when both lists are equal, else how many leading tokens agree.</summary>
    private static string Agreement(int[] a, int[] b)
    {
        int same = a.Zip(b).TakeWhile(z => z.First == z.Second).Count();
        return same == a.Length && a.Length == b.Length ? $"all {same}" : $"first {same} of {a.Length}";
    }

    /// <summary>Runs this bench again as a child process (its own peak RSS) and returns its JSON line.</summary>
    private static string Child(string arguments)
    {
        var self = Environment.ProcessPath!;
        var dll = typeof(Program).Assembly.Location;
        var start = new ProcessStartInfo(self, Path.GetFileNameWithoutExtension(self) == "dotnet" ? $"{dll} {arguments}" : arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var errTask = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        string err = errTask.Result;
        if (process.ExitCode != 0) throw new InvalidOperationException($"child failed ({process.ExitCode}): {arguments}\n{err}\n{output}");
        return output.Split('\n').Last(l => l.StartsWith('{'));
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MambaGen.sln"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
