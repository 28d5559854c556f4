using System;
using System.IO;
using System.Linq;
using MambaGen.Checkpoints;
using MambaGen.Models;
using MambaGen.Testing;
using MambaGen.Tests.Checkpoints;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MambaGen.Tests.Models;

/// <summary>The runtime against HuggingFace transformers' outputs for the shared fixtures (an implementation we did not write).</summary>
public class HuggingFaceReferenceTests
{
    private readonly ITestOutputHelper _output;

    public HuggingFaceReferenceTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void Mamba1_fixture_matches_transformers_logits_steps_and_greedy_tokens()
    {
        var report = Check(CheckpointFixtures.Mamba1);
        Assert.True(report.Pass, report.ToString());
    }

    [Fact]
    public void Mamba2_fixture_matches_transformers_logits_steps_and_greedy_tokens()
    {
        // tests/fixtures holds the references remade with an all-ones attention mask (see tests/fixtures/README.md).
        var report = Check(CheckpointFixtures.Mamba2);
        Assert.True(report.Pass, report.ToString());
    }

    [Fact]
    public void Shared_mamba2_references_are_flagged_inconsistent_on_the_row_whose_prompt_holds_the_pad_token()
    {
        using var shared = ExpectedOutputs.Load(Path.Combine(CheckpointFixtures.Mamba2, "expected.as-shared.safetensors"), 61);
        using var remade = ExpectedOutputs.Load(CheckpointFixtures.Mamba2, 61);
        var flagged = ReferenceCheck.ReferenceSelfConsistency(shared);
        Assert.Equal(new[] { 0 }, flagged.InconsistentRows);
        Assert.True(flagged.MaxDiff > 1.0, flagged.ToString());
        Assert.True(ReferenceCheck.ReferenceSelfConsistency(remade).Consistent);
    }

    [Fact]
    public void Default_model_matches_transformers_logits_steps_and_greedy_tokens()
    {
        var report = Check(RepoPaths.Combine("models", "default"));
        Assert.True(report.Pass, report.ToString());
    }

    private ReferenceCheckReport Check(string folder, string? expectedFile = null)
    {
        var checkpoint = HuggingFaceCheckpoint.Open(folder);
        using var model = MambaLanguageModel.Load(checkpoint, CPU);
        using var expected = ExpectedOutputs.Load(expectedFile ?? folder, checkpoint.Config.VocabSize);
        var report = ReferenceCheck.Run(model, expected);
        _output.WriteLine(report.ToString());
        return report;
    }
}
