using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Threading.Tasks;
using MambaGen.Cache;
using MambaGen.Serving;
using MambaGen.Tests.Generation;
using Microsoft.Extensions.Logging;
using static MambaGen.Tests.Serving.ServingTestModels;

namespace MambaGen.Tests.Serving;

public class EngineServiceLoggingTests
{
    [Fact]
    public async Task Requests_and_the_loops_death_are_logged_through_the_given_ILogger()
    {
        using var model = TinyLanguageModel.Create("mamba2");
        var logger = new ListLogger();
        using var cache = MambaStateCache.Allocate(model.Mixers, 1, model.Device);
        using var service = new EngineService(new ServedModel(new FailingModel(model, failAt: 4), cache, new CharTokenizer(), ownsModel: false), logger: logger);

        await Collect(service.GenerateAsync(new[] { 1 }, new GenerationOptions { MaxTokens = 2 }));
        await Assert.ThrowsAsync<EngineFaultedException>(() => Collect(service.GenerateAsync(new[] { 1 }, new GenerationOptions { MaxTokens = 100 })));

        var events = logger.Entries.ToArray();
        Assert.Contains(events, e => e.Event.Name == "EngineStarted" && e.Level == LogLevel.Information);
        Assert.Contains(events, e => e.Event.Name == "RequestFinished" && e.Message.Contains("req-1", StringComparison.Ordinal));
        var died = Assert.Single(events, e => e.Event.Name == "EngineFaulted");
        Assert.Equal(LogLevel.Error, died.Level);
        Assert.Contains("simulated device fault", died.Exception!.Message, StringComparison.Ordinal);
    }

    private sealed record Entry(LogLevel Level, EventId Event, string Message, Exception? Exception);

    private sealed class ListLogger : ILogger
    {
        public ConcurrentQueue<Entry> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue(new Entry(logLevel, eventId, formatter(state, exception), exception));
    }
}
