using System.IO;
using System.Linq;

namespace MambaGen.Cli.Tests;

public class GenerateCommandTests
{
    [Fact]
    public void Generate_with_the_default_model_prints_the_prompt_and_its_continuation_and_tokens_per_second()
    {
        var run = CliRun.Of("generate", "Gets the number of", "--max-tokens", "20");

        Assert.True(run.ExitCode == ExitCodes.Success, run.ToString());
        Assert.StartsWith("Gets the number of", run.Out);
        Assert.True(run.Out.Trim().Length > "Gets the number of".Length + 5, run.ToString());
        Assert.DoesNotContain("<|endoftext|>", run.Out);
        Assert.DoesNotContain('\uFFFD', run.Out);
        Assert.Matches(@"prefill: 5 tokens in [0-9.]+ ms \([0-9.]+ tokens/s\), decode: \d+ tokens in [0-9.]+ ms \([0-9.]+ tokens/s\)", run.Err);
    }

    [Fact]
    public void Batched_prompts_file_prints_each_greedy_text_on_one_line_as_streamed_alone()
    {
        using var scratch = new ScratchFolder();
        string prompts = scratch.File("prompts.txt");
        File.WriteAllLines(prompts, new[] { "Returns a value that indicates whether", string.Empty, "Gets the number of" });

        // 30 tokens: the greedy text of this prompt has a line break, which the batched output escapes.
        var batched = CliRun.Of("generate", "--prompts-file", prompts, "-n", "30");
        var single = CliRun.Of("generate", "--prompt", "Gets the number of", "-n", "30");

        Assert.True(batched.ExitCode == ExitCodes.Success, batched.ToString());
        Assert.Contains("2 prompt(s)", batched.Err);
        var lines = batched.Out.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("[1] Returns a value that indicates whether", System.StringComparison.Ordinal));
        // The blank line is skipped, so the third line of the file is prompt [2].
        string second = batched.Out[batched.Out.IndexOf("[2] ", System.StringComparison.Ordinal)..];
        Assert.Contains('\n', single.Out.TrimEnd('\n'));
        Assert.StartsWith("[2] " + GenerateCommand.OneLine(single.Out.TrimEnd('\n')) + "\n", second);
        Assert.Equal(2, lines.Count(l => l.Length > 0));
    }

    [Fact]
    public void Sampling_with_a_seed_repeats()
    {
        string[] args = { "generate", "Initializes a new instance of the", "-n", "16", "--temperature", "0.9", "--top-p", "0.95", "--seed", "11" };

        var first = CliRun.Of(args);
        var second = CliRun.Of(args);

        Assert.True(first.ExitCode == ExitCodes.Success, first.ToString());
        Assert.Equal(first.Out, second.Out);
    }

    [Fact]
    public void Generate_on_a_fixture_without_tokenizer_reads_and_prints_token_ids()
    {
        var run = CliRun.Of("generate", "3 4 5", "--model", CliFixtures.Mamba1, "-n", "6");

        Assert.True(run.ExitCode == ExitCodes.Success, run.ToString());
        var ids = run.Out.Split(' ', System.StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        Assert.Equal(new[] { 3, 4, 5 }, ids.Take(3));
        Assert.Equal(9, ids.Length);
        Assert.Contains("has no tokenizer.json", run.Err);
    }

    [Fact]
    public void Generate_with_a_missing_model_folder_exits_2_naming_the_folder()
    {
        using var scratch = new ScratchFolder();
        string missing = Path.Combine(scratch.Path, "no-such-model");

        var run = CliRun.Of("generate", "Gets the number of", "--model", missing);

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains(missing, run.Err);
        Assert.Contains("not found", run.Err);
        Assert.DoesNotContain("   at ", run.Err);
    }

    [Fact]
    public void Generate_on_cuda_without_cuda_says_cuda_is_not_available()
    {
        // This machine's libtorch is the CPU build (the CLI references libtorch-cpu), so CUDA cannot start.
        var run = CliRun.Of("generate", "Gets the number of", "--device", "cuda");

        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("CUDA is not available", run.Err);
        Assert.Contains("--device cpu", run.Err);
        Assert.Equal(string.Empty, run.Out);
    }

    [Theory]
    [InlineData(new[] { "generate" }, "No prompt")]
    [InlineData(new[] { "generate", "a", "--prompt", "b" }, "one way only")]
    [InlineData(new[] { "generate", "a", "--dtype", "float64" }, "'float64'")]
    [InlineData(new[] { "generate", "a", "--max-tokens", "0" }, "--max-tokens must be at least 1")]
    [InlineData(new[] { "generate", "a", "--top-p", "1.5" }, "--top-p must be in (0, 1]")]
    [InlineData(new[] { "generate", "a", "--temperature", "-1" }, "--temperature must be 0")]
    [InlineData(new[] { "generate", "a", "--threads", "0" }, "--threads must be at least 1")]
    [InlineData(new[] { "generate", "a", "--no-such-option" }, "--no-such-option")]
    [InlineData(new[] { "generate", "--prompts-file", "/no/such/prompts.txt" }, "/no/such/prompts.txt")]
    public void Bad_options_exit_2_with_a_message_naming_the_problem(string[] args, string message)
    {
        var run = CliRun.Of(args);

        Assert.True(run.ExitCode == ExitCodes.BadInput, run.ToString());
        Assert.Contains(message, run.Err);
    }
}
