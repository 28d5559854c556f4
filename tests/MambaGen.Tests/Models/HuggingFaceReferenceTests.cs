using System;
using System.IO;
using System.Linq;
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
        // The shared file's generation references masked a prompt token equal to pad_token_id; tests/fixtures holds them remade.
        var report = Check(CheckpointFixtures.Mamba2, RepoFile("tests", "fixtures", "dev-mamba2", "expected.safetensors"));
        Assert.True(report.Pass, report.ToString());
    }

    [Fact]
    public void Default_model_matches_transformers_logits_steps_and_greedy_tokens()
    {
        var report = Check(RepoFile("models", "default"));
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

    private static string RepoFile(params string[] parts)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MambaGen.sln")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(new[] { dir?.FullName ?? throw new DirectoryNotFoundException("MambaGen.sln not found") }.Concat(parts).ToArray());
    }
}
