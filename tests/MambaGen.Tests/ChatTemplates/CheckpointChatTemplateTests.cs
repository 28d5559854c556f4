using System.IO;
using MambaGen.ChatTemplates;
using MambaGen.Checkpoints;
using MambaGen.Tests.Checkpoints;

namespace MambaGen.Tests.ChatTemplates;

public class CheckpointChatTemplateTests
{
    [Fact]
    public void A_checkpoint_without_tokenizer_config_has_no_chat_template()
    {
        var checkpoint = HuggingFaceCheckpoint.Open(CheckpointFixtures.Mamba2);
        Assert.Null(checkpoint.ChatTemplateSource);
        Assert.Null(checkpoint.LoadChatTemplate());
        Assert.Null(checkpoint.ChatConfig.BosToken);
    }

    [Fact]
    public void A_checkpoint_exposes_its_chat_template_with_its_bos_and_eos_strings()
    {
        using var scratch = ScratchFolder.CopyOf(CheckpointFixtures.Mamba2);
        File.WriteAllText(scratch.File("tokenizer_config.json"),
            "{\"bos_token\": \"<|startoftext|>\", \"eos_token\": \"<|im_end|>\", \"chat_template\": \"{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}\"}");
        var checkpoint = HuggingFaceCheckpoint.Open(scratch.Path);
        var template = checkpoint.LoadChatTemplate();
        Assert.NotNull(template);
        Assert.Equal("<|startoftext|>hi<|im_end|>", template!.Render(new[] { new ChatMessage("user", "hi") }, false));
        Assert.Equal("<|startoftext|>", template.Options.BosToken);
    }
}
