using MambaGen.Generators.Helpers;
using MambaGen.Generators.Reporting;

namespace MambaGen.Generators.Model;

/// <summary>What the transform gives for one <c>[MambaLayer]</c> class: its model (null when the generator cannot add a
/// part) and the diagnostics the generator reports itself.</summary>
internal sealed record LayerExtraction(LayerModel? Model, EquatableArray<ReportedDiagnostic> Reports)
{
    public static LayerExtraction Nothing { get; } = new(null, EquatableArray<ReportedDiagnostic>.Empty);
}
