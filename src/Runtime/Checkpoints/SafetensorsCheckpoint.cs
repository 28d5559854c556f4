using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using static TorchSharp.torch;

namespace MambaGen.Checkpoints;

/// <summary>
/// The weights of a HuggingFace checkpoint folder: one <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c>. Every header is checked on open; tensors are read on demand.
/// </summary>
public sealed class SafetensorsCheckpoint
{
    public const string SingleFileName = "model.safetensors";
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>The largest shard index read (one of 100,000 tensors is a few MB); a larger file is refused before it is read.</summary>
    public const long MaxIndexFileBytes = 64L << 20;

    private readonly Dictionary<string, SafetensorsFile> _fileOfTensor;

    private SafetensorsCheckpoint(string source, Dictionary<string, SafetensorsFile> fileOfTensor)
    {
        SourcePath = source;
        _fileOfTensor = fileOfTensor;
    }

    /// <summary>The single safetensors file or the shard index: the file to name for a tensor the checkpoint lacks.</summary>
    public string SourcePath { get; }

    public IReadOnlyCollection<string> TensorNames => _fileOfTensor.Keys;

    public bool Contains(string name) => _fileOfTensor.ContainsKey(name);

    /// <summary>Where and how <paramref name="name"/> is stored.</summary>
    public SafetensorsTensorInfo Info(string name) => FileOf(name).Tensors[name];

    /// <summary>Reads one tensor into a new CPU tensor; the caller disposes it.</summary>
    public Tensor Read(string name) => FileOf(name).Read(name);

    /// <summary>Reads one tensor into <paramref name="target"/> (contiguous, CPU, as many elements), converting its dtype
    /// without a full-size copy (see <see cref="SafetensorsFile.ReadInto"/>).</summary>
    public void ReadInto(string name, Tensor target) => FileOf(name).ReadInto(name, target);

    /// <summary>Opens the weights of a checkpoint folder, preferring the shard index when both forms are present.</summary>
    public static SafetensorsCheckpoint Open(string folder)
    {
        if (!Directory.Exists(folder)) throw new CheckpointException(folder, null, "checkpoint folder not found");
        string index = Path.Combine(folder, IndexFileName);
        if (File.Exists(index)) return OpenSharded(index);
        string single = Path.Combine(folder, SingleFileName);
        if (File.Exists(single)) return OpenFile(single);
        string hint = File.Exists(Path.Combine(folder, "pytorch_model.bin"))
            ? " (pytorch_model.bin is a pickle; convert it to safetensors)" : "";
        throw new CheckpointException(single, null, $"not found, and neither is {IndexFileName}{hint}");
    }

    /// <summary>Opens a single safetensors file as a checkpoint.</summary>
    public static SafetensorsCheckpoint OpenFile(string path)
    {
        var file = SafetensorsFile.Open(path);
        return new SafetensorsCheckpoint(path, file.Tensors.Keys.ToDictionary(name => name, _ => file, StringComparer.Ordinal));
    }

    /// <summary>Opens the shards named by a <c>model.safetensors.index.json</c>; every broken entry is reported at once.</summary>
    public static SafetensorsCheckpoint OpenSharded(string indexPath)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        var weightMap = ReadWeightMap(indexPath);
        var problems = new List<CheckpointProblem>();
        var shards = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        foreach (string shardName in weightMap.Values.Distinct(StringComparer.Ordinal))
        {
            if (Path.GetFileName(shardName) != shardName)
            {
                problems.Add(new CheckpointProblem(indexPath, shardName, "shard must be a file name in the checkpoint folder, not a path", "shard"));
                continue;
            }
            string shardPath = Path.Combine(folder, shardName);
            if (!File.Exists(shardPath))
            {
                foreach (var tensor in weightMap.Where(kv => kv.Value == shardName).Select(kv => kv.Key))
                    problems.Add(new CheckpointProblem(indexPath, tensor, $"weight_map points to shard '{shardName}', which does not exist"));
                continue;
            }
            try
            {
                shards[shardName] = SafetensorsFile.Open(shardPath);
            }
            catch (CheckpointException e)
            {
                problems.AddRange(e.Problems);
            }
        }

        var fileOfTensor = new Dictionary<string, SafetensorsFile>(StringComparer.Ordinal);
        foreach (var (tensor, shardName) in weightMap)
        {
            if (!shards.TryGetValue(shardName, out var shard)) continue;
            if (shard.Tensors.ContainsKey(tensor)) fileOfTensor[tensor] = shard;
            else problems.Add(new CheckpointProblem(shard.Path, tensor, $"listed in {IndexFileName} but absent from its shard"));
        }
        // A tensor a shard holds but the index does not list would be silently dropped: refuse it instead.
        foreach (var shard in shards.Values)
            foreach (var tensor in shard.Tensors.Keys.Where(t => !weightMap.ContainsKey(t)))
                problems.Add(new CheckpointProblem(shard.Path, tensor, $"held by the shard but not listed in {IndexFileName}'s weight_map"));

        if (problems.Count > 0) throw new CheckpointException(problems);
        return new SafetensorsCheckpoint(indexPath, fileOfTensor);
    }

    private static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        using var document = LenientJson.ParseFile(indexPath, MaxIndexFileBytes);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(new CheckpointProblem(indexPath, "weight_map", "required object is missing", "key"));
        var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
        var problems = new List<CheckpointProblem>();
        foreach (var entry in map.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                problems.Add(new CheckpointProblem(indexPath, entry.Name, $"weight_map value must be a shard file name, found {entry.Value.ValueKind}"));
            else if (!weightMap.TryAdd(entry.Name, entry.Value.GetString()!))
                problems.Add(new CheckpointProblem(indexPath, entry.Name, "appears twice in weight_map"));
        }
        if (problems.Count > 0) throw new CheckpointException(problems);
        if (weightMap.Count == 0) throw new CheckpointException(new CheckpointProblem(indexPath, "weight_map", "is empty", "key"));
        return weightMap;
    }

    private SafetensorsFile FileOf(string name) => _fileOfTensor.TryGetValue(name, out var file)
        ? file
        : throw new CheckpointException(SourcePath, name, "not in the checkpoint");
}
