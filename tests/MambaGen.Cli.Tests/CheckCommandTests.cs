using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using MambaGen.Tests.Checkpoints;

namespace MambaGen.Cli.Tests;

public class CheckCommandTests
{
    [Fact]
    public void Check_passes_on_mamba1_fixture_with_exit_code_0()
    {
        var run = CliRun.Of("check", "--model", CliFixtures.Mamba1);

        Assert.True(run.ExitCode == ExitCodes.Success, run.ToString());
        Assert.Matches(@"full-forward logits\s+max \|diff\| \S+\s+PASS", run.Out);
        Assert.Matches(@"per-step logits \(state\)\s+max \|diff\| \S+\s+PASS", run.Out);
        Assert.Matches(@"greedy tokens\s+0 of \d+ mismatched.*PASS", run.Out);
        Assert.Contains("the reference agrees with itself", run.Out);
        Assert.Contains("overall: PASS", run.Out);
    }

    [Fact]
    public void Check_fails_with_exit_code_1_when_the_reference_logits_are_altered()
    {
        using var scratch = ScratchFolder.CopyOf(CliFixtures.Mamba1);
        string altered = scratch.File("altered.safetensors");
        // One full-forward logit off by 0.01, ten times the tolerance.
        WriteWithChange(Path.Combine(CliFixtures.Mamba1, "expected.safetensors"), altered, "logits", index: 5, delta: 0.01f);

        var run = CliRun.Of("check", "--model", scratch.Path, "--expected", altered);

        Assert.True(run.ExitCode == ExitCodes.CheckFailed, run.ToString());
        Assert.InRange(Diff(run.Out, "full-forward logits", "FAIL"), 0.0099, 0.0101);
        Assert.Matches(@"per-step logits \(state\)\s+max \|diff\| \S+\s+PASS", run.Out);
        Assert.Contains("overall: FAIL", run.Out);
    }

    [Fact]
    public void Check_names_the_rows_where_the_reference_disagrees_with_itself()
    {
        using var scratch = ScratchFolder.CopyOf(CliFixtures.Mamba1);
        // gen_logits [3, 10, 61]: row 1's first generation logits no longer equal logits[1, P - 1].
        WriteWithChange(Path.Combine(CliFixtures.Mamba1, "expected.safetensors"), scratch.File("expected.safetensors"), "gen_logits", index: 10 * 61 + 3, delta: 0.5f);

        var run = CliRun.Of("check", "--model", scratch.Path);

        Assert.True(run.ExitCode == ExitCodes.CheckFailed, run.ToString());
        Assert.Contains("INCONSISTENT REFERENCE", run.Out);
        Assert.Contains("in row(s) 1 (", run.Out);
        Assert.InRange(Diff(run.Out, @"per-step logits \(state\)", "FAIL"), 0.499, 0.501);
    }

    [Fact]
    public void Check_with_a_missing_reference_file_exits_2_naming_it()
    {
        using var scratch = new ScratchFolder();
        string missing = scratch.File("nothing.safetensors");

        var run = CliRun.Of("check", "--model", CliFixtures.Mamba1, "--expected", missing);

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains(missing, run.Err);
    }

    [Fact]
    public void Check_on_a_checkpoint_missing_a_weight_exits_2_naming_file_and_tensor_without_a_stack_trace()
    {
        using var scratch = ScratchFolder.CopyOf(CliFixtures.Mamba1);
        string weights = scratch.File("model.safetensors");
        var tensors = SafetensorsTestWriter.ReadAll(weights);
        SafetensorsTestWriter.Write(weights, tensors.Where(t => t.Name != "backbone.layers.1.mixer.A_log"));

        var run = CliRun.Of("check", "--model", scratch.Path);

        Assert.True(run.ExitCode == ExitCodes.BadInput, run.ToString());
        Assert.Contains("backbone.layers.1.mixer.A_log", run.Err);
        Assert.Contains(weights, run.Err);
        Assert.DoesNotContain("   at ", run.Err);
    }

    /// <summary>The max |diff| a result line reports, after checking its verdict.</summary>
    private static double Diff(string output, string linePattern, string verdict)
    {
        var match = Regex.Match(output, linePattern + @"\s+max \|diff\| (\S+)\s+" + verdict);
        Assert.True(match.Success, $"No '{linePattern} ... {verdict}' line in:\n{output}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>Copies a safetensors file, adding <paramref name="delta"/> to one float32 element of one tensor.</summary>
    private static void WriteWithChange(string source, string target, string tensor, int index, float delta)
    {
        var tensors = SafetensorsTestWriter.ReadAll(source);
        var raw = tensors.Single(t => t.Name == tensor);
        float value = BitConverter.ToSingle(raw.Data, index * 4);
        BitConverter.GetBytes(value + delta).CopyTo(raw.Data, index * 4);
        SafetensorsTestWriter.Write(target, tensors);
    }
}
