using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;

namespace MambaGen.Analyzers.Tests.Verification;

/// <summary>What test compilations reference: .NET 10 reference assemblies shipped in a package (nothing is fetched
/// at test time), MambaGen and TorchSharp.</summary>
internal static class TestReferences
{
    /// <summary>No reference-assembly package and no packages, so the testing library never asks NuGet for anything.</summary>
    public static ReferenceAssemblies NoDownload { get; } = new("net10.0");

    public static IReadOnlyList<MetadataReference> All { get; } = Basic.Reference.Assemblies.Net100.References.All
        .Cast<MetadataReference>()
        .Append(MetadataReference.CreateFromFile(typeof(MambaBase).Assembly.Location))
        .Append(MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location))
        .ToArray();
}
