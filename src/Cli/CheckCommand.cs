using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using MambaGen.Checkpoints;
using MambaGen.Models;

namespace MambaGen.Cli;

/// <summary>
/// <c>mambagen check</c>: the model against reference outputs (expected.safetensors): full-forward logits, per-step
/// logits through the recurrent state, greedy tokens, and whether the reference agrees with itself.
/// </summary>
internal sealed class CheckCommand
{
    private readonly Option<string?> _model = CommonOptions.Model();
    private readonly Option<string?> _expected = CommonOptions.NotEmpty(new("--expected", "-e") { Description = "The reference file. Default: expected.safetensors in the model folder." }, "a reference file; leave --expected out to use the model folder's");
    private readonly Option<double> _tolerance = CliParsing.Double(new("--tolerance") { Description = "Largest absolute logit difference that passes.", DefaultValueFactory = _ => 1e-3 });
    private readonly Option<string> _device = CommonOptions.Device();
    private readonly TextWriter _out;

    public CheckCommand(TextWriter output)
    {
        _out = output;
        Command = new Command("check", "Compare the model's logits and greedy tokens with a reference (expected.safetensors); exit 1 on FAIL.")
        {
            _model, _expected, _tolerance, _device,
        };
        Command.SetAction(Execute);
    }

    public Command Command { get; }

    private int Execute(ParseResult parse)
    {
        double tolerance = parse.GetValue(_tolerance);
        if (!(tolerance >= 0)) throw new CliInputException($"--tolerance must be 0 or positive (got {tolerance.ToString(CultureInfo.InvariantCulture)}).");
        var device = DeviceSelection.Open(parse.GetValue(_device)!);
        var (checkpoint, isDefault) = LoadedModel.Open(parse.GetValue(_model));
        string expectedPath = parse.GetValue(_expected) is string e ? Path.GetFullPath(e) : Path.Combine(checkpoint.Folder, ExpectedOutputs.FileName);
        if (!File.Exists(expectedPath)) throw new CliInputException($"Reference file not found: {expectedPath} (pass one with --expected).");

        // References are fp32; the tolerance only means something in fp32.
        using var loaded = LoadedModel.Load(checkpoint, isDefault, device, TorchSharp.torch.ScalarType.Float32);
        using var expected = ExpectedOutputs.Load(expectedPath, checkpoint.VocabSize);
        var report = loaded.Check(expected, tolerance);
        var consistency = ReferenceCheck.ReferenceSelfConsistency(expected, tolerance);

        _out.WriteLine($"model:     {loaded.Description} ({checkpoint.ModelType}, {checkpoint.NumLayers} layers)");
        _out.WriteLine($"reference: {expectedPath} ({expected.InputIds.shape[0]} rows of {expected.InputIds.shape[1]} tokens; {expected.GenPrompt.shape[0]} prompts of {expected.GenPrompt.shape[1]} tokens + {expected.NewTokenCount} generated)");
        _out.WriteLine($"tolerance: {G(tolerance)}");
        _out.WriteLine($"full-forward logits       max |diff| {G(report.MaxLogitDiff),-12} {Verdict(report.LogitsPass)}");
        _out.WriteLine($"per-step logits (state)   max |diff| {G(report.MaxStepLogitDiff),-12} {Verdict(report.StepLogitsPass)}");
        _out.WriteLine($"greedy tokens             {report.TokenMismatches} of {report.TokensCompared} mismatched (batched, chunked prefill, one at a time)   {Verdict(report.TokensPass)}");
        _out.WriteLine(DescribeConsistency(consistency, expected, checkpoint.PadTokenId));
        _out.WriteLine($"overall: {Verdict(report.Pass)}");
        return report.Pass ? ExitCodes.Success : ExitCodes.CheckFailed;
    }

    private static string DescribeConsistency(ReferenceConsistencyReport consistency, ExpectedOutputs expected, int? padTokenId)
    {
        string what = $"gen_logits[:, 0] vs logits[:, {consistency.PromptLength - 1}]";
        if (!consistency.Applicable)
            return $"reference self-consistency: not checked (no row of input_ids starts with its gen_prompt)";
        string rows = string.Join(", ", consistency.ComparedRows.Select(r => $"row {r} {G(consistency.RowDiffs[r]!.Value)}"));
        if (consistency.Consistent)
            return $"reference self-consistency: {what} max |diff| {G(consistency.MaxDiff)} (rows compared: {consistency.ComparedRows.Count}), the reference agrees with itself";
        var prompts = expected.GenPrompt.data<long>().ToArray();
        int p = consistency.PromptLength;
        var causes = consistency.InconsistentRows.Select(r =>
        {
            var padAt = padTokenId is int pad ? Enumerable.Range(0, p).Where(k => prompts[r * p + k] == pad).ToArray() : Array.Empty<int>();
            return padAt.Length > 0
                ? $"row {r}'s prompt holds pad_token_id {padTokenId} at position(s) {string.Join(", ", padAt)}"
                : $"row {r}'s prompt holds no pad token";
        });
        return $"reference self-consistency: INCONSISTENT REFERENCE: {what} differs by more than {G(consistency.Tolerance)} in row(s) {string.Join(", ", consistency.InconsistentRows)} ({rows}). " +
               $"The reference's own generation did not see the prompt its full forward saw (e.g. transformers' generate() without an attention mask masks prompt tokens equal to pad_token_id: {string.Join("; ", causes)}), " +
               "so the per-step logits and greedy tokens of those rows are compared with a faulty reference; remake the reference with an all-ones attention mask.";
    }

    private static string Verdict(bool pass) => pass ? "PASS" : "FAIL";

    private static string G(double value) => value.ToString("0.###e+0", CultureInfo.InvariantCulture);
}
