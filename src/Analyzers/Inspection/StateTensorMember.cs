using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MambaGen.Analyzers.Inspection;

/// <summary>A member marked <c>[StateTensor]</c> in a layer, with its explicit Order when it has one.</summary>
internal sealed class StateTensorMember
{
    private const string OrderArgumentName = "Order";

    private StateTensorMember(ISymbol member, int? order, Location orderLocation)
    {
        Member = member;
        Order = order;
        OrderLocation = orderLocation;
    }

    public ISymbol Member { get; }

    /// <summary>The explicit position in GetStateShape(); null for "declaration order" (no Order, or a negative one).</summary>
    public int? Order { get; }

    public Location OrderLocation { get; }

    /// <summary>The name of the accessor the generator writes for this state.</summary>
    public string AccessorName => AccessorNames.For(Member.Name);

    /// <summary>The layer's own [StateTensor] members, in declaration order (inherited ones are not the layer's states).</summary>
    public static ImmutableArray<StateTensorMember> Collect(INamedTypeSymbol layer, MambaSymbols symbols, CancellationToken cancellationToken)
    {
        var states = ImmutableArray.CreateBuilder<StateTensorMember>();
        foreach (var member in layer.GetMembers())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (member.IsImplicitlyDeclared || member is IMethodSymbol { AssociatedSymbol: not null })
            {
                continue;
            }

            var attribute = symbols.FindStateTensorAttribute(member);
            if (attribute is null)
            {
                continue;
            }

            int? order = null;
            foreach (var named in attribute.NamedArguments)
            {
                if (named.Key == OrderArgumentName && named.Value.Value is int value && value >= 0)
                {
                    order = value;
                }
            }

            states.Add(new StateTensorMember(member, order, FindOrderLocation(attribute, member, cancellationToken)));
        }

        return states.ToImmutable();
    }

    private static Location FindOrderLocation(AttributeData attribute, ISymbol member, CancellationToken cancellationToken)
    {
        if (attribute.ApplicationSyntaxReference?.GetSyntax(cancellationToken) is AttributeSyntax { ArgumentList: { } arguments } syntax)
        {
            foreach (var argument in arguments.Arguments)
            {
                if (argument.NameEquals?.Name.Identifier.ValueText == OrderArgumentName)
                {
                    return argument.GetLocation();
                }
            }

            return syntax.GetLocation();
        }

        return member.Locations[0];
    }
}
