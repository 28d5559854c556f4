using Xunit;

namespace MambaGen.Package.Tests;

/// <summary>
/// The test classes that run <c>dotnet pack -c Release</c>: packing the CLI builds the runtime into the same
/// bin/Release folder that packing the runtime packs from, so they run one after the other, never side by side.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PackingCollection
{
    public const string Name = "dotnet pack -c Release";
}
