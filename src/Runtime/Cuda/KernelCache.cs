using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;

namespace MambaGen.Cuda;

/// <summary>
/// Compiled kernel modules on disk, one file per key (<see cref="Key"/>). Entries are written atomically (a temporary
/// file renamed over the name) and carry their length and SHA-256, so a torn or corrupt entry is noticed, logged and
/// recompiled. A folder that cannot be created or written turns caching off (logged); the cache never fails a load.
/// </summary>
public sealed class KernelCache
{
    /// <summary>The environment variable that names the cache folder.</summary>
    public const string DirectoryVariable = "MAMBAGEN_KERNEL_CACHE";

    private const string FormatTag = "mambagen-kernel-cache-v1";
    private static readonly byte[] Magic = "MGKC\u0001\n\0\0"u8.ToArray();
    private const int HeaderBytes = 8 + 8 + 32;

    private readonly Action<string>? _log;
    private readonly object _gate = new();
    private string? _directory;
    private bool _folderChecked;

    /// <param name="directory">The folder; null turns caching off.</param>
    /// <param name="log">Where problems with the cache are reported (they never throw).</param>
    public KernelCache(string? directory, Action<string>? log = null)
    {
        _directory = string.IsNullOrWhiteSpace(directory) ? null : directory;
        _log = log;
    }

    /// <summary>A cache that stores nothing.</summary>
    public static KernelCache Disabled { get; } = new(null);

    /// <summary>The cache in <see cref="DefaultDirectory()"/>.</summary>
    public static KernelCache FromEnvironment(Action<string>? log = null) => new(DefaultDirectory(), log);

    /// <summary>
    /// <c>$MAMBAGEN_KERNEL_CACHE</c> (<c>off</c>: no cache), else <c>$XDG_CACHE_HOME/mambagen/kernels</c>, else
    /// <c>~/.cache/mambagen/kernels</c>.
    /// </summary>
    public static string? DefaultDirectory() => DefaultDirectory(Environment.GetEnvironmentVariable);

    internal static string? DefaultDirectory(Func<string, string?> environment)
    {
        var explicitFolder = environment(DirectoryVariable);
        if (!string.IsNullOrWhiteSpace(explicitFolder))
        {
            return string.Equals(explicitFolder.Trim(), "off", StringComparison.OrdinalIgnoreCase) ? null : explicitFolder;
        }

        var xdg = environment("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg))
        {
            return Path.Combine(xdg, "mambagen", "kernels");
        }

        var home = environment("HOME");
        if (string.IsNullOrWhiteSpace(home))
        {
            home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        }

        return string.IsNullOrWhiteSpace(home) ? null : Path.Combine(home, ".cache", "mambagen", "kernels");
    }

    /// <summary>The folder in use; null when caching is off (never configured, or turned off after a failure).</summary>
    public string? Directory
    {
        get
        {
            lock (_gate)
            {
                return _directory;
            }
        }
    }

    /// <summary>
    /// The key of a compiled module: SHA-256 over every input that changes the machine code. Each part is written with
    /// its length, so moving text from one part to the next changes the key.
    /// </summary>
    public static string Key(string source, string prelude, IEnumerable<string> options, string nvrtcVersion, string arch, int driverVersion)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Part(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(length, bytes.Length);
            hash.AppendData(length);
            hash.AppendData(bytes);
        }

        Part(FormatTag);
        Part(source);
        Part(prelude);
        var optionList = new List<string>(options);
        Part(optionList.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (var option in optionList)
        {
            Part(option);
        }

        Part(nvrtcVersion);
        Part(arch);
        Part(driverVersion.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
    }

    /// <summary>The path of a key's entry, or null when caching is off.</summary>
    public string? EntryPath(string key)
    {
        var folder = Directory;
        return folder is null ? null : Path.Combine(folder, key + ".cubin");
    }

    /// <summary>The entry's module image, or null when there is none or it is unreadable or damaged (logged).</summary>
    public byte[]? TryRead(string key)
    {
        var path = EntryPath(key);
        if (path is null || !File.Exists(path))
        {
            return null;
        }

        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log?.Invoke($"kernel cache: could not read {path} ({e.Message}); compiling instead");
            return null;
        }

        var problem = Decode(bytes, out var payload);
        if (problem is null)
        {
            return payload;
        }

        _log?.Invoke($"kernel cache: ignored {path}: {problem}; compiling instead");
        TryDelete(path);
        return null;
    }

    /// <summary>Stores an entry atomically; on failure logs, turns caching off for this process and returns false.</summary>
    public bool Write(string key, ReadOnlySpan<byte> image)
    {
        var folder = EnsureFolder();
        if (folder is null)
        {
            return false;
        }

        var path = Path.Combine(folder, key + ".cubin");
        var temporary = Path.Combine(folder, $"{key}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(Encode(image));
                stream.Flush(flushToDisk: true);
            }

            // Rename is atomic within a folder: readers see the old entry or the whole new one, never a part.
            File.Move(temporary, path, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
            Disable($"could not write {path} ({e.Message})");
            return false;
        }
    }

    internal static byte[] Encode(ReadOnlySpan<byte> payload)
    {
        var bytes = new byte[HeaderBytes + payload.Length];
        Magic.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), payload.Length);
        SHA256.HashData(payload, bytes.AsSpan(16, 32));
        payload.CopyTo(bytes.AsSpan(HeaderBytes));
        return bytes;
    }

    /// <summary>Null when the entry is whole, else what is wrong with it.</summary>
    internal static string? Decode(byte[] bytes, out byte[]? payload)
    {
        payload = null;
        if (bytes.Length < HeaderBytes || !bytes.AsSpan(0, 8).SequenceEqual(Magic))
        {
            return "not a kernel cache entry (bad header)";
        }

        long length = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(8));
        if (length != bytes.Length - HeaderBytes)
        {
            return $"truncated ({bytes.Length - HeaderBytes} of {length} bytes)";
        }

        var body = bytes.AsSpan(HeaderBytes);
        Span<byte> actual = stackalloc byte[32];
        SHA256.HashData(body, actual);
        if (!actual.SequenceEqual(bytes.AsSpan(16, 32)))
        {
            return "corrupt (checksum mismatch)";
        }

        payload = body.ToArray();
        return null;
    }

    private string? EnsureFolder()
    {
        lock (_gate)
        {
            if (_directory is null || _folderChecked)
            {
                return _directory;
            }

            try
            {
                System.IO.Directory.CreateDirectory(_directory);
                _folderChecked = true;
                return _directory;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                var folder = _directory;
                _directory = null;
                _log?.Invoke($"kernel cache: off, the folder {folder} cannot be created ({e.Message}); set {DirectoryVariable} to a writable folder");
                return null;
            }
        }
    }

    private void Disable(string why)
    {
        lock (_gate)
        {
            if (_directory is null)
            {
                return;
            }

            _log?.Invoke($"kernel cache: off for this process, {why}; set {DirectoryVariable} to a writable folder");
            _directory = null;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A damaged entry that cannot be removed is overwritten by the next successful compile.
        }
    }
}
