using System;
using System.IO;

namespace MambaGen.Cli.Tests;

public class DefaultModelTests
{
    [Fact]
    public void Extraction_writes_the_four_files_into_a_content_hashed_folder_and_removes_older_models()
    {
        using var scratch = new ScratchFolder();
        string older = Path.Combine(scratch.Path, "default-0000000000000000");
        Directory.CreateDirectory(older);
        File.WriteAllText(Path.Combine(older, "config.json"), "{}");

        string first = DefaultModel.EnsureExtracted(scratch.Path);
        string second = DefaultModel.EnsureExtracted(scratch.Path);

        Assert.Equal(first, second);
        Assert.Equal(scratch.Path, Path.GetDirectoryName(first));
        Assert.Matches("default-[0-9a-f]{16}$", first);
        foreach (var file in new[] { "config.json", "model.safetensors", "tokenizer.json", "expected.safetensors" })
            Assert.True(File.ReadAllBytes(Path.Combine(CliFixtures.DefaultModelSource, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(first, file))), $"{file} differs from models/default/{file}");
        Assert.False(Directory.Exists(older), "an older default model should be removed once a newer one is in place");
        Assert.Empty(Directory.GetDirectories(scratch.Path, ".staging-*"));
    }
}
