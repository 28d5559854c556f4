# On the GPU machine: makes the hybrid benchmark checkpoints with transformers (random seeded weights, bf16,
# save_pretrained) and, with --bench, times transformers on them, printing the JSON lines of shared/peers/README.md.
#   lfm2-350m:           LFM2-350M's published shape: d 1024, 16 layers (10 short conv + 6 GQA attention, 16 q / 8 kv
#                        heads of 64), SwiGLU 6656 auto-adjusted to 4608, vocab 65536, conv L-cache 3, RoPE theta 1e6.
#   granite-4.0-h-350m:  granite-4.0-h-350m's shape as this script states it (dense, NoPE, muP multipliers): d 768,
#                        32 layers of which 4 attention (12 q / 4 kv heads), Mamba2 48 heads of 32, state 128, 1 group,
#                        shared SwiGLU 2048, vocab 100352. The published checkpoint was not reachable here; where its
#                        exact values differ, the figures are for this shape, which the model name in the logs stands for.
# Usage: python3 hybrid_models.py OUT_DIR [--bench] [--reps 3] [--batches 1,32] [--tokens 128] [--prefill 1x2048,32x512]
import argparse, json, os, statistics, time, torch, transformers
from transformers import AutoModelForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("out"); ap.add_argument("--bench", action="store_true"); ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--batches", default="1,32"); ap.add_argument("--tokens", type=int, default=128); ap.add_argument("--prompt", type=int, default=16)
ap.add_argument("--prefill", default="1x2048,32x512")
a = ap.parse_args()

LFM2 = dict(model_type="lfm2", vocab_size=65536, hidden_size=1024, intermediate_size=6656, block_auto_adjust_ff_dim=True,
            block_multiple_of=256, block_ffn_dim_multiplier=1.0, num_hidden_layers=16, num_attention_heads=16, num_key_value_heads=8,
            conv_L_cache=3, conv_bias=False, max_position_embeddings=128000, norm_eps=1e-5, rope_parameters={"rope_type": "default", "rope_theta": 1e6},
            layer_types=["conv", "conv", "full_attention", "conv", "conv", "full_attention", "conv", "conv", "full_attention", "conv",
                         "full_attention", "conv", "full_attention", "conv", "full_attention", "conv"],
            tie_word_embeddings=True, pad_token_id=0, bos_token_id=1, eos_token_id=7)
GRANITE = dict(model_type="granitemoehybrid", vocab_size=100352, hidden_size=768, intermediate_size=2048, shared_intermediate_size=2048,
               num_local_experts=0, num_experts_per_tok=2, num_hidden_layers=32, num_attention_heads=12, num_key_value_heads=4,
               layer_types=["attention" if i in (7, 15, 23, 31) else "mamba" for i in range(32)], mamba_n_heads=48, mamba_d_head=32,
               mamba_d_state=128, mamba_n_groups=1, mamba_d_conv=4, mamba_expand=2, mamba_chunk_size=256, mamba_conv_bias=True,
               mamba_proj_bias=False, position_embedding_type="nope", embedding_multiplier=12.0, attention_multiplier=0.0078125,
               residual_multiplier=0.246, logits_scaling=4.0, rms_norm_eps=1e-5, max_position_embeddings=32768, tie_word_embeddings=True,
               pad_token_id=0, bos_token_id=100257, eos_token_id=100257)
MODELS = {"lfm2-350m": LFM2, "granite-4.0-h-350m": GRANITE}


def make(name, spec):
    path = os.path.join(a.out, name)
    if os.path.exists(os.path.join(path, "config.json")):
        return path
    torch.manual_seed(1234)
    config = transformers.AutoConfig.for_model(**spec)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    with torch.no_grad():
        # Non-trivial SSM parameters (the initialiser's defaults would hide mix-ups between heads).
        for key, p in model.named_parameters():
            if key.endswith("A_log"):
                p.copy_(torch.log(torch.rand_like(p) * 15 + 1))
            elif key.endswith("dt_bias"):
                p.copy_(torch.rand_like(p) * 2 - 3)
            elif key.endswith(".D"):
                p.copy_(torch.rand_like(p) + 0.5)
    model.to(torch.bfloat16).save_pretrained(path)
    print(f"{name}: {sum(p.numel() for p in model.parameters()):,} parameters -> {path}", flush=True)
    return path


paths = {name: make(name, spec) for name, spec in MODELS.items()}
if not a.bench:
    raise SystemExit(0)

dev = "cuda"
def sync(): torch.cuda.synchronize()
def emit(d): print(json.dumps(d), flush=True)
g = torch.Generator(device="cpu").manual_seed(1234)
for name, path in paths.items():
    m = AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16).to(dev).eval()
    V = m.config.vocab_size
    def rnd(B, L): return torch.randint(3, V, (B, L), generator=g).to(dev)
    system = f"transformers-{transformers.__version__}"
    with torch.no_grad():
        for spec in a.prefill.split(","):
            B, L = map(int, spec.split("x"))
            ids = rnd(B, L)
            m(ids, use_cache=True, logits_to_keep=1); sync()
            ts = []
            for _ in range(a.reps):
                sync(); t = time.perf_counter(); m(ids, use_cache=True, logits_to_keep=1); sync(); ts.append(time.perf_counter() - t)
            emit({"system": system, "model": name, "what": "prefill_forward", "batch": B, "prompt": L, "dtype": "bf16",
                  "tok_s_median": B * L / statistics.median(ts), "median_s": statistics.median(ts), "runs_s": ts,
                  "note": "model(ids, use_cache=True, logits_to_keep=1), eager"})
        for B in map(int, a.batches.split(",")):
            prompt = rnd(B, a.prompt)
            kw = dict(attention_mask=torch.ones_like(prompt), do_sample=False, pad_token_id=0, eos_token_id=None)
            def gen(n):
                sync(); t = time.perf_counter(); m.generate(prompt, max_new_tokens=n, min_new_tokens=n, **kw); sync()
                return time.perf_counter() - t
            gen(8)
            ts = []
            for _ in range(a.reps):
                # The prompt's prefill and the first token cancel out: (N tokens) - (1 token) is N - 1 decode steps.
                ts.append(gen(a.tokens) - gen(1))
            med = statistics.median(ts)
            emit({"system": system, "model": name, "what": "decode_loop", "batch": B, "prompt": a.prompt, "new_tokens": a.tokens,
                  "dtype": "bf16", "prefill_excluded": True, "tok_s_median": B * (a.tokens - 1) / med, "median_s": med, "runs_s": ts,
                  "note": "generate(greedy, N) minus generate(1): N-1 decode steps with transformers' own hybrid cache, eager"})
    del m; torch.cuda.empty_cache()
