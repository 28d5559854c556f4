using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MambaGen.Analyzers.Inspection;

/// <summary>A class marked <c>[MambaLayer]</c>: its mamba type, its custom backend if any, and where each was written.</summary>
internal sealed class MambaLayerDeclaration
{
    private const string BackendArgumentName = "Backend";

    private MambaLayerDeclaration(INamedTypeSymbol type, Location attributeLocation, string? mambaType, Location mambaTypeLocation, ITypeSymbol? backend, Location backendLocation)
    {
        Type = type;
        AttributeLocation = attributeLocation;
        MambaType = mambaType;
        MambaTypeLocation = mambaTypeLocation;
        Backend = backend;
        BackendLocation = backendLocation;
    }

    public INamedTypeSymbol Type { get; }

    public Location AttributeLocation { get; }

    /// <summary>The mamba type string; null when it is null or not a constant.</summary>
    public string? MambaType { get; }

    public Location MambaTypeLocation { get; }

    /// <summary>The custom backend type; null when <c>Backend</c> is not set.</summary>
    public ITypeSymbol? Backend { get; }

    public Location BackendLocation { get; }

    /// <summary>The built-in mamba type named, or null for an unknown name.</summary>
    public KnownMambaType? KnownType => KnownMambaTypes.Find(MambaType);

    public static MambaLayerDeclaration? Find(INamedTypeSymbol type, MambaSymbols symbols, CancellationToken cancellationToken)
    {
        var attribute = symbols.FindMambaLayerAttribute(type);
        if (attribute is null)
        {
            return null;
        }

        var syntax = attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) as AttributeSyntax;
        var attributeLocation = syntax?.GetLocation() ?? type.Locations[0];
        var mambaTypeLocation = attributeLocation;
        var backendLocation = attributeLocation;
        if (syntax?.ArgumentList is { } arguments)
        {
            foreach (var argument in arguments.Arguments)
            {
                if (argument.NameEquals is null)
                {
                    mambaTypeLocation = argument.Expression.GetLocation();
                }
                else if (argument.NameEquals.Name.Identifier.ValueText == BackendArgumentName)
                {
                    backendLocation = argument.Expression.GetLocation();
                }
            }
        }

        // An argument that does not bind to one string constant is the compiler's error to report, not a mamba type.
        if (attribute.ConstructorArguments.Length != 1 || attribute.ConstructorArguments[0].Kind != TypedConstantKind.Primitive)
        {
            return null;
        }

        string? mambaType = attribute.ConstructorArguments[0].Value as string;

        ITypeSymbol? backend = null;
        foreach (var named in attribute.NamedArguments)
        {
            if (named.Key == BackendArgumentName && named.Value.Value is ITypeSymbol backendType)
            {
                backend = backendType;
            }
        }

        return new MambaLayerDeclaration(type, attributeLocation, mambaType, mambaTypeLocation, backend, backendLocation);
    }
}
