using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using MambaGen.Generation;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Bench;

/// <summary>
/// Whole-model throughput as the peers' benches measure it (`shared/peers/README.md`), one JSON line per figure:
/// prefill_forward (one step of B x L prompt tokens from fresh state blocks, writing the states, logits of each last
/// token) and decode_engine (the engine's greedy decode steps after a 16-token prompt, prefill excluded). Also a
/// correctness check: greedy tokens of the peers' prompts against transformers' references. Hybrid models too
/// (<see cref="BenchModel"/>: a hybrid config.json alone runs with seeded random weights).
/// </summary>
internal static class ModelBench
{
    public static void Run(string modelDir, Device device, ScalarType dtype, string prefill, string batches, int tokens, int prompt, int reps, TextWriter output)
    {
        using var model = BenchModel.Load(modelDir, device, dtype);
        string name = Path.GetFileName(Path.GetFullPath(modelDir).TrimEnd('/'));
        string dtypeName = dtype == ScalarType.BFloat16 ? "bf16" : dtype == ScalarType.Float16 ? "fp16" : "fp32";
        Console.Error.WriteLine($"{name} on {device}: {model.ExecutionPath}");
        var random = new Random(1234);

        foreach (var spec in prefill.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = spec.Split('x');
            int b = int.Parse(parts[0], CultureInfo.InvariantCulture), l = int.Parse(parts[1], CultureInfo.InvariantCulture);
            using var cache = model.Cache(b, l);
            var ids = Enumerable.Range(0, b * l).Select(_ => (long)random.Next(3, model.VocabSize)).ToArray();
            var step = cache.Step(Enumerable.Repeat((0, l), b).ToArray());
            double Once() => Timed(device, () => model.Model.Forward(torch.tensor(ids), step));

            double first = Once();
            Once();
            var times = Enumerable.Range(0, first < 1.0 ? Math.Max(reps, 5) : reps).Select(_ => Once()).ToArray();
            Emit(output, name, "prefill_forward", b, l, dtypeName, b * l / Median(times), times,
                $"model.Forward of {b} prefills x {l} tokens from fresh blocks (states written, last-token logits); first run {first:F3} s; {model.ExecutionPath}");
        }

        foreach (int b in batches.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)))
        {
            using var cache = model.Cache(b, prompt + Math.Max(tokens, 8) + 1);
            var prompts = Enumerable.Range(0, b).Select(_ => Enumerable.Range(0, prompt).Select(_ => random.Next(3, model.VocabSize)).ToArray()).ToArray();
            double Once(int decodeSteps)
            {
                var engine = cache.Engine(new SchedulerOptions(MaxNumBatchedTokens: Math.Max(2048, b * prompt), MaxNumSeqs: b));
                foreach (var p in prompts)
                {
                    engine.AddRequest(p, SamplingParams.Greedy(decodeSteps + 1));
                }

                var first = engine.Step();  // every prompt's prefill and first token: not timed
                if (first.Count != b)
                {
                    throw new InvalidOperationException($"The first step gave {first.Count} tokens for {b} requests.");
                }

                Sync(device);
                var watch = Stopwatch.StartNew();
                int produced = 0;
                while (engine.HasUnfinishedRequests)
                {
                    produced += engine.Step().Count;
                }

                Sync(device);
                if (produced != b * decodeSteps)
                {
                    throw new InvalidOperationException($"Decode produced {produced} tokens, expected {b * decodeSteps}.");
                }

                return watch.Elapsed.TotalSeconds;
            }

            Once(tokens);  // warm-up: kernels loaded, the decode graphs of every bucket the timed runs reach captured
            var times = Enumerable.Range(0, reps).Select(_ => Once(tokens)).ToArray();
            double engineStep = Median(times) / tokens;
            Emit(output, name, "decode_engine", b, prompt, dtypeName, b * tokens / Median(times), times,
                $"GenerationEngine.Step x {tokens} greedy decode steps after a {prompt}-token prompt (prefill excluded); {model.ExecutionPath}");

            // Where a step's time goes: the model's forward alone (graph replay, or eager kernels) with a device sync,
            // against the whole engine step (scheduling, metadata, sampling, the token ids back to the host).
            var decodeStep = cache.Step(Enumerable.Repeat((prompt, 1), b).ToArray());
            var decodeIds = Enumerable.Range(0, b).Select(_ => (long)random.Next(3, model.VocabSize)).ToArray();
            double Forward() => Timed(device, () => model.Model.Forward(torch.tensor(decodeIds), decodeStep));

            Forward();
            var forwards = Enumerable.Range(0, 50).Select(_ => Forward()).ToArray();
            double modelStep = Median(forwards);
            output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["system"] = "mambagen", ["model"] = name, ["what"] = "decode_breakdown", ["batch"] = b, ["dtype"] = dtypeName,
                ["engine_step_us"] = engineStep * 1e6, ["model_forward_us"] = modelStep * 1e6, ["host_outside_model_us"] = (engineStep - modelStep) * 1e6,
                ["note"] = "median of 50 model.Forward calls of one pure-decode step with a device sync, against the engine's step",
            }));
        }
    }

    /// <summary>Greedy tokens of each prompt in <paramref name="promptsFile"/> against a reference file of the same shape.</summary>
    public static bool Correct(string modelDir, Device device, ScalarType dtype, string promptsFile, string referenceFile, int newTokens, TextWriter output)
    {
        using var model = BenchModel.Load(modelDir, device, dtype);
        var prompts = File.ReadAllLines(promptsFile).Where(l => l.Trim().Length > 0)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToArray()).ToArray();
        var expected = File.ReadAllLines(referenceFile).Where(l => l.Trim().Length > 0).ToArray();
        using var cache = model.Cache(prompts.Length, prompts.Max(p => p.Length) + newTokens);
        var engine = cache.Engine(new SchedulerOptions(MaxNumSeqs: prompts.Length));
        var ids = prompts.Select(p => engine.AddRequest(p, SamplingParams.Greedy(newTokens))).ToArray();
        var got = ids.ToDictionary(i => i, _ => new List<int>());
        foreach (var o in engine.Run())
        {
            got[o.RequestId].Add(o.Token);
        }

        int differ = 0;
        for (int i = 0; i < prompts.Length; i++)
        {
            var line = string.Join(' ', got[ids[i]]);
            if (i >= expected.Length || line != expected[i].Trim())
            {
                differ++;
                Console.Error.WriteLine($"prompt {i}: mambagen {line}\n          reference {(i < expected.Length ? expected[i] : "(missing)")}");
            }
        }

        output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["system"] = "mambagen", ["model"] = Path.GetFileName(Path.GetFullPath(modelDir).TrimEnd('/')), ["what"] = "greedy_tokens",
            ["reference"] = referenceFile, ["prompts"] = prompts.Length, ["new_tokens"] = newTokens, ["rows_differing"] = differ,
            ["pass"] = differ == 0, ["path"] = model.ExecutionPath,
        }));
        return differ == 0;
    }

    /// <summary>Seconds of one forward, the device synchronised before and after, its tensors freed after the clock stops.</summary>
    private static double Timed(Device device, Func<Tensor> forward)
    {
        Sync(device);
        var watch = Stopwatch.StartNew();
        using var scope = torch.NewDisposeScope();
        forward();
        Sync(device);
        return watch.Elapsed.TotalSeconds;
    }

    private static void Sync(Device device)
    {
        if (device.type == DeviceType.CUDA)
        {
            torch.cuda.synchronize(device);
        }
    }

    private static double Median(double[] values)
    {
        var s = values.OrderBy(v => v).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    private static void Emit(TextWriter output, string model, string what, int batch, int prompt, string dtype, double tokS, double[] times, string note) =>
        output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["system"] = "mambagen", ["model"] = model, ["what"] = what, ["batch"] = batch, ["prompt"] = prompt, ["dtype"] = dtype,
            ["tok_s_median"] = tokS, ["median_s"] = Median(times), ["runs_s"] = times, ["note"] = note,
        }));
}
