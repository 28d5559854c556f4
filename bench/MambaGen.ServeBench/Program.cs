using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using MambaGen.Cli;

namespace MambaGen.ServeBench;

/// <summary>
/// <c>[--clients 64] [--rounds 5] [--max-tokens 64] [--abort-every 8] [--max-concurrent 64] [--model DIR]</c>: starts
/// <c>mambagen serve</c> as a child process on a free loopback port, runs every prompt alone once (the reference),
/// then <c>--rounds</c> rounds of <c>--clients</c> concurrent streaming greedy requests, every <c>--abort-every</c>-th
/// of which hangs up after its third chunk. Exit code 1 when an output differs from its reference, a block stays
/// taken or the server's memory grows over the rounds.<br/>
/// <c>serve ...</c>: the child: mambagen serve with these arguments.
/// </summary>
public static class Program
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static readonly string[] Starts =
    {
        "Gets the number of", "Returns a value that indicates whether", "Initializes a new instance of the", "Represents a",
        "Determines whether the specified", "Copies the elements of", "Gets or sets the", "Releases all resources used by",
    };

    private static readonly string[] Subjects =
    {
        "elements in the collection", "the current instance", "a sequence of bytes", "the specified object",
        "the DateTime structure", "a Unicode string", "the stream", "the thread pool",
    };

    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "serve") return CliApp.Run(args, Console.Out, Console.Error);
        var options = Options(args);
        return RunAsync(options).GetAwaiter().GetResult();
    }

    private static Dictionary<string, string> Options(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["clients"] = "64", ["rounds"] = "5", ["max-tokens"] = "64", ["abort-every"] = "8", ["max-concurrent"] = "64",
        };
        for (int i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length) throw new ArgumentException($"Expected --name value pairs, got '{args[i]}'.");
            options[args[i][2..]] = args[i + 1];
        }

        return options;
    }

    private static async Task<int> RunAsync(Dictionary<string, string> options)
    {
        int clients = int.Parse(options["clients"], Inv), rounds = int.Parse(options["rounds"], Inv), maxTokens = int.Parse(options["max-tokens"], Inv);
        int abortEvery = int.Parse(options["abort-every"], Inv);
        var prompts = Enumerable.Range(0, clients).Select(i => $"{Starts[i % Starts.Length]} {Subjects[(i / Starts.Length) % Subjects.Length]}").ToArray();

        using var server = StartServer(options);
        var url = await server.Address.ConfigureAwait(false);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients * 2, MaxResponseDrainSize = 0 }) { BaseAddress = url, Timeout = TimeSpan.FromMinutes(10) };
        Console.WriteLine($"server: {url} (pid {server.Process.Id}), {clients} clients x {rounds} rounds, max_tokens {maxTokens}, every {abortEvery}th client hangs up after 3 chunks");

        var reference = new Result[clients];
        var alone = Stopwatch.StartNew();
        for (int i = 0; i < clients; i++) reference[i] = await StreamAsync(http, prompts[i], maxTokens, hangUpAfter: null).ConfigureAwait(false);
        Console.WriteLine($"reference: {clients} requests one at a time in {alone.Elapsed.TotalSeconds.ToString("0.00", Inv)} s ({(clients / alone.Elapsed.TotalSeconds).ToString("0.0", Inv)} requests/s)");

        bool ok = true;
        var ttft = new List<double>();
        var itl = new List<double>();
        var rssPerRound = new List<long>();
        var roundRates = new List<double>();
        double completedTotal = 0, secondsTotal = 0;
        for (int round = 1; round <= rounds; round++)
        {
            var watch = Stopwatch.StartNew();
            var tasks = Enumerable.Range(0, clients)
                .Select(i => Task.Run(() => StreamAsync(http, prompts[i], maxTokens, abortEvery > 0 && i % abortEvery == abortEvery - 1 ? 3 : null)))
                .ToArray();
            var results = await Task.WhenAll(tasks).ConfigureAwait(false);
            double seconds = watch.Elapsed.TotalSeconds;
            int mismatches = 0, completed = 0;
            for (int i = 0; i < clients; i++)
            {
                var r = results[i];
                ttft.Add(r.Ttft);
                itl.AddRange(r.Gaps);
                if (r.HungUp)
                {
                    // What it saw before hanging up is the start of the reference.
                    if (!reference[i].Text.StartsWith(r.Text, StringComparison.Ordinal)) mismatches++;
                    continue;
                }

                completed++;
                if (r.Text != reference[i].Text || r.CompletionTokens != reference[i].CompletionTokens)
                {
                    mismatches++;
                    if (mismatches <= 3) Console.WriteLine($"  mismatch, prompt {i}: alone {Quote(reference[i].Text)} ({reference[i].CompletionTokens} tokens), concurrent {Quote(r.Text)} ({r.CompletionTokens} tokens)");
                }
            }

            var metrics = await WaitIdleAsync(http).ConfigureAwait(false);
            long rss = server.RssBytes();
            rssPerRound.Add(rss);
            completedTotal += completed;
            roundRates.Add(completed / seconds);
            secondsTotal += seconds;
            bool idle = metrics.Running == 0 && metrics.CacheUsage == 0;
            ok &= mismatches == 0 && idle;
            Console.WriteLine($"round {round}: {completed} completed + {clients - completed} hung up in {seconds.ToString("0.00", Inv)} s = {(completed / seconds).ToString("0.0", Inv)} requests/s; " +
                $"mismatches {mismatches}; after: running {metrics.Running}, cache usage {metrics.CacheUsage.ToString("0.###", Inv)}, aborts counted {metrics.Aborts}; server RSS {rss / (1024 * 1024)} MiB");
        }

        // Flat: RSS swings round to round (the GC's budgets, the native allocator's arenas), so a leak is judged on the
        // trend: the median of the later half of the rounds after the first (warm-up) is at most 5% above the earlier half's.
        var steady = rssPerRound.Skip(1).ToList();
        long earlier = Median(steady.Take(steady.Count / 2).ToList()), later = Median(steady.Skip(steady.Count / 2).ToList());
        bool flat = steady.Count < 2 || later <= earlier * 1.05;
        ok &= flat;
        Console.WriteLine($"memory: RSS per round {string.Join(", ", rssPerRound.Select(r => (r / (1024 * 1024)).ToString(Inv)))} MiB; " +
            $"median of rounds 2-{1 + steady.Count / 2}: {earlier / (1024 * 1024)} MiB, of the rest: {later / (1024 * 1024)} MiB: {(flat ? "flat" : "GROWING")}");
        var rates = roundRates.OrderBy(r => r).ToArray();
        Console.WriteLine($"throughput: {(completedTotal / secondsTotal).ToString("0.0", Inv)} completed requests/s over {rounds} rounds; per round: median {rates[rates.Length / 2].ToString("0.0", Inv)}, min {rates[0].ToString("0.0", Inv)}, max {rates[^1].ToString("0.0", Inv)}");
        Console.WriteLine($"TTFT (client side, ms): {Percentiles(ttft)}");
        Console.WriteLine($"inter-token latency (client side, between streamed chunks, ms): {Percentiles(itl)}");
        Console.WriteLine(ok ? "PASS: every output equals its request run alone; blocks freed after every round; memory flat" : "FAIL (see above)");
        return ok ? 0 : 1;
    }

    private static long Median(List<long> values) => values.Count == 0 ? 0 : values.OrderBy(v => v).ElementAt(values.Count / 2);

    private static string Quote(string s) => JsonSerializer.Serialize(s.Length > 60 ? s[..60] + "..." : s);

    private static string Percentiles(List<double> seconds)
    {
        if (seconds.Count == 0) return "none";
        var sorted = seconds.OrderBy(x => x).ToArray();
        string P(double p) => (sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)] * 1000).ToString("0.0", Inv);
        return $"p50 {P(0.50)}, p90 {P(0.90)}, p99 {P(0.99)}, max {P(1.0)} (n = {sorted.Length})";
    }

    private sealed record Result(string Text, int CompletionTokens, double Ttft, List<double> Gaps, bool HungUp);

    /// <summary>One streaming greedy completion; with <paramref name="hangUpAfter"/>, the connection is dropped after that many chunks.</summary>
    private static async Task<Result> StreamAsync(HttpClient http, string prompt, int maxTokens, int? hangUpAfter)
    {
        string body = JsonSerializer.Serialize(new { prompt, max_tokens = maxTokens, temperature = 0, stream = true, stream_options = new { include_usage = true } });
        var watch = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync().ConfigureAwait(false)}");
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync().ConfigureAwait(false));
        var text = new StringBuilder();
        var gaps = new List<double>();
        double ttft = 0, last = 0;
        int chunks = 0, completionTokens = -1;
        while (await reader.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
            string data = line[6..];
            if (data == "[DONE]") break;
            using var json = JsonDocument.Parse(data);
            var root = json.RootElement;
            if (root.TryGetProperty("error", out var error)) throw new InvalidOperationException(error.GetRawText());
            if (root.GetProperty("usage").ValueKind == JsonValueKind.Object) completionTokens = root.GetProperty("usage").GetProperty("completion_tokens").GetInt32();
            var choices = root.GetProperty("choices");
            if (choices.GetArrayLength() == 0) continue;
            double now = watch.Elapsed.TotalSeconds;
            if (chunks == 0) ttft = now;
            else gaps.Add(now - last);
            last = now;
            chunks++;
            text.Append(choices[0].GetProperty("text").GetString());
            if (hangUpAfter is int n && chunks >= n) return new Result(text.ToString(), -1, ttft, gaps, HungUp: true);
        }

        return new Result(text.ToString(), completionTokens, ttft, gaps, HungUp: false);
    }

    private sealed record Snapshot(double Running, double CacheUsage, double Aborts);

    /// <summary>/metrics once the server has caught up with the round's hang-ups (at most 10 s).</summary>
    private static async Task<Snapshot> WaitIdleAsync(HttpClient http)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            string text = await http.GetStringAsync("metrics").ConfigureAwait(false);
            double Value(string series) => double.Parse(Regex.Match(text, "^" + Regex.Escape(series) + "[^ ]* (\\S+)$", RegexOptions.Multiline).Groups[1].Value, Inv);
            var snapshot = new Snapshot(Value("vllm:num_requests_running{"), Value("vllm:kv_cache_usage_perc{"), Value("vllm:request_success_total{finished_reason=\"abort\""));
            if ((snapshot.Running == 0 && snapshot.CacheUsage == 0) || DateTime.UtcNow > deadline) return snapshot;
            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    private static ServerProcess StartServer(Dictionary<string, string> options)
    {
        var arguments = new List<string> { typeof(Program).Assembly.Location, "serve", "--port", "0", "--max-concurrent", options["max-concurrent"], "--max-queue", options["clients"] };
        if (options.TryGetValue("model", out var model)) arguments.AddRange(new[] { "--model", model });
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("exec");
        foreach (var a in arguments) start.ArgumentList.Add(a);
        return new ServerProcess(Process.Start(start)!);
    }

    /// <summary>The server child: its address (read from its "serving ... at URL" line) and its resident memory.</summary>
    private sealed class ServerProcess : IDisposable
    {
        private readonly TaskCompletionSource<Uri> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ServerProcess(Process process)
        {
            Process = process;
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    _address.TrySetException(new InvalidOperationException("The server exited before it listened."));
                    return;
                }

                var match = Regex.Match(e.Data, "at (http://\\S+/) ");
                if (match.Success) _address.TrySetResult(new Uri(match.Groups[1].Value));
                else if (e.Data.StartsWith("error", StringComparison.Ordinal)) Console.Error.WriteLine("server: " + e.Data);
            };
            process.OutputDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            process.BeginOutputReadLine();
        }

        public Process Process { get; }

        public Task<Uri> Address => _address.Task;

        public long RssBytes()
        {
            foreach (var line in File.ReadLines($"/proc/{Process.Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], Inv) * 1024;
            }

            return 0;
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill();
                Process.WaitForExit();
            }

            Process.Dispose();
        }
    }
}
