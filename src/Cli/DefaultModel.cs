using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Security.Cryptography;

namespace MambaGen.Cli;

/// <summary>
/// The model embedded in mambagen (models/default: a 2.5M-parameter Mamba-2 trained on .NET API docs), extracted on
/// first use to a cache folder named after a hash of its files, so a newer embedded model gets a folder of its own and
/// replaces the old one.
/// </summary>
public static class DefaultModel
{
    /// <summary>Overrides the cache root (the folder that gets a <c>mambagen/models</c> subfolder).</summary>
    public const string CacheEnvironmentVariable = "MAMBAGEN_CACHE_DIR";

    private const string ResourcePrefix = "DefaultModel/";

    private static readonly string[] Files = { "config.json", "model.safetensors", "tokenizer.json", "expected.safetensors" };

    private static readonly object Gate = new();

    /// <summary>The folder holding the extracted default model, extracting it first if needed.</summary>
    public static string EnsureExtracted() => EnsureExtracted(ModelsRoot());

    /// <summary>The default model's folder under <paramref name="modelsRoot"/>, extracting it (and removing older ones) first if needed.</summary>
    public static string EnsureExtracted(string modelsRoot)
    {
        lock (Gate)
        {
            var assembly = typeof(DefaultModel).Assembly;
            var contents = Files.Select(f => (Name: f, Bytes: ReadResource(assembly, f))).ToArray();
            string hash;
            using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                foreach (var (name, bytes) in contents)
                {
                    sha.AppendData(System.Text.Encoding.UTF8.GetBytes(name + "\n" + bytes.Length + "\n"));
                    sha.AppendData(bytes);
                }

                hash = Convert.ToHexStringLower(sha.GetHashAndReset())[..16];
            }

            string target = Path.Combine(modelsRoot, "default-" + hash);
            if (Files.All(f => File.Exists(Path.Combine(target, f)))) return target;

            // Write beside the target and move it in whole, so a concurrent or interrupted run never sees half a model.
            Directory.CreateDirectory(modelsRoot);
            string staging = Path.Combine(modelsRoot, $".staging-{hash}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(staging);
            foreach (var (name, bytes) in contents) File.WriteAllBytes(Path.Combine(staging, name), bytes);
            try
            {
                Directory.Move(staging, target);
            }
            catch (IOException) when (Files.All(f => File.Exists(Path.Combine(target, f))))
            {
                // Another process extracted the same model first.
                TryDelete(staging);
            }

            foreach (var old in Directory.GetDirectories(modelsRoot, "default-*").Where(d => !string.Equals(d, target, StringComparison.Ordinal)))
                TryDelete(old);
            return target;
        }
    }

    /// <summary>$MAMBAGEN_CACHE_DIR, else $XDG_CACHE_HOME, else ~/.cache (Linux, macOS) or the local app data folder (Windows),
    /// else the temp folder when that is not writable; plus mambagen/models.</summary>
    public static string ModelsRoot()
    {
        string? root = Environment.GetEnvironmentVariable(CacheEnvironmentVariable);
        if (string.IsNullOrEmpty(root)) root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(root) && !OperatingSystem.IsWindows())
        {
            // XDG's default cache folder; .NET's LocalApplicationData is ~/.local/share, meant for data, not caches.
            string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify);
            if (!string.IsNullOrEmpty(home)) root = Path.Combine(home, ".cache");
        }

        if (string.IsNullOrEmpty(root)) root = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        if (string.IsNullOrEmpty(root) || !IsWritable(root)) root = Path.GetTempPath();
        return Path.Combine(root, "mambagen", "models");
    }

    private static byte[] ReadResource(Assembly assembly, string file)
    {
        using var stream = assembly.GetManifestResourceStream(ResourcePrefix + file)
            ?? throw new InvalidOperationException($"The default model's '{file}' is not embedded in {assembly.GetName().Name}; was models/default present when it was built?");
        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    private static bool IsWritable(string folder)
    {
        try
        {
            Directory.CreateDirectory(folder);
            string probe = Path.Combine(folder, $".mambagen-probe-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, Array.Empty<byte>());
            File.Delete(probe);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An old model another process still reads stays until a later run; it only costs disk.
        }
    }
}
