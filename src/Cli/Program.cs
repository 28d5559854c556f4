namespace MambaGen.Cli;

internal static class Program
{
    private static int Main(string[] args) => CliApp.Run(args, System.Console.Out, System.Console.Error);
}
