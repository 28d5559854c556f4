using System;
using System.Globalization;
using System.Text;
using System.Threading;
using MambaGen.Generation;
using MambaGen.Serving;

namespace MambaGen.Server;

/// <summary>
/// What GET /metrics reports, in Prometheus' text format under vLLM's metric names and <c>model_name</c> label, so
/// dashboards and alerts built for vLLM read it: request gauges and cache usage from the engine's last snapshot,
/// token and request counters, and latency histograms with vLLM's bucket bounds, measured on the server side of
/// each request (from its arrival).
/// </summary>
public sealed class ServerMetrics
{
    // vLLM's bucket bounds (vllm/v1/metrics/loggers.py).
    private static readonly double[] TtftBuckets = { 0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0 };
    private static readonly double[] ItlBuckets = { 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0 };
    private static readonly double[] E2eBuckets = { 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0 };

    private readonly EngineService _engine;
    private readonly string _label;
    private long _promptTokens;
    private long _generationTokens;
    private long _finishedStop;
    private long _finishedLength;
    private long _finishedAbort;

    public ServerMetrics(EngineService engine, string modelName)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _label = "model_name=\"" + Escape(modelName) + "\"";
    }

    public Histogram TimeToFirstToken { get; } = new(TtftBuckets);

    public Histogram InterTokenLatency { get; } = new(ItlBuckets);

    public Histogram EndToEndLatency { get; } = new(E2eBuckets);

    public long PromptTokens => Interlocked.Read(ref _promptTokens);

    public long GenerationTokens => Interlocked.Read(ref _generationTokens);

    internal void AddPromptTokens(int count) => Interlocked.Add(ref _promptTokens, count);

    internal void AddGenerationTokens(int count) => Interlocked.Add(ref _generationTokens, count);

    /// <summary>A request ended: <paramref name="finish"/> null is an abort (client gone, or failed).</summary>
    internal void Finished(FinishReason? finish, double e2eSeconds)
    {
        switch (finish)
        {
            case FinishReason.Stop: Interlocked.Increment(ref _finishedStop); break;
            case FinishReason.Length: Interlocked.Increment(ref _finishedLength); break;
            default: Interlocked.Increment(ref _finishedAbort); break;
        }

        EndToEndLatency.Observe(e2eSeconds);
    }

    /// <summary>The exposition, Prometheus text format 0.0.4.</summary>
    public string Render()
    {
        var stats = _engine.Stats;
        var text = new StringBuilder(8192);
        Gauge(text, "vllm:num_requests_running", "Number of requests in model execution batches (holding a state block).", stats.Running);
        Gauge(text, "vllm:num_requests_waiting", "Number of requests waiting for a state block.", stats.Waiting);
        Gauge(text, "vllm:kv_cache_usage_perc", "Fraction of the cache's blocks in use (1 = 100%); a Mamba model's state cache holds one block of SSM and conv states per running request, a hybrid's page pool mamba states and attention K/V pages.",
            stats.NumBlocks == 0 ? 0 : (double)(stats.NumBlocks - stats.FreeBlocks) / stats.NumBlocks);
        Counter(text, "vllm:prompt_tokens_total", "Number of prefill tokens processed.", PromptTokens);
        Counter(text, "vllm:generation_tokens_total", "Number of generation tokens processed.", GenerationTokens);
        text.Append("# HELP vllm:request_success_total Count of finished requests by finish reason (abort: the client left or the request failed).\n");
        text.Append("# TYPE vllm:request_success_total counter\n");
        foreach (var (reason, count) in new[] { ("stop", Interlocked.Read(ref _finishedStop)), ("length", Interlocked.Read(ref _finishedLength)), ("abort", Interlocked.Read(ref _finishedAbort)) })
        {
            text.Append("vllm:request_success_total{finished_reason=\"").Append(reason).Append("\",").Append(_label).Append("} ")
                .Append(Number(count)).Append('\n');
        }

        HistogramText(text, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", TimeToFirstToken);
        HistogramText(text, "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", InterTokenLatency);
        HistogramText(text, "vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.", EndToEndLatency);
        return text.ToString();
    }

    private void Gauge(StringBuilder text, string name, string help, double value) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(" gauge\n")
            .Append(name).Append('{').Append(_label).Append("} ").Append(Number(value)).Append('\n');

    private void Counter(StringBuilder text, string name, string help, double value) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(" counter\n")
            .Append(name).Append('{').Append(_label).Append("} ").Append(Number(value)).Append('\n');

    private void HistogramText(StringBuilder text, string name, string help, Histogram histogram)
    {
        var (counts, sum) = histogram.Snapshot();
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n').Append("# TYPE ").Append(name).Append(" histogram\n");
        long cumulative = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            cumulative += counts[i];
            string le = i < histogram.Bounds.Count ? Number(histogram.Bounds[i]) : "+Inf";
            text.Append(name).Append("_bucket{le=\"").Append(le).Append("\",").Append(_label).Append("} ").Append(Number(cumulative)).Append('\n');
        }

        text.Append(name).Append("_count{").Append(_label).Append("} ").Append(Number(cumulative)).Append('\n');
        text.Append(name).Append("_sum{").Append(_label).Append("} ").Append(Number(sum)).Append('\n');
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A label value as the text format wants it: backslash, double quote and newline escaped.</summary>
    private static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    /// <summary>A fixed-bucket histogram, safe to observe from any thread.</summary>
    public sealed class Histogram
    {
        private readonly double[] _bounds;
        private readonly long[] _counts;
        private readonly object _gate = new();
        private double _sum;

        public Histogram(double[] bounds)
        {
            _bounds = bounds;
            _counts = new long[bounds.Length + 1];
        }

        public System.Collections.Generic.IReadOnlyList<double> Bounds => _bounds;

        public void Observe(double value, int times = 1)
        {
            int bucket = Array.BinarySearch(_bounds, value);
            if (bucket < 0) bucket = ~bucket; // the first bound at or above the value; past the end: +Inf
            lock (_gate)
            {
                _counts[bucket] += times;
                _sum += value * times;
            }
        }

        /// <summary>Counts per bucket (not cumulative; the last is above every bound) and the sum.</summary>
        public (long[] Counts, double Sum) Snapshot()
        {
            lock (_gate) return ((long[])_counts.Clone(), _sum);
        }
    }
}
