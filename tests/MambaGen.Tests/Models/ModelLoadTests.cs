using System.IO;
using System.Linq;
using MambaGen.Checkpoints;
using MambaGen.Models;
using MambaGen.Tests.Checkpoints;
using static TorchSharp.torch;

namespace MambaGen.Tests.Models;

/// <summary>What <see cref="MambaLanguageModel.Load"/> builds uninitialised for the loader to fill.</summary>
public class ModelLoadTests
{
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void An_untied_checkpoint_fills_the_lm_head_the_load_leaves_uninitialised(ScalarType dtype)
    {
        // The fixture untied: lm_head.weight stored beside the embedding it equals, so the logits must not change.
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba1);
        var file = SafetensorsFile.Open(scratch.File("model.safetensors"));
        var tensors = file.Tensors.Keys.Select(name => RawTensor.From(name, file.Read(name))).ToList();
        tensors.Add(RawTensor.From("lm_head.weight", file.Read("backbone.embeddings.weight")));
        SafetensorsTestWriter.Write(scratch.File("model.safetensors"), tensors);
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(scratch.File("config.json")))!.AsObject();
        config["tie_word_embeddings"] = false;
        File.WriteAllText(scratch.File("config.json"), config.ToJsonString());

        using var tied = MambaLanguageModel.Load(HuggingFaceCheckpoint.Open(CheckpointFixtures.Mamba1), CPU, dtype);
        using var untied = MambaLanguageModel.Load(HuggingFaceCheckpoint.Open(scratch.Path), CPU, dtype);
        Assert.Contains(untied.state_dict().Keys, k => k == "lm_head.weight");
        var step = new MambaGen.Backends.CommonAttentionMetadata(new[] { new MambaGen.Backends.ScheduledRequest(0, 4, 0) });
        using var cacheA = MambaGen.Cache.MambaStateCache.Allocate(tied.Mixers, 1, CPU);
        using var cacheB = MambaGen.Cache.MambaStateCache.Allocate(untied.Mixers, 1, CPU);
        using var ids = tensor(new long[] { 1, 5, 9, 2 });
        using var a = tied.ForwardAllTokens(ids, step);
        using var b = untied.ForwardAllTokens(ids, step);
        Assert.True(a.equal(b).all().item<bool>());
    }
}
