using System.Linq;
using MambaGen.Models.Hybrid;
using MambaGen.Tests.Checkpoints;

namespace MambaGen.Cli.Tests;

/// <summary>check, generate and info on the hybrid fixtures (LFM2, Granite 4.0-H dense), and on a Falcon-H1 checkpoint written here.</summary>
public class HybridCommandTests
{
    public static TheoryData<string> Fixtures => new() { "dev-lfm2", "dev-granite-hybrid-dense" };

    private static string Folder(string fixture) => fixture == "dev-lfm2" ? CliFixtures.Lfm2 : CliFixtures.GraniteHybridDense;

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void Check_passes_on_the_hybrid_fixture(string fixture)
    {
        var run = CliRun.Of("check", "--model", Folder(fixture));

        Assert.True(run.ExitCode == ExitCodes.Success, run.ToString());
        Assert.Matches(@"full-forward logits\s+max \|diff\| \S+\s+PASS", run.Out);
        Assert.Matches(@"greedy tokens\s+0 of 90 mismatched.*PASS", run.Out);
        Assert.Contains("overall: PASS", run.Out);
    }

    [Fact]
    public void Generate_on_a_hybrid_checkpoint_runs_a_batch_of_prompts_through_the_page_pool()
    {
        using var scratch = new ScratchFolder();
        System.IO.File.WriteAllLines(scratch.File("prompts.txt"), new[] { "1 2 3", "4 5" });
        var run = CliRun.Of("generate", "--model", CliFixtures.GraniteHybridDense, "-n", "4", "--prompts-file", scratch.File("prompts.txt"));

        Assert.True(run.ExitCode == ExitCodes.Success, run.ToString());
        Assert.Matches(@"\[1\] 1 2 3( \d+){4}", run.Out);
        Assert.Matches(@"\[2\] 4 5( \d+){4}", run.Out);
    }

    [Fact]
    public void Generate_beyond_max_position_embeddings_names_the_key()
    {
        var run = CliRun.Of("generate", "--model", CliFixtures.Lfm2, "-n", "300", "1 2 3");

        Assert.True(run.ExitCode == ExitCodes.BadInput, run.ToString());
        Assert.Contains("max_position_embeddings", run.Err);
    }

    [Fact]
    public void Info_shows_the_page_layout_and_what_requests_cost_in_a_budget()
    {
        var run = CliRun.Of("info", "--model", CliFixtures.GraniteHybridDense, "--requests", "4", "--tokens", "200", "--cache-memory", "0.001");

        Assert.True(run.ExitCode == ExitCodes.Success, run.ToString());
        Assert.Contains("one page size 12,288 bytes; attention blocks of 48 tokens; mamba state 10,112 bytes padded 21.52 %", run.Out);
        Assert.Contains("per request: 7 blocks for 200 tokens", run.Out);
        Assert.Contains("0.001 GiB holds 87 blocks: 12 concurrent request(s) of 200 tokens", run.Out);
    }

    [Fact]
    public void Info_refuses_page_pool_options_for_a_mamba_checkpoint()
    {
        var run = CliRun.Of("info", "--model", CliFixtures.Mamba1, "--tokens", "100");

        Assert.True(run.ExitCode == ExitCodes.BadInput, run.ToString());
        Assert.Contains("--tokens and --cache-memory size a hybrid model's page pool", run.Err);
    }

    [Fact]
    public void Info_and_generate_run_a_falcon_h1_checkpoint_its_attention_and_mamba2_side_by_side_in_each_layer()
    {
        using var scratch = new ScratchFolder();
        const string config = """
            {"model_type": "falcon_h1", "vocab_size": 61, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "head_dim": 12, "intermediate_size": 40, "rope_theta": 10000.0, "max_position_embeddings": 128,
             "mamba_d_ssm": 32, "mamba_n_heads": 4, "mamba_d_head": 8, "mamba_n_groups": 1, "mamba_d_state": 8, "mamba_chunk_size": 8,
             "tie_word_embeddings": false, "bos_token_id": null, "eos_token_id": null, "embedding_multiplier": 1.7, "key_multiplier": 1.3,
             "ssm_multipliers": [0.9, 1.2, 0.8, 1.3, 0.7], "mlp_multipliers": [1.4, 0.6]}
            """;
        System.IO.File.WriteAllText(scratch.File("config.json"), config);
        using (var model = HybridLanguageModel.Create(HybridModelConfig.Parse(config)))
        {
            SafetensorsTestWriter.Write(scratch.File("model.safetensors"), model.state_dict().Select(kv => RawTensor.From(kv.Key, kv.Value)));
        }

        var info = CliRun.Of("info", "--model", scratch.Path);
        Assert.True(info.ExitCode == ExitCodes.Success, info.ToString());
        Assert.Contains("model type:  falcon_h1 (hybrid), 2 layers", info.Out);
        Assert.Matches(@"  1 model\.layers\.1\.self_attn: attention, 4 heads / 2 KV heads x 12, RoPE 12/12 dims theta 10000, scale 0\.3753", info.Out);
        Assert.Matches(@"  1 model\.layers\.1\.mamba: mamba2, mamba type mamba2", info.Out);
        Assert.Contains("group 0: mamba mamba2, model.layers.0.mamba, model.layers.1.mamba", info.Out);

        var run = CliRun.Of("generate", "--model", scratch.Path, "-n", "4", "1 2 3");
        Assert.True(run.ExitCode == ExitCodes.Success, run.ToString());
        Assert.Matches(@"1 2 3( \d+){4}", run.Out);
    }
}
