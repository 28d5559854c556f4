using Microsoft.CodeAnalysis;
using MambaGen.Generators.Helpers;

namespace MambaGen.Generators.Reporting;

/// <summary>
/// A diagnostic the generator reports, as an equatable value: <see cref="Diagnostic"/> compares its message arguments
/// by reference, so a re-run would never look unchanged. The location keeps its syntax tree (not a compilation), which
/// is the same object while the file is unchanged, so an untouched file's report stays cached.
/// </summary>
internal sealed record ReportedDiagnostic(DiagnosticDescriptor Descriptor, Location Location, EquatableArray<string> Arguments)
{
    public static ReportedDiagnostic Create(DiagnosticDescriptor descriptor, Location location, params string[] arguments) =>
        new(descriptor, location, new EquatableArray<string>(arguments));

    public Diagnostic ToDiagnostic()
    {
        var arguments = new object[Arguments.Count];
        for (int i = 0; i < arguments.Length; i++)
        {
            arguments[i] = Arguments[i];
        }

        return Diagnostic.Create(Descriptor, Location, arguments);
    }
}
