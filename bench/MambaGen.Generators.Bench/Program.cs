using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/MambaGen.Generators.Bench -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(MambaGen.Generators.Bench.KeystrokeBenchmarks).Assembly).Run(args);
