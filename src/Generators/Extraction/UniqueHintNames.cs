using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using MambaGen.Generators.Model;

namespace MambaGen.Generators.Extraction;

/// <summary>
/// Roslyn compares hint names ignoring case (file systems may), and a clash drops the generator's whole output.
/// Layers whose full names differ only in case (<c>Models.Mixer</c>, <c>Models.MIXER</c>) therefore get a number:
/// the first in ordinal order keeps the plain name, the others become <c>Models.Mixer.2.g.cs</c>, ... A type or
/// namespace name cannot be a number, so these never clash with a plain name.
/// </summary>
internal static class UniqueHintNames
{
    public static ImmutableArray<LayerModel> Assign(ImmutableArray<LayerModel> layers)
    {
        var indicesByName = new Dictionary<string, List<int>>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < layers.Length; i++)
        {
            if (!indicesByName.TryGetValue(layers[i].HintName, out var indices))
            {
                indicesByName[layers[i].HintName] = indices = new List<int>();
            }

            indices.Add(i);
        }

        ImmutableArray<LayerModel>.Builder? renamed = null;
        foreach (var indices in indicesByName.Values)
        {
            if (indices.Count < 2)
            {
                continue;
            }

            renamed ??= layers.ToBuilder();
            indices.Sort((a, b) => string.CompareOrdinal(layers[a].HintName, layers[b].HintName));
            for (int k = 1; k < indices.Count; k++)
            {
                var layer = layers[indices[k]];
                string stem = layer.HintName.Substring(0, layer.HintName.Length - LayerModelExtractor.HintNameSuffix.Length);
                string number = (k + 1).ToString(CultureInfo.InvariantCulture);
                renamed[indices[k]] = layer with { HintName = stem + "." + number + LayerModelExtractor.HintNameSuffix };
            }
        }

        return renamed?.ToImmutable() ?? layers;
    }
}
