namespace MambaGen.Cli.Tests;

public class InfoCommandTests
{
    [Fact]
    public void Info_on_mamba1_fixture_lists_layers_backends_state_specs_and_cache_memory()
    {
        var run = CliRun.Of("info", "--model", CliFixtures.Mamba1, "--requests", "8");

        Assert.True(run.ExitCode == ExitCodes.Success, run.ToString());
        Assert.Contains("model type:  mamba, 3 layers, hidden 48, vocab 61", run.Out);
        for (int i = 0; i < 3; i++)
        {
            // d_inner 96, conv 4, state 8: conv state [3, 96] and SSM state [96, 8] in fp32 = 1,152 + 3,072 bytes a page.
            Assert.Contains($"backbone.layers.{i}.mixer: mamba type mamba1, backend MAMBA1_ATTN, states [3, 96] float32, [96, 8] float32, page 4,224 bytes", run.Out);
        }

        Assert.Contains("state cache: 12,672 bytes per request; 101,376 bytes", run.Out);
        Assert.Contains("for 8 concurrent request(s)", run.Out);
        Assert.Matches(@"parameters:  [0-9,]+ \(float32\)", run.Out);
    }

    [Fact]
    public void Info_with_bfloat16_on_the_cpu_keeps_float32_states_as_llama_cpp_does()
    {
        var run = CliRun.Of("info", "--model", CliFixtures.Mamba1, "--dtype", "bfloat16");

        Assert.True(run.ExitCode == ExitCodes.Success, run.ToString());
        // Mixed precision on the CPU: only the matmul weights are bf16; the states stay float32.
        Assert.Contains("states [3, 96] float32, [96, 8] float32, page 4,224 bytes", run.Out);
        // The count per dtype: bf16 projections, embeddings and LM head; fp32 norms, conv, A, D and dt bias.
        Assert.Matches(@"parameters:  55,248: [0-9,]+ bfloat16, [0-9,]+ float32", run.Out);
    }

    [Fact]
    public void Info_with_zero_requests_is_refused_with_exit_code_2()
    {
        var run = CliRun.Of("info", "--model", CliFixtures.Mamba1, "--requests", "0");

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("--requests must be at least 1", run.Err);
    }
}
