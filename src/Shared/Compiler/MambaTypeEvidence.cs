#if MAMBAGEN_COMPILER
// Compiled into the generator and the analyzers only (src/Runtime also compiles src/Shared; it has no Roslyn).
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace MambaGen;

/// <summary>
/// Which mamba type a class's code points to: the <c>MambaStateShapeCalculator</c> methods it calls (a state computed
/// with <c>MambaStateShapeCalculator.Mamba2(...)</c> is a mamba2 state). Read from syntax only, so it is cheap and
/// needs no semantic model; a call through <c>using static</c> is not counted.
/// </summary>
internal static class MambaTypeEvidence
{
    private const string Calculator = "MambaStateShapeCalculator";

    /// <summary>The calculator's methods and the mamba type each computes states for, in vLLM's order of types.</summary>
    private static readonly (string Method, string MambaType)[] CalculatorMethods =
    {
        ("Mamba1", KnownMambaTypes.Mamba1),
        ("Mamba2", KnownMambaTypes.Mamba2),
        ("ShortConv", KnownMambaTypes.ShortConv),
        ("LinearAttention", KnownMambaTypes.LinearAttention),
        ("GatedDeltaNet", KnownMambaTypes.GdnAttention),
    };

    /// <summary>The known mamba type most of the class's calculator calls are for (ties: the first in vLLM's order);
    /// null when it calls none.</summary>
    public static string? For(INamedTypeSymbol type, CancellationToken cancellationToken)
    {
        var counts = new int[CalculatorMethods.Length];
        foreach (var reference in type.DeclaringSyntaxReferences)
        {
            foreach (var node in reference.GetSyntax(cancellationToken).DescendantNodes())
            {
                if (node is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax access } && ReceiverName(access.Expression) == Calculator)
                {
                    for (int i = 0; i < CalculatorMethods.Length; i++)
                    {
                        if (access.Name.Identifier.ValueText == CalculatorMethods[i].Method)
                        {
                            counts[i]++;
                        }
                    }
                }
            }
        }

        int best = -1;
        for (int i = 0; i < counts.Length; i++)
        {
            if (counts[i] > 0 && (best < 0 || counts[i] > counts[best]))
            {
                best = i;
            }
        }

        return best < 0 ? null : CalculatorMethods[best].MambaType;
    }

    private static string? ReceiverName(ExpressionSyntax receiver) => receiver switch
    {
        IdentifierNameSyntax name => name.Identifier.ValueText,
        MemberAccessExpressionSyntax access => access.Name.Identifier.ValueText,
        AliasQualifiedNameSyntax alias => alias.Name.Identifier.ValueText,
        QualifiedNameSyntax qualified => qualified.Right.Identifier.ValueText,
        _ => null,
    };
}
#endif
