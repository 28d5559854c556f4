using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using MambaGen.Generation;

namespace MambaGen.Cli;

/// <summary>
/// Wall time of a generation run, split at the moment every request has its first token: before it the engine
/// prefills the prompts (their first token comes from the prefill's logits), after it it decodes one token a step.
/// </summary>
internal sealed class GenerationStats
{
    private readonly int _requests;
    private readonly HashSet<string> _started = new(StringComparer.Ordinal);
    private readonly Dictionary<FinishReason, int> _finishes = new();
    private TimeSpan _prefill;
    private TimeSpan _decode;

    public GenerationStats(int requests, int promptTokens)
    {
        _requests = requests;
        PromptTokens = promptTokens;
    }

    public int PromptTokens { get; }

    public int GeneratedTokens { get; private set; }

    public TimeSpan Elapsed => _prefill + _decode;

    /// <summary>Runs one engine step, timing it, and counts its tokens.</summary>
    public IReadOnlyList<RequestOutput> TimeStep(GenerationEngine engine)
    {
        bool prefilling = _started.Count < _requests;
        var watch = Stopwatch.StartNew();
        var outputs = engine.Step();
        watch.Stop();
        if (prefilling) _prefill += watch.Elapsed;
        else _decode += watch.Elapsed;
        foreach (var o in outputs)
        {
            GeneratedTokens++;
            _started.Add(o.RequestId);
        }

        return outputs;
    }

    public void Finished(RequestOutput output)
    {
        if (output.Finish is FinishReason reason) _finishes[reason] = _finishes.GetValueOrDefault(reason) + 1;
    }

    /// <summary>Two lines: token counts and finish reasons; prefill and decode throughput.</summary>
    public string Describe()
    {
        int decodeTokens = GeneratedTokens - _started.Count;
        string finishes = string.Join(", ", _finishes.Select(f => $"{f.Value} {(f.Key == FinishReason.Stop ? "at eos" : "at --max-tokens")}"));
        return string.Create(CultureInfo.InvariantCulture,
            $"{_requests} prompt(s), {PromptTokens} prompt tokens, {GeneratedTokens} generated tokens; finished: {finishes}{Environment.NewLine}" +
            $"prefill: {PromptTokens} tokens in {Ms(_prefill)} ({Rate(PromptTokens, _prefill)}), decode: {decodeTokens} tokens in {Ms(_decode)} ({Rate(decodeTokens, _decode)}), " +
            $"overall: {GeneratedTokens} generated tokens in {Ms(Elapsed)} ({Rate(GeneratedTokens, Elapsed)})");
    }

    private static string Ms(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{t.TotalMilliseconds:0.0} ms");

    private static string Rate(int tokens, TimeSpan t) =>
        t.TotalSeconds > 0 && tokens > 0 ? string.Create(CultureInfo.InvariantCulture, $"{tokens / t.TotalSeconds:0.0} tokens/s") : "n/a tokens/s";
}
