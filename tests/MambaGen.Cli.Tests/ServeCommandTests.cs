using System.Net;
using System.Net.Sockets;

namespace MambaGen.Cli.Tests;

/// <summary>mambagen serve refuses bad options before it loads a model or listens (the server itself: MambaGen.Server.Tests).</summary>
public sealed class ServeCommandTests
{
    [Theory]
    [InlineData("--port", "70000", "--port must be from 0 to 65535 (got 70000)")]
    [InlineData("--max-concurrent", "0", "--max-concurrent must be at least 1 (got 0)")]
    [InlineData("--max-queue", "-1", "--max-queue must be 0 or more (got -1)")]
    [InlineData("--host", "example.com", "--host: Host 'example.com' is not an IP address")]
    public void A_bad_option_is_refused_naming_it(string option, string value, string message)
    {
        var run = CliRun.Of("serve", option, value);
        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains(message, run.Err, System.StringComparison.Ordinal);
    }

    [Fact]
    public void A_max_model_len_beyond_the_models_positions_is_refused_naming_the_key()
    {
        var run = CliRun.Of("serve", "--model", CliFixtures.Lfm2, "--max-model-len", "4096", "--port", "0");
        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains("--max-model-len 4096 is more than the model's 256 positions (max_position_embeddings", run.Err, System.StringComparison.Ordinal);
    }

    [Fact]
    public void A_port_in_use_is_refused_naming_the_address()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var run = CliRun.Of("serve", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--max-concurrent", "1");
        Assert.Equal(ExitCodes.BadInput, run.ExitCode);
        Assert.Contains($"Could not listen on 127.0.0.1:{port}", run.Err, System.StringComparison.Ordinal);
    }
}
