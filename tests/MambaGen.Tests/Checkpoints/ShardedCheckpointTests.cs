using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using MambaGen.Checkpoints;

namespace MambaGen.Tests.Checkpoints;

public class ShardedCheckpointTests
{
    private const string Shard1 = "model-00001-of-00002.safetensors";
    private const string Shard2 = "model-00002-of-00002.safetensors";

    /// <summary>The Mamba1 fixture split into two shards (layers 0-1, then the rest) with its index.</summary>
    private static ScratchFolder ShardedMamba1(out Dictionary<string, string> weightMap)
    {
        var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba1, "model.safetensors");
        var tensors = SafetensorsTestWriter.ReadAll(Path.Combine(CheckpointFixtures.Mamba1, "model.safetensors"));
        bool InFirst(RawTensor t) => t.Name.StartsWith("backbone.layers.0.") || t.Name.StartsWith("backbone.layers.1.");
        SafetensorsTestWriter.Write(scratch.File(Shard1), tensors.Where(InFirst));
        SafetensorsTestWriter.Write(scratch.File(Shard2), tensors.Where(t => !InFirst(t)));
        weightMap = tensors.ToDictionary(t => t.Name, t => InFirst(t) ? Shard1 : Shard2);
        WriteIndex(scratch, weightMap);
        return scratch;
    }

    private static void WriteIndex(ScratchFolder scratch, Dictionary<string, string> weightMap) =>
        File.WriteAllText(scratch.File(SafetensorsCheckpoint.IndexFileName),
            JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = weightMap }));

    [Fact]
    public void Sharded_checkpoint_finds_every_tensor_in_its_shard()
    {
        using var scratch = ShardedMamba1(out var weightMap);
        var weights = SafetensorsCheckpoint.Open(scratch.Path);
        var single = SafetensorsCheckpoint.Open(CheckpointFixtures.Mamba1);
        Assert.Equal(single.TensorNames.OrderBy(n => n), weights.TensorNames.OrderBy(n => n));
        Assert.Equal(scratch.File(Shard1), weights.Info("backbone.layers.1.mixer.in_proj.weight").File);
        Assert.Equal(scratch.File(Shard2), weights.Info("backbone.norm_f.weight").File);
        using var fromShard = weights.Read("backbone.layers.2.mixer.A_log");
        using var fromSingle = single.Read("backbone.layers.2.mixer.A_log");
        Assert.True(fromShard.equal(fromSingle).all().item<bool>());
    }

    [Fact]
    public void Missing_shard_names_the_index_and_each_tensor_it_should_hold()
    {
        using var scratch = ShardedMamba1(out var weightMap);
        File.Delete(scratch.File(Shard2));
        var e = Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(scratch.Path));
        Assert.All(e.Problems, p => Assert.Equal(scratch.File(SafetensorsCheckpoint.IndexFileName), p.File));
        Assert.Equal(weightMap.Where(kv => kv.Value == Shard2).Select(kv => kv.Key).OrderBy(n => n),
            e.Problems.Select(p => p.Name!).OrderBy(n => n));
        Assert.Contains($"'{Shard2}', which does not exist", e.Message);
    }

    [Fact]
    public void Tensor_absent_from_its_shard_names_the_shard_and_the_tensor()
    {
        using var scratch = ShardedMamba1(out var weightMap);
        weightMap["backbone.layers.0.mixer.D"] = Shard2; // it lives in shard 1
        WriteIndex(scratch, weightMap);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(scratch.Path));
        var absent = Assert.Single(e.Problems, p => p.Reason.Contains("absent from its shard"));
        Assert.Equal(scratch.File(Shard2), absent.File);
        Assert.Equal("backbone.layers.0.mixer.D", absent.Name);
    }

    [Fact]
    public void Tensor_a_shard_holds_but_the_index_omits_is_refused()
    {
        using var scratch = ShardedMamba1(out var weightMap);
        weightMap.Remove("backbone.norm_f.weight");
        WriteIndex(scratch, weightMap);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(scratch.Path));
        Assert.Equal(scratch.File(Shard2), e.File);
        Assert.Equal("backbone.norm_f.weight", e.Name);
    }

    [Fact]
    public void Truncated_shard_is_reported_with_the_shard_and_tensor()
    {
        using var scratch = ShardedMamba1(out _);
        using (var stream = new FileStream(scratch.File(Shard1), FileMode.Open)) stream.SetLength(stream.Length - 4);
        var e = Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(scratch.Path));
        Assert.Equal(scratch.File(Shard1), e.File);
        Assert.Equal("backbone.layers.1.norm.weight", e.Name); // the last tensor written to shard 1
    }

    [Fact]
    public void Folder_without_weights_says_what_it_looked_for()
    {
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba1, "model.safetensors");
        var e = Assert.Throws<CheckpointException>(() => SafetensorsCheckpoint.Open(scratch.Path));
        Assert.Contains("model.safetensors", e.Message);
        Assert.Contains(SafetensorsCheckpoint.IndexFileName, e.Message);
    }
}
