using System;
using System.Collections.Generic;
using System.Linq;

namespace MambaGen.Checkpoints;

/// <summary>One thing wrong with a checkpoint: the file at fault, the tensor or key when there is one, and why.</summary>
/// <param name="File">Path of the file at fault.</param>
/// <param name="Name">The tensor (or, with <paramref name="NameKind"/> "key", the JSON key) at fault; null for the whole file.</param>
/// <param name="Reason">What is wrong, in words.</param>
/// <param name="NameKind">What <paramref name="Name"/> names: "tensor" or "key".</param>
public sealed record CheckpointProblem(string File, string? Name, string Reason, string NameKind = "tensor")
{
    public override string ToString() => Name is null ? $"{File}: {Reason}" : $"{File}: {NameKind} '{Name}': {Reason}";
}

/// <summary>A checkpoint (config, weights, tokenizer or expected outputs) that cannot be used as it is.</summary>
/// <remarks>Every problem found in one pass is listed, so a broken checkpoint is fixed in one round.</remarks>
public sealed class CheckpointException : Exception
{
    public CheckpointException(string file, string? tensor, string reason, Exception? inner = null)
        : this(new[] { new CheckpointProblem(file, tensor, reason) }, inner)
    {
    }

    public CheckpointException(CheckpointProblem problem, Exception? inner = null)
        : this(new[] { problem }, inner)
    {
    }

    public CheckpointException(IReadOnlyList<CheckpointProblem> problems, Exception? inner = null)
        : base(Describe(problems), inner)
    {
        if (problems.Count == 0) throw new ArgumentException("A checkpoint exception needs at least one problem.", nameof(problems));
        Problems = problems;
    }

    /// <summary>Every problem found, in the order they were found.</summary>
    public IReadOnlyList<CheckpointProblem> Problems { get; }

    /// <summary>The file of the first problem.</summary>
    public string File => Problems[0].File;

    /// <summary>The tensor (or JSON key) of the first problem, if it names one.</summary>
    public string? Name => Problems[0].Name;

    private static string Describe(IReadOnlyList<CheckpointProblem> problems) => problems.Count switch
    {
        0 => "Checkpoint problem.",
        1 => problems[0].ToString(),
        _ => $"{problems.Count} checkpoint problems:" + string.Concat(problems.Select(p => Environment.NewLine + "  " + p)),
    };
}
