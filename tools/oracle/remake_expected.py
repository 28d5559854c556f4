# Recomputes a checkpoint's expected.safetensors with HuggingFace transformers (fp32, CPU), keeping its inputs.
# Unlike a plain generate(), it passes an all-ones attention mask: transformers otherwise masks every prompt token
# equal to pad_token_id, and its generation references stop matching its own full forward.
# Usage (where python3 has torch and transformers): python3 remake_expected.py CHECKPOINT_DIR OUT_FILE
import sys, torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, MambaForCausalLM, Mamba2ForCausalLM

folder, out = sys.argv[1], sys.argv[2]
config = AutoConfig.from_pretrained(folder)
cls = {"mamba": MambaForCausalLM, "mamba2": Mamba2ForCausalLM}[config.model_type]
model = cls.from_pretrained(folder, torch_dtype=torch.float32).eval()
old = load_file(f"{folder}/expected.safetensors")
ids, prompt = old["input_ids"], old["gen_prompt"]
new_tokens = old["gen_logits"].shape[1]
with torch.no_grad():
    logits = model(ids).logits.float()
    gen = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new_tokens, do_sample=False,
                         output_logits=True, return_dict_in_generate=True, pad_token_id=config.pad_token_id, eos_token_id=None)
    gen_logits = torch.stack([s.float() for s in gen.logits], 1)
    # Self-check: the first generated step must equal the full forward at the last prompt position.
    full = model(prompt).logits.float()[:, -1]
    print(f"{folder}: first-step vs full-forward max |diff| {(gen_logits[:, 0] - full).abs().max().item():.3e};"
          f" old gen_tokens equal: {torch.equal(old['gen_tokens'], gen.sequences)}")
save_file({"input_ids": ids.contiguous(), "logits": logits.contiguous(), "gen_prompt": prompt.contiguous(),
           "gen_tokens": gen.sequences.contiguous(), "gen_logits": gen_logits.contiguous()}, out)
