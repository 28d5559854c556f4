#if MAMBAGEN_COMPILER
// Compiled into the generator and the analyzers only (src/Runtime also compiles src/Shared; it has no Roslyn).
using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace MambaGen.Declarations;

/// <summary>One thing wrong with a layer's declaration, as the MG diagnostic that reports it.</summary>
internal sealed class LayerProblem
{
    public LayerProblem(DiagnosticDescriptor descriptor, Location location, IReadOnlyList<Location>? additionalLocations, ImmutableDictionary<string, string?>? properties, params object?[] arguments)
    {
        Descriptor = descriptor;
        Location = location;
        AdditionalLocations = additionalLocations ?? System.Array.Empty<Location>();
        Properties = properties;
        Arguments = arguments;
    }

    public DiagnosticDescriptor Descriptor { get; }

    public Location Location { get; }

    public IReadOnlyList<Location> AdditionalLocations { get; }

    public ImmutableDictionary<string, string?>? Properties { get; }

    public object?[] Arguments { get; }

    public Diagnostic ToDiagnostic() => Diagnostic.Create(Descriptor, Location, AdditionalLocations, Properties, Arguments);
}
#endif
