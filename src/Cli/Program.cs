namespace MambaGen.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        // Before anything loads libtorch: libgomp reads its spin setting once, at load.
        MambaGen.Cpu.CpuThreading.PreferShortSpin();
        return CliApp.Run(args, System.Console.Out, System.Console.Error);
    }
}
