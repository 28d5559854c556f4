using MambaGen.Checkpoints;
using MambaGen.Models;
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
        var report = Check(CheckpointFixtures.Mamba2);
        Assert.True(report.Pass, report.ToString());
    }

    private ReferenceCheckReport Check(string folder)
    {
        var checkpoint = HuggingFaceCheckpoint.Open(folder);
        using var model = MambaLanguageModel.Load(checkpoint, CPU);
        using var expected = ExpectedOutputs.Load(folder, checkpoint.Config.VocabSize);
        var report = ReferenceCheck.Run(model, expected);
        _output.WriteLine(report.ToString());
        return report;
    }
}
