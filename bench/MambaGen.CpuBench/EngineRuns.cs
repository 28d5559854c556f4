using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using LLama;
using LLama.Common;
using LLama.Native;
using MambaGen.Cache;
using MambaGen.Checkpoints;
using MambaGen.Generation;
using MambaGen.Models;
using static TorchSharp.torch;

namespace MambaGen.CpuBench;

/// <summary>What one engine measured: load, prefill of the prompt (its first token), then single-token decode steps.</summary>
public sealed record RunResult(double LoadSeconds, double PrefillSeconds, double DecodeSeconds, int PromptTokens, int DecodeTokens, IReadOnlyList<int> Tokens)
{
    public double PrefillTokensPerSecond => PromptTokens / PrefillSeconds;

    public double DecodeTokensPerSecond => DecodeTokens / DecodeSeconds;

    public static double Median(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }
}

/// <summary>
/// Runs MambaGen the way <c>mambagen generate</c> times it: a warm-up (up to 64 prompt tokens, two generated), then
/// one request whose first step (the prefill, sampling its first token) and each later step (one token) are timed;
/// with <c>reps</c> above 1 the request runs that many times (a fresh state each) and the median times are kept.
/// </summary>
public static class MambaGenRun
{
    public static RunResult Run(string folder, string dtype, int threads, int[] prompt, int decodeTokens, int reps = 1, double warmupSeconds = 0)
    {
        set_num_threads(threads);
        var scalar = dtype switch { "f32" => ScalarType.Float32, "bf16" => ScalarType.BFloat16, "f16" => ScalarType.Float16, _ => throw new ArgumentException(dtype) };
        var load = Stopwatch.StartNew();
        var checkpoint = HuggingFaceCheckpoint.Open(folder);
        using var model = MambaLanguageModel.Load(checkpoint, CPU, scalar, maxModelLen: prompt.Length + decodeTokens + 8);
        load.Stop();

        var warmWatch = Stopwatch.StartNew();
        int warmTokens = 2;
        do
        {
            using var warmCache = MambaStateCache.Allocate(model.Mixers, 1, model.Device);
            var warm = new GenerationEngine(model, warmCache);
            warm.AddRequest(prompt.Take(64).ToArray(), SamplingParams.Greedy(warmTokens), "warm-up");
            foreach (var _ in warm.Run()) { }
            warmTokens = WarmUp.DecodeTokens(decodeTokens);
        }
        while (warmWatch.Elapsed.TotalSeconds < warmupSeconds);

        var prefills = new List<double>();
        var decodes = new List<double>();
        List<int>? first = null;
        for (int rep = 0; rep < reps; rep++)
        {
            using var cache = MambaStateCache.Allocate(model.Mixers, 1, model.Device);
            var engine = new GenerationEngine(model, cache);
            engine.AddRequest(prompt, SamplingParams.Greedy(decodeTokens + 1), "0");
            var tokens = new List<int>();
            var watch = Stopwatch.StartNew();
            foreach (var o in engine.Step()) tokens.Add(o.Token);
            prefills.Add(watch.Elapsed.TotalSeconds);
            watch.Restart();
            while (engine.HasUnfinishedRequests)
                foreach (var o in engine.Step()) tokens.Add(o.Token);
            decodes.Add(watch.Elapsed.TotalSeconds);
            first ??= tokens;
            if (!first.SequenceEqual(tokens)) throw new InvalidOperationException("MambaGen's greedy tokens differ between repetitions.");
        }

        return new RunResult(load.Elapsed.TotalSeconds, RunResult.Median(prefills), RunResult.Median(decodes), prompt.Length, first!.Count - 1, first);
    }
}

/// <summary>
/// Runs llama.cpp through LLamaSharp on the same prompt ids: the prompt in one batch (one ubatch, logits of its last
/// token only), then one token a decode call, each token the argmax of the logits (greedy); a warm-up like MambaGen's.
/// </summary>
public static class LlamaCppRun
{
    private static bool _configured;

    /// <summary>Keeps llama.cpp's log off stdout (warnings and errors still go to stderr).</summary>
    public static void ConfigureNative()
    {
        if (_configured) return;
        _configured = true;
        NativeLibraryConfig.All.WithLogCallback((level, message) =>
        {
            if (level is LLamaLogLevel.Error or LLamaLogLevel.Warning) Console.Error.Write(message);
        });
    }

    public static RunResult Run(string ggufPath, int threads, int[] prompt, int decodeTokens, int reps = 1, double warmupSeconds = 0)
    {
        ConfigureNative();
        var load = Stopwatch.StartNew();
        var parameters = new ModelParams(ggufPath)
        {
            ContextSize = (uint)(prompt.Length + decodeTokens + 16),
            BatchSize = (uint)Math.Max(prompt.Length, 64),
            UBatchSize = (uint)Math.Max(prompt.Length, 64),
            SeqMax = 1,
            Threads = threads,
            BatchThreads = threads,
            GpuLayerCount = 0,
        };
        using var weights = LLamaWeights.LoadFromFile(parameters);
        using var context = weights.CreateContext(parameters);
        load.Stop();
        var handle = context.NativeHandle;
        var batch = new LLamaBatch();

        var warmWatch = Stopwatch.StartNew();
        int warmTokens = 1;
        do
        {
            Generate(handle, batch, prompt.Take(64).ToArray(), warmTokens, null);
            handle.MemoryClear();
            warmTokens = WarmUp.DecodeTokens(decodeTokens);
        }
        while (warmWatch.Elapsed.TotalSeconds < warmupSeconds);

        var prefills = new List<double>();
        var decodes = new List<double>();
        List<int>? first = null;
        for (int rep = 0; rep < reps; rep++)
        {
            var tokens = new List<int>();
            var times = new double[2];
            Generate(handle, batch, prompt, decodeTokens, (tokens, times));
            handle.MemoryClear();
            prefills.Add(times[0]);
            decodes.Add(times[1]);
            first ??= tokens;
            if (!first.SequenceEqual(tokens)) throw new InvalidOperationException("llama.cpp's greedy tokens differ between repetitions.");
        }

        return new RunResult(load.Elapsed.TotalSeconds, RunResult.Median(prefills), RunResult.Median(decodes), prompt.Length, first!.Count - 1, first);
    }

    private static void Generate(SafeLLamaContextHandle handle, LLamaBatch batch, int[] prompt, int decodeTokens, (List<int> Tokens, double[] Times)? record)
    {
        var watch = Stopwatch.StartNew();
        batch.Clear();
        for (int i = 0; i < prompt.Length; i++) batch.Add((LLamaToken)prompt[i], i, LLamaSeqId.Zero, i == prompt.Length - 1);
        Check(handle.Decode(batch));
        int token = ArgMax(handle.GetLogitsIth(batch.TokenCount - 1));
        record?.Tokens.Add(token);
        if (record is { } r1) r1.Times[0] = watch.Elapsed.TotalSeconds;
        watch.Restart();
        for (int step = 0; step < decodeTokens; step++)
        {
            batch.Clear();
            batch.Add((LLamaToken)token, prompt.Length + step, LLamaSeqId.Zero, true);
            Check(handle.Decode(batch));
            token = ArgMax(handle.GetLogitsIth(0));
            record?.Tokens.Add(token);
        }

        if (record is { } r2) r2.Times[1] = watch.Elapsed.TotalSeconds;
    }

    private static void Check(DecodeResult result)
    {
        if (result != DecodeResult.Ok) throw new InvalidOperationException($"llama_decode returned {result}.");
    }

    /// <summary>The first index of the largest logit (torch.argmax picks the first of ties too).</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }
}

/// <summary>
/// The warm-up both engines get before anything is timed: one short request (MambaGen generates two tokens, llama.cpp
/// one), then, while less than the warm-up time has passed, more requests of up to 64 decode steps. .NET compiles a
/// method unoptimised first and recompiles it optimised only after about 30 calls and a pause; a decode timed right
/// after a short warm-up ran largely unoptimised code (on the loaded machine of 2026-12-04, 550-780 against 3,400-3,750
/// tokens/s with DOTNET_TieredCompilation=0), which a long-running server never sees.
/// </summary>
public static class WarmUp
{
    public static int DecodeTokens(int decodeTokens) => Math.Max(1, Math.Min(64, decodeTokens));
}
