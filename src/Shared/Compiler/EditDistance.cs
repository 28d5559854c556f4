#if MAMBAGEN_COMPILER
using System;

namespace MambaGen;

/// <summary>Levenshtein distance, to suggest the known mamba type nearest to a misspelt one.</summary>
internal static class EditDistance
{
    public static int Between(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitution = previous[j - 1] + (char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    /// <summary>The known mamba type nearest to <paramref name="name"/>. Among equally near ones, <paramref name="evidence"/>
    /// (the type the layer's code points to, <see cref="MambaTypeEvidence"/>) wins if it is one of them, else the
    /// earliest in vLLM's order.</summary>
    public static string NearestKnownMambaType(string? name, string? evidence = null)
    {
        var best = KnownMambaTypes.All[0].Name;
        var bestDistance = int.MaxValue;
        foreach (var known in KnownMambaTypes.All)
        {
            var distance = Between(name ?? string.Empty, known.Name);
            if (distance < bestDistance || (distance == bestDistance && known.Name == evidence))
            {
                best = known.Name;
                bestDistance = distance;
            }
        }

        return best;
    }
}
#endif
