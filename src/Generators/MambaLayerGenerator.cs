using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using MambaGen.Generators.Emit;
using MambaGen.Generators.Extraction;
using MambaGen.Generators.Incremental;
using MambaGen.Generators.Model;
using MambaGen.Generators.Reporting;

namespace MambaGen.Generators;

/// <summary>
/// Completes every <c>partial</c> <c>[MambaLayer]</c> class deriving from <c>MambaBase</c>: <c>MambaType</c>,
/// <c>GetStateShape()</c>, <c>GetStateDtype()</c>, <c>GetAttnBackend()</c> and a typed accessor per state. A layer
/// whose declaration is invalid gets the four overrides throwing instead, so it compiles and the analyzers explain.
/// A class it cannot complete at all (MG0001, MG0002, MG0018-MG0020) is reported by the generator itself.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class MambaLayerGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // Read every class carrying [MambaLayer] (with the reader the analyzers use) into equatable values: a model for
        // those the generator can extend, and the diagnostics it reports itself. The scan re-binds only the layers whose
        // files (or files they depend on) changed, so a keystroke elsewhere costs look-ups, not a read of every layer.
        var extractions = context.CompilationProvider
            .Select(static (compilation, cancellationToken) => LayerScan.Layers(compilation, cancellationToken))
            .WithTrackingName(TrackingNames.ScanningLayers)
            .SelectMany(static (layers, _) => layers)
            .WithTrackingName(TrackingNames.InitialExtraction);

        // Drop the layers that cannot take a generated part: the compiler, the analyzer or the reports below explain them.
        var layers = extractions
            .Where(static extraction => extraction.Model is not null)
            .Select(static (extraction, _) => extraction.Model!)
            .WithTrackingName(TrackingNames.RemovingNulls);

        // Give layers whose names differ only in case distinct files; unchanged layers stay equal, so stay cached.
        var files = layers
            .Collect()
            .SelectMany(static (all, _) => UniqueHintNames.Assign(all))
            .WithTrackingName(TrackingNames.AssigningHintNames);

        // One file per layer. Not the "Implementation" variant: the output overrides abstract members the IDE must see.
        context.RegisterSourceOutput(files, static (context, layer) => Write(context, layer));

        // MG0001 and MG0002 leave the class with CS0534, so analyzers never run on it in a command-line build: the
        // generator reports these two itself.
        var layerReports = extractions
            .SelectMany(static (extraction, _) => extraction.Reports)
            .WithTrackingName(TrackingNames.LayerDiagnostics);
        context.RegisterSourceOutput(layerReports, static (context, report) => context.ReportDiagnostic(report.ToDiagnostic()));

        var missingMembers = context.CompilationProvider
            .Select(static (compilation, cancellationToken) => LayerScan.MissingMembers(compilation, cancellationToken))
            .SelectMany(static (reports, _) => reports)
            .WithTrackingName(TrackingNames.MissingMembersDiagnostics);
        context.RegisterSourceOutput(missingMembers, static (context, diagnostic) => context.ReportDiagnostic(diagnostic.ToDiagnostic()));
    }

    private static void Write(SourceProductionContext context, LayerModel layer)
    {
        context.CancellationToken.ThrowIfCancellationRequested();

        // An invalid layer whose overrides are all hand-written already compiles: a part would be empty.
        if (layer.Spec is null && (layer.Overrides & GeneratedOverrides.Abstract) == GeneratedOverrides.None)
        {
            return;
        }

        context.AddSource(layer.HintName, SourceText.From(LayerSourceEmitter.Emit(layer), Encoding.UTF8));
    }
}
