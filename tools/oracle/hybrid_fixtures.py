# Hybrid reference fixtures from HuggingFace transformers (fp32, CPU), for what tests/fixtures does not cover yet:
# Granite 4.0-H with MoE and RoPE, LFM2 and Granite with attention strong enough to matter, Nemotron-H (and its MoE
# layout, which MambaGen does not run yet), Falcon-H1.
# Same format as shared/oracle/hf_fixtures.py (config.json, model.safetensors without a tied lm_head,
# expected.safetensors: input_ids/logits full forward, gen_prompt/gen_tokens/gen_logits greedy with the cache and an
# all-ones attention mask). Each model is made in its own try block: a config key that this transformers version
# spells otherwise fails that model only, with the error printed.
# Usage on the GPU machine (python3 with torch and transformers):  OUT=/some/dir [ONLY=name,name] python3 hybrid_fixtures.py
import os, traceback, torch, transformers
from safetensors.torch import save_file

out = os.environ.get("OUT", "/tmp/hybrid-fixtures")
only = set(filter(None, os.environ.get("ONLY", "").split(",")))
os.makedirs(out, exist_ok=True)
print("torch", torch.__version__, "transformers", transformers.__version__)


def dump(name, model, cfg, batch=3, seqlen=29, prompt_len=7, new_tokens=10, seed=201):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    model.eval()
    # transformers 5.17's NemotronH does not tie lm_head to the embedding even with tie_word_embeddings set (its random
    # lm_head made the logits): say what the model really does, so the saved checkpoint holds the head it ran.
    head, emb = model.get_output_embeddings(), model.get_input_embeddings()
    if cfg.tie_word_embeddings and head is not None and head.weight.data_ptr() != emb.weight.data_ptr():
        print(f"{name}: config says tie_word_embeddings but the model's lm_head is its own weight: saved untied")
        cfg.tie_word_embeddings = False
    cfg.save_pretrained(d)
    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if cfg.tie_word_embeddings:
        sd.pop("lm_head.weight", None)
    save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    ids = torch.randint(0, cfg.vocab_size, (batch, seqlen), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        logits = model(ids).logits.float()
        prompt = ids[:, :prompt_len]
        gen = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new_tokens, do_sample=False,
                             output_logits=True, return_dict_in_generate=True, pad_token_id=0, eos_token_id=None)
        gen_logits = torch.stack([s.float() for s in gen.logits], 1)
        full = model(prompt).logits.float()[:, -1]
        # transformers' decode path against its own full forward over the same generated tokens.
        seq = gen.sequences[:, :-1]
        replay = model(seq).logits.float()[:, prompt_len - 1:]
    print(f"{name}: first step vs full forward max |diff| {(gen_logits[:, 0] - full).abs().max().item():.3e}")
    print(f"{name}: every generate step vs the full forward over the generated tokens max |diff| {(gen_logits - replay).abs().max().item():.3e}")
    save_file({"input_ids": ids.contiguous(), "logits": logits.contiguous(), "gen_prompt": prompt.contiguous(),
               "gen_tokens": gen.sequences.contiguous(), "gen_logits": gen_logits.contiguous()},
              os.path.join(d, "expected.safetensors"))
    print("wrote", d)


def spice(model, attention_gain=4.0):
    # Non-trivial A_log, dt_bias, D and norm weights, and q/k projections scaled up: at transformers' init the
    # attention is near uniform, so a wrong softmax scale or RoPE moved the logits of the first fixtures by only 7e-5.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("A_log"):
                p.copy_(torch.log(torch.rand_like(p) * 8 + 0.5))
            elif name.endswith("dt_bias"):
                p.copy_(torch.randn_like(p) * 0.5)
            elif name.endswith(".D"):
                p.copy_(torch.randn_like(p))
            elif "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif name.endswith(("q_proj.weight", "k_proj.weight")):
                p.mul_(attention_gain)


def make(name, build):
    if only and name not in only:
        return
    try:
        torch.manual_seed(sum(map(ord, name)))  # str hash() is salted per process
        model, cfg = build()
        spice(model)
        dump(name, model, cfg)
    except Exception:
        print(f"{name}: FAILED")
        traceback.print_exc()


common = dict(vocab_size=101, hidden_size=64, pad_token_id=0, bos_token_id=None, eos_token_id=None, tie_word_embeddings=True,
              max_position_embeddings=256)


def granite(moe, rope):
    from transformers import GraniteMoeHybridConfig, GraniteMoeHybridForCausalLM
    cfg = GraniteMoeHybridConfig(
        num_hidden_layers=4, layer_types=["mamba", "attention", "mamba", "attention"],
        num_attention_heads=4, num_key_value_heads=2, intermediate_size=48, shared_intermediate_size=96,
        num_local_experts=4 if moe else 0, num_experts_per_tok=2,
        mamba_n_heads=8, mamba_d_head=16, mamba_n_groups=1, mamba_d_state=16, mamba_d_conv=4, mamba_expand=2, mamba_chunk_size=8,
        position_embedding_type="rope" if rope else None, rope_theta=10000.0,
        embedding_multiplier=2.0, attention_multiplier=0.2, residual_multiplier=0.5, logits_scaling=3.0, **common)
    return GraniteMoeHybridForCausalLM(cfg), cfg


def lfm2():
    from transformers import Lfm2Config, Lfm2ForCausalLM
    cfg = Lfm2Config(num_hidden_layers=4, layer_types=["conv", "full_attention", "conv", "full_attention"],
                     num_attention_heads=4, num_key_value_heads=2, intermediate_size=96, conv_L_cache=3, **common)
    return Lfm2ForCausalLM(cfg), cfg


def nemotron_h():
    # n_groups 2: NemotronH's gated norm is per group in transformers too (as mamba_ssm and vLLM).
    from transformers import NemotronHConfig, NemotronHForCausalLM
    cfg = NemotronHConfig(num_hidden_layers=5, hybrid_override_pattern="M-*M-", num_attention_heads=4, num_key_value_heads=2,
                          head_dim=16, intermediate_size=96, mamba_num_heads=8, mamba_head_dim=16, ssm_state_size=16,
                          n_groups=2, conv_kernel=4, chunk_size=8, expand=2, mlp_hidden_act="relu2", **common)
    return NemotronHForCausalLM(cfg), cfg


def nemotron_h_moe():
    # Nemotron 3 Nano's layout: MoE layers ("E") with sigmoid routing, a correction bias, group top-k and a shared
    # expert. MambaGen refuses "moe" layers by name for now; this is the reference for when it runs them.
    from transformers import NemotronHConfig, NemotronHForCausalLM
    cfg = NemotronHConfig(num_hidden_layers=5, hybrid_override_pattern="ME*ME", num_attention_heads=4, num_key_value_heads=2,
                          head_dim=16, intermediate_size=96, mamba_num_heads=8, mamba_head_dim=16, ssm_state_size=16,
                          n_groups=2, conv_kernel=4, chunk_size=8, expand=2, mlp_hidden_act="relu2", n_routed_experts=8,
                          num_experts_per_tok=2, moe_intermediate_size=32, moe_shared_expert_intermediate_size=48, n_group=2,
                          topk_group=1, norm_topk_prob=True, routed_scaling_factor=2.5, **common)
    model = NemotronHForCausalLM(cfg)
    with torch.no_grad():
        for name, buf in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                buf.copy_(torch.randn_like(buf) * 0.1)
    return model, cfg


def falcon_h1(rms_norm):
    # Every μP multiplier away from 1 (each a different value), so that one dropped or put in the wrong place moves
    # the logits; head_dim x heads != hidden_size and mamba_d_ssm given, as in the released checkpoints; an untied
    # lm_head. Released checkpoints run without the Mamba2 gated norm (rms_norm False); the second fixture runs it
    # per group (n_groups 2) after the norm (mamba_norm_before_gate, transformers' default).
    from transformers import FalconH1Config, FalconH1ForCausalLM
    cfg = FalconH1Config(num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=24, intermediate_size=96,
                         mamba_d_ssm=128, mamba_n_heads=8, mamba_d_head=16, mamba_n_groups=2 if rms_norm else 1, mamba_d_state=16,
                         mamba_d_conv=4, mamba_expand=2, mamba_chunk_size=8, mamba_rms_norm=rms_norm, mamba_norm_before_gate=True,
                         rope_theta=10000.0, embedding_multiplier=1.7, lm_head_multiplier=0.6, key_multiplier=1.3,
                         attention_in_multiplier=0.8, attention_out_multiplier=0.7, ssm_in_multiplier=1.25, ssm_out_multiplier=0.6,
                         ssm_multipliers=[0.9, 1.2, 0.8, 1.3, 0.7], mlp_multipliers=[1.4, 0.6], **dict(common, tie_word_embeddings=False))
    return FalconH1ForCausalLM(cfg), cfg


make("dev-granite-hybrid-moe-rope", lambda: granite(moe=True, rope=True))
make("dev-granite-hybrid-dense-rope", lambda: granite(moe=False, rope=True))
make("dev-lfm2-attn", lfm2)
make("dev-nemotron-h", nemotron_h)
make("dev-nemotron-h-moe", nemotron_h_moe)
make("dev-falcon-h1", lambda: falcon_h1(rms_norm=False))
make("dev-falcon-h1-norm", lambda: falcon_h1(rms_norm=True))
