using System;

namespace MambaGen.Cli.Tests;

/// <summary>How mambagen reads its command line: mistakes are errors that say what to type, never a silent other meaning.</summary>
public class CommandLineParsingTests
{
    [Fact]
    public void A_mistyped_option_is_an_unknown_option_with_a_suggestion_not_the_prompt()
    {
        var run = CliRun.Of("generate", "--max-token", "-n", "3");

        Assert.True(run.ExitCode == ExitCodes.BadInput, run.ToString());
        Assert.Contains("error: unknown option '--max-token' for 'mambagen generate'; did you mean '--max-tokens'?", run.Err);
        Assert.Equal(string.Empty, run.Out);
    }

    [Theory]
    [InlineData("--temprature", "--temperature")]
    [InlineData("--top_p", "--top-p")]
    [InlineData("--seeds", "--seed")]
    [InlineData("--modle", "--model")]
    public void An_unknown_option_after_the_prompt_names_the_nearest_option(string typed, string suggested)
    {
        var run = CliRun.Of("generate", "Gets", typed, "1");

        Assert.True(run.ExitCode == ExitCodes.BadInput, run.ToString());
        Assert.Contains($"unknown option '{typed}' for 'mambagen generate'; did you mean '{suggested}'?", run.Err);
    }

    [Fact]
    public void An_unknown_one_letter_option_is_an_error_without_a_guess()
    {
        var run = CliRun.Of("generate", "-x", "Gets");

        Assert.True(run.ExitCode == ExitCodes.BadInput, run.ToString());
        Assert.Contains("error: unknown option '-x' for 'mambagen generate'.", run.Err);
        Assert.DoesNotContain("did you mean", run.Err);
    }

    [Fact]
    public void An_unknown_option_of_another_command_gets_that_commands_suggestion()
    {
        var run = CliRun.Of("info", "--request", "4");

        Assert.True(run.ExitCode == ExitCodes.BadInput, run.ToString());
        Assert.Contains("unknown option '--request' for 'mambagen info'; did you mean '--requests'?", run.Err);
    }

    [Fact]
    public void A_mistyped_command_gets_the_nearest_command()
    {
        var run = CliRun.Of("genrate", "Gets");

        Assert.True(run.ExitCode == ExitCodes.BadInput, run.ToString());
        Assert.Contains("unknown command 'genrate'; did you mean 'generate'?", run.Err);
    }

    [Fact]
    public void A_prompt_that_starts_with_a_dash_goes_after_double_dash()
    {
        var run = CliRun.Of("generate", "-n", "2", "--threads", "1", "--", "-5 degrees");

        Assert.True(run.ExitCode == ExitCodes.Success, run.ToString());
        Assert.StartsWith("-5 degrees", run.Out);
    }

    [Fact]
    public void A_negative_number_is_a_value_not_an_unknown_option()
    {
        var run = CliRun.Of("generate", "Gets", "--temperature", "-1");

        Assert.True(run.ExitCode == ExitCodes.BadInput, run.ToString());
        Assert.Contains("--temperature must be 0", run.Err);
        Assert.DoesNotContain("unknown option", run.Err);
    }

    [Fact]
    public void A_temperature_that_underflows_float32_is_refused_before_the_model_loads()
    {
        var run = CliRun.Of("generate", "Gets", "--temperature", "1e-50");

        Assert.True(run.ExitCode == ExitCodes.BadInput, run.ToString());
        Assert.Contains("--temperature: Temperature 1E-50 underflows float32", run.Err);
        Assert.DoesNotContain("model:", run.Err);
    }

    [Fact]
    public void Max_tokens_that_overflow_a_sequence_are_refused_naming_the_sum()
    {
        var run = CliRun.Of("generate", "Gets", "-n", "2147483647");

        Assert.True(run.ExitCode == ExitCodes.BadInput, run.ToString());
        Assert.Contains("plus --max-tokens (2147483647)", run.Err);
    }

    [Theory]
    [InlineData("--seed", "abc", "--seed must be a whole number from 0 to 18446744073709551615 (got 'abc').")]
    [InlineData("--seed", "-1", "--seed must be a whole number from 0 to 18446744073709551615 (got '-1').")]
    [InlineData("--max-tokens", "ten", "--max-tokens must be a whole number (got 'ten').")]
    [InlineData("--threads", "2.5", "--threads must be a whole number (got '2.5').")]
    [InlineData("--temperature", "hot", "--temperature must be a number (like 0.7) (got 'hot').")]
    [InlineData("--top-p", "0,9", "--top-p must be a number (like 0.7) (got '0,9').")]
    public void A_value_of_the_wrong_kind_names_the_option_and_what_it_takes_not_a_dotnet_type(string option, string value, string message)
    {
        var run = CliRun.Of("generate", "Gets", option, value);

        Assert.True(run.ExitCode == ExitCodes.BadInput, run.ToString());
        Assert.Contains("error: " + message, run.Err);
        Assert.DoesNotContain("System.", run.Err);
    }

    [Fact]
    public void Mambagen_alone_prints_help_on_stdout_and_exits_0()
    {
        var run = CliRun.Of();

        Assert.True(run.ExitCode == ExitCodes.Success, run.ToString());
        Assert.Contains("Usage:", run.Out);
        Assert.Contains("generate", run.Out);
        Assert.Contains("check", run.Out);
        Assert.Contains("info", run.Out);
        Assert.Equal(string.Empty, run.Err);
    }

    [Fact]
    public void Threads_beyond_the_core_count_are_refused_before_anything_loads()
    {
        var run = CliRun.Of("generate", "Gets", "--threads", "100000");

        Assert.True(run.ExitCode == ExitCodes.BadInput, run.ToString());
        Assert.Contains($"--threads must be at most the number of cores this process may use ({Environment.ProcessorCount}) (got 100000).", run.Err);
        Assert.DoesNotContain("model:", run.Err);
    }

    [Theory]
    [InlineData("generate", "Gets", "--model", "")]
    [InlineData("generate", "Gets", "--model", "  ")]
    [InlineData("info", "--model", "", "-r", "1")]
    [InlineData("check", "-m", "", "--tolerance", "1")]
    public void An_empty_model_is_an_error_not_the_embedded_model(params string[] args)
    {
        var run = CliRun.Of(args);

        Assert.True(run.ExitCode == ExitCodes.BadInput, run.ToString());
        Assert.Contains("error: --model is empty: it needs a checkpoint folder; leave --model out to use the embedded model.", run.Err);
        Assert.Equal(string.Empty, run.Out);
    }

    [Fact]
    public void An_empty_prompts_file_or_reference_name_is_an_error()
    {
        var generate = CliRun.Of("generate", "--prompts-file", "");
        var check = CliRun.Of("check", "--expected", "");

        Assert.True(generate.ExitCode == ExitCodes.BadInput, generate.ToString());
        Assert.Contains("--prompts-file is empty", generate.Err);
        Assert.True(check.ExitCode == ExitCodes.BadInput, check.ToString());
        Assert.Contains("--expected is empty", check.Err);
    }
}
