using System.IO;
using System.Linq;
using MambaGen.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace MambaGen.Tests.Checkpoints;

public class CheckpointLoaderTests
{
    private static string FixtureFile => Path.Combine(CheckpointFixtures.Mamba1, "model.safetensors");

    [Fact]
    public void Every_model_tensor_gets_the_checkpoint_value_of_its_name()
    {
        using var model = new TinyMamba1ForCausalLM();
        var report = CheckpointLoader.LoadInto(model, CheckpointFixtures.Mamba1);

        var file = SafetensorsFile.Open(FixtureFile);
        var state = model.state_dict();
        Assert.Equal(file.Tensors.Keys.OrderBy(n => n), report.Loaded.OrderBy(n => n));
        foreach (var name in file.Tensors.Keys)
        {
            using var expected = file.Read(name);
            Assert.True(state[name].equal(expected).all().item<bool>(), name);
        }
    }

    [Fact]
    public void Tied_lm_head_is_filled_from_the_embedding_when_the_checkpoint_omits_it()
    {
        using var model = new TinyMamba1ForCausalLM();
        var report = CheckpointLoader.LoadInto(model, CheckpointFixtures.Mamba1);
        Assert.Equal(new[] { "lm_head.weight" }, report.Tied);
        using var embedding = SafetensorsFile.Open(FixtureFile).Read("backbone.embeddings.weight");
        Assert.True(model.lm_head.weight!.equal(embedding).all().item<bool>());
    }

    [Fact]
    public void Untied_checkpoint_without_lm_head_is_a_missing_tensor()
    {
        using var model = new TinyMamba1ForCausalLM();
        var weights = SafetensorsCheckpoint.Open(CheckpointFixtures.Mamba1);
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.LoadInto(model, weights, tieWordEmbeddings: false));
        Assert.Equal(FixtureFile, e.File);
        Assert.Equal("lm_head.weight", e.Name);
        Assert.Contains("tie_word_embeddings false", e.Message);
    }

    [Theory]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Float16)]
    public void Fp32_weights_convert_to_the_model_dtype(ScalarType dtype)
    {
        using var model = new TinyMamba1ForCausalLM();
        model.to(dtype);
        CheckpointLoader.LoadInto(model, CheckpointFixtures.Mamba1);
        using var expected = SafetensorsFile.Open(FixtureFile).Read("backbone.layers.2.mixer.in_proj.weight");
        using var expectedInDtype = expected.to(dtype);
        var loaded = model.state_dict()["backbone.layers.2.mixer.in_proj.weight"];
        Assert.Equal(dtype, loaded.dtype);
        Assert.True(loaded.equal(expectedInDtype).all().item<bool>());
    }

    [Fact]
    public void Bf16_and_fp16_checkpoint_weights_load_into_an_fp32_model()
    {
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba1);
        string path = scratch.File("model.safetensors");
        var source = SafetensorsFile.Open(FixtureFile);
        var tensors = source.Tensors.Keys.Select(name =>
        {
            using var t = source.Read(name);
            using var converted = t.to(name.Contains("layers.1.") ? ScalarType.Float16 : ScalarType.BFloat16);
            return RawTensor.From(name, converted);
        }).ToList();
        SafetensorsTestWriter.Write(path, tensors);

        using var model = new TinyMamba1ForCausalLM();
        CheckpointLoader.LoadInto(model, scratch.Path);
        foreach (var name in new[] { "backbone.layers.1.mixer.x_proj.weight", "backbone.layers.0.mixer.x_proj.weight" })
        {
            using var original = source.Read(name);
            var loaded = model.state_dict()[name];
            Assert.Equal(ScalarType.Float32, loaded.dtype);
            // Half precision keeps about 3 significant digits; the values went through it and back.
            Assert.True(loaded.allclose(original, rtol: 1e-2, atol: 1e-3), name);
            Assert.False(loaded.equal(original).all().item<bool>(), name + " should show the rounding of its 16-bit copy");
        }
    }

    [Fact]
    public void Missing_extra_and_misshapen_tensors_are_listed_together_and_the_model_is_untouched()
    {
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba1);
        string path = scratch.File("model.safetensors");
        var tensors = SafetensorsTestWriter.ReadAll(path);
        tensors.RemoveAll(t => t.Name == "backbone.layers.1.mixer.D");
        tensors.Add(new RawTensor("backbone.layers.3.mixer.D", "F32", new long[] { 96 }, new byte[96 * 4]));
        int i = tensors.FindIndex(t => t.Name == "backbone.layers.0.mixer.A_log");
        tensors[i] = tensors[i] with { Shape = new long[] { 8, 96 } };
        SafetensorsTestWriter.Write(path, tensors);

        using var model = new TinyMamba1ForCausalLM();
        using var before = model.state_dict()["backbone.layers.2.mixer.in_proj.weight"].clone();
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.LoadInto(model, scratch.Path));

        Assert.Equal(3, e.Problems.Count);
        Assert.All(e.Problems, p => Assert.Equal(path, p.File));
        var missing = Assert.Single(e.Problems, p => p.Name == "backbone.layers.1.mixer.D");
        Assert.Contains("missing", missing.Reason);
        var extra = Assert.Single(e.Problems, p => p.Name == "backbone.layers.3.mixer.D");
        Assert.Contains("not a tensor of the model", extra.Reason);
        var misshapen = Assert.Single(e.Problems, p => p.Name == "backbone.layers.0.mixer.A_log");
        Assert.Contains("shape [8, 96] does not match the model's [96, 8]", misshapen.Reason);
        Assert.True(model.state_dict()["backbone.layers.2.mixer.in_proj.weight"].equal(before).all().item<bool>());
    }

    [Fact]
    public void A_misshapen_tensor_under_transformers_5s_expert_name_is_named_as_saved_and_as_loaded()
    {
        // The fixture holds GraniteMoe's experts as transformers 5 saves them (experts.gate_up_proj for input_linear).
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Folder("dev-granite-hybrid-moe-rope"));
        string path = scratch.File("model.safetensors");
        var tensors = SafetensorsTestWriter.ReadAll(path);
        const string saved = "model.layers.0.block_sparse_moe.experts.gate_up_proj";
        int i = tensors.FindIndex(t => t.Name == saved);
        tensors[i] = tensors[i] with { Shape = new long[] { 8, 48, 64 } };
        SafetensorsTestWriter.Write(path, tensors);

        var e = Assert.Throws<CheckpointException>(() => MambaGen.Models.Hybrid.HybridLanguageModel.Load(scratch.Path, CPU));

        var problem = Assert.Single(e.Problems);
        Assert.Equal(saved, problem.Name);
        Assert.Contains("shape [8, 48, 64] does not match the model's [4, 96, 64] (loaded as 'model.layers.0.block_sparse_moe.input_linear.weight')", problem.Reason);
    }

    [Fact]
    public void Integer_tensor_for_a_float_parameter_is_a_wrong_dtype()
    {
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba1);
        string path = scratch.File("model.safetensors");
        var tensors = SafetensorsTestWriter.ReadAll(path);
        int i = tensors.FindIndex(t => t.Name == "backbone.norm_f.weight");
        tensors[i] = tensors[i] with { Dtype = "I32" }; // same byte count, so only the dtype is wrong
        SafetensorsTestWriter.Write(path, tensors);

        using var model = new TinyMamba1ForCausalLM();
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.LoadInto(model, scratch.Path));
        Assert.Equal(path, e.File);
        Assert.Equal("backbone.norm_f.weight", e.Name);
        Assert.Contains("dtype I32 cannot be loaded", e.Message);
    }

    [Fact]
    public void Checkpoint_for_another_architecture_is_refused_by_tensor()
    {
        using var model = new TinyMamba1ForCausalLM();
        var e = Assert.Throws<CheckpointException>(() => CheckpointLoader.LoadInto(model, CheckpointFixtures.Mamba2));
        Assert.Contains(e.Problems, p => p.Name == "backbone.layers.0.mixer.dt_bias" && p.Reason.Contains("not a tensor of the model"));
        Assert.Contains(e.Problems, p => p.Name == "backbone.layers.0.mixer.x_proj.weight" && p.Reason.Contains("missing"));
        Assert.Contains(e.Problems, p => p.Name == "backbone.layers.0.mixer.in_proj.weight" && p.Reason.Contains("shape [214, 48]"));
    }
}
