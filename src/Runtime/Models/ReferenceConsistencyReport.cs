using System.Collections.Generic;
using System.Linq;

namespace MambaGen.Models;

/// <summary>Whether a reference agrees with itself: its first generation logits against its full forward at the prompt's end.</summary>
/// <param name="RowDiffs">Per row, max |gen_logits[r, 0] - logits[r, P - 1]|; null where the row's input_ids do not start with its gen_prompt.</param>
/// <param name="PromptLength">P: the length of gen_prompt.</param>
/// <param name="Tolerance">The largest difference a consistent reference may show.</param>
public sealed record ReferenceConsistencyReport(IReadOnlyList<double?> RowDiffs, int PromptLength, double Tolerance)
{
    /// <summary>Rows that could be compared (their input_ids start with their gen_prompt).</summary>
    public IReadOnlyList<int> ComparedRows => RowDiffs.Select((d, r) => (d, r)).Where(x => x.d is not null).Select(x => x.r).ToArray();

    /// <summary>Rows whose reference generation disagrees with the reference's own full forward.</summary>
    public IReadOnlyList<int> InconsistentRows => RowDiffs.Select((d, r) => (d, r)).Where(x => x.d > Tolerance).Select(x => x.r).ToArray();

    /// <summary>The largest difference over the compared rows (0 when none could be compared).</summary>
    public double MaxDiff => RowDiffs.Where(d => d is not null).Select(d => d!.Value).DefaultIfEmpty(0).Max();

    public bool Applicable => ComparedRows.Count > 0;

    public bool Consistent => InconsistentRows.Count == 0;
}
