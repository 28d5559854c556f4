using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;

namespace MambaGen.Generators.Tests.Infrastructure;

/// <summary>Checks that the generator's pipeline caches: equal models, no symbols or syntax kept alive.</summary>
internal static class CacheAssertions
{
    public static readonly string[] TrackedStepNames = { TrackingNames.InitialExtraction, TrackingNames.RemovingNulls, TrackingNames.AssigningHintNames };

    public static readonly string[] DiagnosticStepNames = { TrackingNames.LayerDiagnostics, TrackingNames.MissingMembersDiagnostics };

    /// <summary>Re-runs <paramref name="driver"/> on a clone of <paramref name="compilation"/>: nothing may be recomputed.</summary>
    public static void SecondRunIsFullyCached(GeneratorDriver driver, Compilation compilation)
    {
        var first = driver.GetRunResult().Results.Single();
        var second = driver.RunGenerators(compilation.Clone()).GetRunResult().Results.Single();

        foreach (var name in TrackedStepNames)
        {
            Assert.True(first.TrackedSteps.ContainsKey(name), $"Step '{name}' did not run.");
            var firstOutputs = Outputs(first, name);
            var secondOutputs = Outputs(second, name);
            Assert.Equal(firstOutputs.Select(o => o.Value), secondOutputs.Select(o => o.Value));
            Assert.All(secondOutputs, o => Assert.True(
                o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                $"Step '{name}' output was {o.Reason} on an unchanged compilation."));
            Assert.All(firstOutputs, o => AssertHoldsNoCompilationObjects(o.Value, name));
        }

        // The diagnostics the generator reports itself hold their location's syntax tree (never a compilation): equal,
        // so cached, while the file is unchanged. A step without input (no candidate class) is not recorded at all.
        foreach (var name in DiagnosticStepNames)
        {
            Assert.All(Outputs(second, name), o => Assert.True(
                o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged,
                $"Step '{name}' output was {o.Reason} on an unchanged compilation."));
        }

        var outputs = second.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs).ToArray();
        Assert.NotEmpty(outputs);
        Assert.All(outputs, o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    public static (object Value, IncrementalStepRunReason Reason)[] Outputs(GeneratorRunResult result, string stepName) =>
        result.TrackedSteps.TryGetValue(stepName, out var steps)
            ? steps.SelectMany(s => s.Outputs).ToArray()
            : Array.Empty<(object, IncrementalStepRunReason)>();

    /// <summary>Walks <paramref name="value"/>'s object graph: a symbol, syntax node or compilation in a model roots old compilations.</summary>
    public static void AssertHoldsNoCompilationObjects(object? value, string stepName) =>
        Walk(value, stepName, "output", new HashSet<object>(ReferenceEqualityComparer.Instance));

    private static void Walk(object? value, string stepName, string path, HashSet<object> seen)
    {
        // A report holds its location's syntax tree, never a compilation: the one exception, by design.
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum || value is Reporting.ReportedDiagnostic)
        {
            return;
        }

        Assert.False(
            value is ISymbol or SyntaxNode or SyntaxTree or Compilation or SemanticModel or Location or AttributeData,
            $"Step '{stepName}' output holds a {value.GetType().Name} at {path}.");

        if (!value.GetType().IsValueType && !seen.Add(value))
        {
            return;
        }

        if (value is IEnumerable items)
        {
            int i = 0;
            foreach (var item in items)
            {
                Walk(item, stepName, $"{path}[{i++}]", seen);
            }

            return;
        }

        foreach (var field in value.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
        {
            Walk(field.GetValue(value), stepName, $"{path}.{field.Name}", seen);
        }
    }
}
