using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using MambaGen.Analyzers.CodeFixes;
using MambaGen.Testing;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;
using MambaGen.Diagnostics;

namespace MambaGen.Analyzers.Tests;

/// <summary>Keeps IDs, descriptors, analyzers, code fixes, docs pages and release tracking in step.</summary>
public sealed class DiagnosticCatalogTests
{
    private static readonly DiagnosticDescriptor[] Descriptors = typeof(DiagnosticDescriptors)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.FieldType == typeof(DiagnosticDescriptor))
        .Select(f => (DiagnosticDescriptor)f.GetValue(null)!)
        .ToArray();

    private static readonly string[] Ids = typeof(DiagnosticIds)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral)
        .Select(f => (string)f.GetRawConstantValue()!)
        .ToArray();

    private static readonly string DocsDirectory = RepoPaths.Combine("docs", "diagnostics");

    [Fact]
    public void Every_id_has_exactly_one_descriptor()
    {
        Assert.Equal(Ids.OrderBy(i => i), Descriptors.Select(d => d.Id).OrderBy(i => i));
    }

    [Fact]
    public void Every_descriptor_has_its_docs_page_and_no_placeholder_help_link()
    {
        foreach (var descriptor in Descriptors)
        {
            Assert.Equal("", descriptor.HelpLinkUri);
            var page = Path.Combine(DocsDirectory, descriptor.Id + ".md");
            Assert.True(File.Exists(page), $"{descriptor.Id} has no page {page}.");
            Assert.StartsWith($"# {descriptor.Id}: ", File.ReadLines(page).First());
        }
    }

    [Fact]
    public void Every_docs_page_belongs_to_a_descriptor()
    {
        var pages = Directory.GetFiles(DocsDirectory, "MG*.md").Select(Path.GetFileNameWithoutExtension);
        Assert.All(pages, page => Assert.Contains(page, Descriptors.Select(d => d.Id)));
    }

    [Fact]
    public void Docs_index_lists_every_id_with_its_severity_and_page()
    {
        var index = File.ReadAllText(Path.Combine(DocsDirectory, "README.md"));
        foreach (var descriptor in Descriptors)
        {
            Assert.Contains($"| [{descriptor.Id}]({descriptor.Id}.md) | {descriptor.DefaultSeverity} | {descriptor.Title} |", index);
        }
    }

    [Fact]
    public void Release_tracking_lists_every_id_with_its_category_and_severity()
    {
        var unshipped = File.ReadAllText(RepoPaths.Combine("src", "Analyzers", "AnalyzerReleases.Unshipped.md"));
        foreach (var descriptor in Descriptors)
        {
            Assert.Contains($"{descriptor.Id} | {descriptor.Category} | {descriptor.DefaultSeverity} |", unshipped);
        }
    }

    [Fact]
    public void Every_descriptor_is_reported_by_exactly_one_analyzer_or_by_the_generator()
    {
        var supported = Analyzers().SelectMany(a => a.SupportedDiagnostics.Select(d => d.Id)).Concat(DiagnosticIds.ReportedByGenerator).ToList();
        Assert.Equal(Descriptors.Select(d => d.Id).OrderBy(i => i), supported.OrderBy(i => i));
    }

    [Fact]
    public void Code_fixes_fix_only_known_ids()
    {
        var fixable = typeof(MakeLayerPartialCodeFix).Assembly.GetTypes()
            .Where(t => typeof(CodeFixProvider).IsAssignableFrom(t) && !t.IsAbstract)
            .SelectMany(t => ((CodeFixProvider)Activator.CreateInstance(t)!).FixableDiagnosticIds)
            .ToList();
        Assert.NotEmpty(fixable);
        Assert.All(fixable, id => Assert.Contains(id, Ids));
    }

    [Fact]
    public void Test_reference_assemblies_need_no_package_download()
    {
        var referenceAssemblies = Verification.TestReferences.NoDownload;
        Assert.Null(referenceAssemblies.ReferenceAssemblyPackage);
        Assert.Empty(referenceAssemblies.Packages);
        Assert.Empty(referenceAssemblies.Assemblies);
    }

    private static IEnumerable<DiagnosticAnalyzer> Analyzers() => typeof(DiagnosticDescriptors).Assembly.GetTypes()
        .Where(t => typeof(DiagnosticAnalyzer).IsAssignableFrom(t) && !t.IsAbstract)
        .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!);
}
