using System;
using System.Collections.Generic;
using System.Linq;

namespace MambaGen.Backends;

/// <summary>
/// vLLM's <c>CommonAttentionMetadata</c> for one step, reduced to what mamba backends read: the batch's requests,
/// decodes first then prefills, and their tokens flattened back to back (varlen). Checked on construction, so every
/// builder can trust it. Host data only; builders make the device tensors.
/// </summary>
public sealed class CommonAttentionMetadata
{
    /// <summary>Checks the batch and derives its offsets.</summary>
    /// <param name="requests">The batch rows, decodes (see <see cref="ScheduledRequest.IsDecode"/>) first, then prefills.</param>
    /// <param name="numActualTokens">Length of the flattened token input of the step; must equal the scheduled tokens' sum.</param>
    public CommonAttentionMetadata(IReadOnlyList<ScheduledRequest> requests, int numActualTokens)
    {
        ArgumentNullException.ThrowIfNull(requests);
        Requests = requests.ToArray();
        int n = Requests.Count;
        QueryStartLoc = new int[n + 1];
        SeqLens = new int[n];
        NumComputedTokens = new int[n];
        NumScheduledTokens = new int[n];
        StateBlockIds = new int[n];
        int firstPrefill = -1;
        for (int i = 0; i < n; i++)
        {
            var r = Requests[i];
            if (r.NumComputedTokens < 0)
            {
                throw new ArgumentException($"Request {Describe(i)} has {r.NumComputedTokens} computed tokens; the count cannot be negative.", nameof(requests));
            }

            if (r.NumScheduledTokens <= 0)
            {
                throw new ArgumentException($"Request {Describe(i)} has {r.NumScheduledTokens} scheduled tokens; a request in the batch must run at least one token.", nameof(requests));
            }

            if (r.StateBlockId < ScheduledRequest.PadSlotId)
            {
                throw new ArgumentException($"Request {Describe(i)} has state block {r.StateBlockId}; a block id is >= 0, or {ScheduledRequest.PadSlotId} for a padding row.", nameof(requests));
            }

            if (r.IsDecode && firstPrefill >= 0)
            {
                throw new ArgumentException(
                    $"Request {Describe(i)} is a decode (1 token after {r.NumComputedTokens} computed) but comes after prefill request {Describe(firstPrefill)}; the batch must hold decodes first, then prefills.",
                    nameof(requests));
            }

            if (!r.IsDecode && firstPrefill < 0)
            {
                firstPrefill = i;
            }

            QueryStartLoc[i + 1] = checked(QueryStartLoc[i] + r.NumScheduledTokens);
            SeqLens[i] = checked(r.NumComputedTokens + r.NumScheduledTokens);
            NumComputedTokens[i] = r.NumComputedTokens;
            NumScheduledTokens[i] = r.NumScheduledTokens;
            StateBlockIds[i] = r.StateBlockId;
        }

        if (numActualTokens != QueryStartLoc[n])
        {
            throw new ArgumentException(
                $"The step has {numActualTokens} tokens but its {n} requests schedule {QueryStartLoc[n]} ({string.Join(" + ", NumScheduledTokens)}); the two must match.",
                nameof(numActualTokens));
        }

        NumActualTokens = numActualTokens;
        NumDecodes = firstPrefill < 0 ? n : firstPrefill;
        NumDecodeTokens = QueryStartLoc[NumDecodes];
    }

    /// <summary>A step whose token count is the sum of its requests' scheduled tokens.</summary>
    public CommonAttentionMetadata(IReadOnlyList<ScheduledRequest> requests)
        : this(requests, (requests ?? throw new ArgumentNullException(nameof(requests))).Sum(r => r.NumScheduledTokens))
    {
    }

    /// <summary>A hybrid step: the rows, and each cache group's block ids per request ([group][request]; a mamba
    /// group's request holds one block, an attention group's its block table).</summary>
    public CommonAttentionMetadata(IReadOnlyList<ScheduledRequest> requests, IReadOnlyList<IReadOnlyList<int[]>> groupBlockTables)
        : this(requests)
    {
        ArgumentNullException.ThrowIfNull(groupBlockTables);
        foreach (var (tables, g) in groupBlockTables.Select((t, g) => (t, g)))
        {
            if (tables is null || tables.Count != NumReqs || tables.Any(t => t is null))
            {
                throw new ArgumentException($"Cache group {g} needs a block table for each of the step's {NumReqs} requests.", nameof(groupBlockTables));
            }
        }

        GroupBlockTables = groupBlockTables.Select(t => (IReadOnlyList<int[]>)t.Select(b => (int[])b.Clone()).ToArray()).ToArray();
    }

    public IReadOnlyList<ScheduledRequest> Requests { get; }

    /// <summary>Each cache group's block ids per request ([group][request]), for a hybrid pool; null for a state cache.</summary>
    public IReadOnlyList<IReadOnlyList<int[]>>? GroupBlockTables { get; }

    /// <summary>The step as a mamba group's layers see it: each request's state block is its one block in
    /// <paramref name="group"/>.</summary>
    public CommonAttentionMetadata ForMambaGroup(int group)
    {
        var tables = GroupBlockTables?[group] ?? throw new InvalidOperationException("This step has no cache-group block tables (it comes from a state cache, not a hybrid pool).");
        return new CommonAttentionMetadata(Requests.Select((r, i) => r with
        {
            StateBlockId = tables[i].Length == 1 ? tables[i][0] : throw new InvalidOperationException($"Request {Describe(i)} holds {tables[i].Length} blocks in mamba group {group}; a mamba group holds one per request."),
        }).ToArray());
    }

    public int NumReqs => Requests.Count;

    /// <summary>Tokens in the step's flattened input.</summary>
    public int NumActualTokens { get; }

    /// <summary>Requests at the head of the batch that decode one token each.</summary>
    public int NumDecodes { get; }

    public int NumDecodeTokens { get; }

    public int NumPrefills => NumReqs - NumDecodes;

    public int NumPrefillTokens => NumActualTokens - NumDecodeTokens;

    /// <summary>Where each request's tokens start in the flattened input, plus the total: [num_reqs + 1].</summary>
    public int[] QueryStartLoc { get; }

    /// <summary>Computed plus scheduled tokens of each request: [num_reqs].</summary>
    public int[] SeqLens { get; }

    /// <summary>[num_reqs].</summary>
    public int[] NumComputedTokens { get; }

    /// <summary>[num_reqs].</summary>
    public int[] NumScheduledTokens { get; }

    /// <summary>Block of each request's running state, -1 for padding: [num_reqs].</summary>
    public int[] StateBlockIds { get; }

    /// <summary>Where each request's last scheduled token lies in the step's flattened input: [num_reqs].</summary>
    public long[] LastTokenIndices => QueryStartLoc.Skip(1).Select(q => (long)q - 1).ToArray();

    /// <summary>Refuses model input ids that are not the step's tokens, [num_actual_tokens].</summary>
    public void CheckInputIds(TorchSharp.torch.Tensor inputIds)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.dim() != 1 || inputIds.size(0) != NumActualTokens)
        {
            throw new ArgumentException($"Model input ids must be [{NumActualTokens}] (the step's tokens) but are [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        }
    }

    private string Describe(int i) =>
        Requests[i].RequestId is { } id ? $"{i} ('{id}')" : $"{i}";
}
