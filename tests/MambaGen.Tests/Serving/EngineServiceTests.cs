using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MambaGen.Cache;
using MambaGen.Generation;
using MambaGen.Serving;
using MambaGen.Tests.Generation;
using static MambaGen.Tests.Serving.ServingTestModels;

namespace MambaGen.Tests.Serving;

/// <summary>The engine as a service: concurrent callers, aborts, the queue bound, the loop's death and disposal.</summary>
public class EngineServiceTests
{
    private const int Long = 100_000; // more tokens than a test could wait for: only an abort ends such a request

    [Fact]
    public async Task Sixteen_concurrent_callers_each_get_exactly_what_their_request_gives_alone()
    {
        using var model = TinyLanguageModel.Create("mamba2");
        var prompts = TinyLanguageModel.Prompts(11, Enumerable.Range(0, 16).Select(i => 1 + (i * 5 % 13)).ToArray());
        var maxTokens = Enumerable.Range(0, 16).Select(i => 4 + (i * 7 % 11)).ToArray();
        var alone = prompts.Select((p, i) => TinyLanguageModel.Alone(model, p, SamplingParams.Greedy(maxTokens[i]))).ToArray();

        using var service = Tiny(model, numBlocks: 4, maxQueued: 12);
        var results = await Task.WhenAll(prompts.Select((p, i) => Task.Run(() =>
            Collect(service.GenerateAsync(p, new GenerationOptions { MaxTokens = maxTokens[i] })))));

        for (int i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(alone[i], Tokens(results[i]));
            Assert.Equal(new CharTokenizer().Decode(alone[i]), Text(results[i]));
            Assert.Equal(FinishReason.Length, results[i][^1].Finish);
            Assert.All(results[i].SkipLast(1), p => Assert.Null(p.Finish));
        }

        Assert.Equal(0, service.HeldRequests);
        Assert.Equal(4, service.Stats.FreeBlocks);
    }

    [Fact]
    public async Task Cancelling_mid_stream_frees_the_block_by_the_time_the_enumeration_throws()
    {
        using var model = TinyLanguageModel.Create("mamba2");
        using var service = Tiny(model, numBlocks: 2);
        using var cts = new CancellationTokenSource();
        int seen = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var piece in service.GenerateAsync(new[] { 1, 2, 3 }, new GenerationOptions { MaxTokens = Long }, cts.Token))
            {
                if (++seen == 3)
                {
                    cts.Cancel();
                }
            }
        });

        Assert.Equal(3, seen);
        Assert.Equal(2, service.Stats.FreeBlocks);
        Assert.Equal(0, service.Stats.Running);
        Assert.Equal(0, service.HeldRequests);
    }

    [Fact]
    public async Task Breaking_out_of_the_enumeration_aborts_the_request_and_frees_its_block_at_once()
    {
        using var model = TinyLanguageModel.Create("mamba1");
        using var service = Tiny(model, numBlocks: 1);
        int seen = 0;

        await foreach (var piece in service.GenerateAsync(new[] { 4, 5 }, new GenerationOptions { MaxTokens = Long }))
        {
            if (++seen == 2)
            {
                break;
            }
        }

        Assert.Equal(1, service.Stats.FreeBlocks);
        Assert.Equal(0, service.HeldRequests);
        // The one block serves the next request at once.
        var next = await Collect(service.GenerateAsync(new[] { 4, 5 }, new GenerationOptions { MaxTokens = 3 }));
        Assert.Equal(3, Tokens(next).Length);
    }

    [Fact]
    public async Task Cancelling_a_request_that_waits_for_a_block_takes_it_out_of_the_queue_at_once()
    {
        using var model = TinyLanguageModel.Create("mamba2");
        using var service = Tiny(model, numBlocks: 1, maxQueued: 1);
        var options = new GenerationOptions { MaxTokens = Long };
        await using var running = service.GenerateAsync(new[] { 1 }, options).GetAsyncEnumerator();
        Assert.True(await running.MoveNextAsync());
        using var cts = new CancellationTokenSource();
        var waiting = Collect(service.GenerateAsync(new[] { 2 }, options, cts.Token));
        Assert.Equal(2, service.HeldRequests);

        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(1, service.HeldRequests);
        Assert.Equal(0, service.Stats.Waiting);
        Assert.Equal(1, service.Stats.Running);
        // Its queue place is free again.
        using var cts2 = new CancellationTokenSource();
        var next = Collect(service.GenerateAsync(new[] { 3 }, options, cts2.Token));
        Assert.Equal(2, service.HeldRequests);
        cts2.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next);
    }

    [Fact]
    public async Task Request_beyond_running_plus_queued_is_refused_with_the_limit_and_nothing_queued()
    {
        using var model = TinyLanguageModel.Create("mamba2");
        using var service = Tiny(model, numBlocks: 1, maxQueued: 1);
        var options = new GenerationOptions { MaxTokens = Long };
        await using var running = service.GenerateAsync(new[] { 1 }, options).GetAsyncEnumerator();
        Assert.True(await running.MoveNextAsync());
        await using var waiting = service.GenerateAsync(new[] { 2 }, options).GetAsyncEnumerator();
        var waitingFirst = waiting.MoveNextAsync(); // submits; no token comes while the one block is taken

        var refused = await Assert.ThrowsAsync<EngineQueueFullException>(async () =>
        {
            await foreach (var piece in service.GenerateAsync(new[] { 3 }, options))
            {
            }
        });

        Assert.Equal(2, refused.Limit);
        Assert.Equal(1, refused.MaxQueuedRequests);
        Assert.Contains("MaxQueuedRequests", refused.Message, StringComparison.Ordinal);
        Assert.Equal(2, service.HeldRequests);
        Assert.False(waitingFirst.IsCompleted);

        // Freeing the running one lets the waiting one start.
        await running.DisposeAsync();
        Assert.True(await waitingFirst);
        await waiting.DisposeAsync();
        Assert.Equal(0, service.HeldRequests);
        Assert.Equal(1, service.Stats.FreeBlocks);
    }

    [Fact]
    public async Task Loop_that_dies_fails_every_held_caller_with_the_cause_and_refuses_later_ones()
    {
        using var model = TinyLanguageModel.Create("mamba2");
        var failing = new FailingModel(model, failAt: 6);
        using var cache = MambaStateCache.Allocate(model.Mixers, 2, model.Device);
        using var service = new EngineService(new ServedModel(failing, cache, new CharTokenizer(), ownsModel: false));

        var callers = Enumerable.Range(0, 6).Select(i => Task.Run(() =>
            Collect(service.GenerateAsync(new[] { i + 1, 2 }, new GenerationOptions { MaxTokens = Long })))).ToArray();

        foreach (var caller in callers)
        {
            var e = await Assert.ThrowsAsync<EngineFaultedException>(() => caller);
            Assert.Contains("simulated device fault", e.InnerException!.Message, StringComparison.Ordinal);
        }

        Assert.Contains("simulated device fault", service.Fault!.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<EngineFaultedException>(() => service.Completion);
        Assert.Throws<EngineFaultedException>(() => service.GenerateAsync(new[] { 1 }));
        Assert.Equal(0, service.HeldRequests);
        Assert.True(cache.IsDisposed);
    }

    [Fact]
    public async Task Dispose_while_requests_run_fails_them_and_disposes_the_model_and_cache()
    {
        var model = TinyLanguageModel.Create("mamba2");
        var served = ServedModel.Create(model, 2, new CharTokenizer(), null, null, ownsModel: true);
        var service = new EngineService(served);
        using var started = new SemaphoreSlim(0);
        var callers = Enumerable.Range(0, 3).Select(i => Task.Run(async () =>
        {
            bool first = true;
            await foreach (var piece in service.GenerateAsync(new[] { i + 1 }, new GenerationOptions { MaxTokens = Long }))
            {
                if (first)
                {
                    first = false;
                    started.Release();
                }
            }
        })).ToArray();
        // Two run (whichever got the blocks); the third waits for a block.
        await started.WaitAsync();
        await started.WaitAsync();

        service.Dispose();

        foreach (var caller in callers)
        {
            await Assert.ThrowsAsync<ObjectDisposedException>(() => caller);
        }

        Assert.True(served.Cache.IsDisposed);
        Assert.Null(service.Fault);
        await service.Completion;
        Assert.Throws<ObjectDisposedException>(() => service.GenerateAsync(new[] { 1 }));
        service.Dispose();
    }

    [Fact]
    public void A_load_that_throws_is_thrown_by_the_constructor()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new EngineService(() => throw new InvalidOperationException("no weights")));
        Assert.Equal("no weights", e.Message);
    }
}
