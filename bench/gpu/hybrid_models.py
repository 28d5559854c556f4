# On the GPU machine: makes the hybrid benchmark checkpoints with transformers (random seeded weights, bf16,
# save_pretrained) and, with --bench, times transformers on them, printing the JSON lines of shared/peers/README.md.
# The shapes are bench/models/<name>-shaped/config.json (the same files MambaGen.Bench builds seeded random models
# from; bench/models/README.md says where each shape comes from): lfm2-350m and granite-4.0-h-350m.
# With mamba_ssm and causal_conv1d importable (PYTHONPATH), transformers runs their kernels and the rows say so.
# A figure that runs out of memory is a row with an "error", and the next figure runs.
# Usage: python3 hybrid_models.py OUT_DIR [--bench] [--reps 3] [--batches 1,32] [--tokens 128] [--prefill 1x2048,32x512]
import argparse, importlib.util, json, os, statistics, time, torch, transformers
from transformers import AutoModelForCausalLM

ap = argparse.ArgumentParser()
ap.add_argument("out"); ap.add_argument("--bench", action="store_true"); ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--batches", default="1,32"); ap.add_argument("--tokens", type=int, default=128); ap.add_argument("--prompt", type=int, default=16)
ap.add_argument("--prefill", default="1x2048,32x512")
a = ap.parse_args()

SHAPES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
MODELS = {name: json.load(open(os.path.join(SHAPES, f"{name}-shaped", "config.json"))) for name in ("lfm2-350m", "granite-4.0-h-350m")}


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
    kernels = [k for k in ("mamba_ssm", "causal_conv1d") if importlib.util.find_spec(k)]
    system = f"transformers-{transformers.__version__}" + "".join("+" + k for k in kernels)
    mode = "with " + " and ".join(kernels) + " kernels" if kernels else "eager, PyTorch fallbacks"
    with torch.no_grad():
        for spec in filter(None, a.prefill.split(",")):
            B, L = map(int, spec.split("x"))
            ids = rnd(B, L)
            try:
                m(ids, use_cache=True, logits_to_keep=1); sync()
            except torch.OutOfMemoryError as e:
                emit({"system": system, "model": name, "what": "prefill_forward", "batch": B, "prompt": L, "dtype": "bf16",
                      "error": "out of memory: " + str(e).split(".")[0]})
                torch.cuda.empty_cache(); continue
            ts = []
            for _ in range(a.reps):
                sync(); t = time.perf_counter(); m(ids, use_cache=True, logits_to_keep=1); sync(); ts.append(time.perf_counter() - t)
            emit({"system": system, "model": name, "what": "prefill_forward", "batch": B, "prompt": L, "dtype": "bf16",
                  "tok_s_median": B * L / statistics.median(ts), "median_s": statistics.median(ts), "runs_s": ts,
                  "note": f"model(ids, use_cache=True, logits_to_keep=1), {mode}"})
        for B in map(int, filter(None, a.batches.split(","))):
            prompt = rnd(B, a.prompt)
            kw = dict(attention_mask=torch.ones_like(prompt), do_sample=False, pad_token_id=0, eos_token_id=None)
            def gen(n):
                sync(); t = time.perf_counter(); m.generate(prompt, max_new_tokens=n, min_new_tokens=n, **kw); sync()
                return time.perf_counter() - t
            try:
                gen(8)
            except torch.OutOfMemoryError as e:
                emit({"system": system, "model": name, "what": "decode_loop", "batch": B, "prompt": a.prompt, "dtype": "bf16",
                      "error": "out of memory: " + str(e).split(".")[0]})
                torch.cuda.empty_cache(); continue
            ts = []
            for _ in range(a.reps):
                # The prompt's prefill and the first token cancel out: (N tokens) - (1 token) is N - 1 decode steps.
                ts.append(gen(a.tokens) - gen(1))
            med = statistics.median(ts)
            emit({"system": system, "model": name, "what": "decode_loop", "batch": B, "prompt": a.prompt, "new_tokens": a.tokens,
                  "dtype": "bf16", "prefill_excluded": True, "tok_s_median": B * (a.tokens - 1) / med, "median_s": med, "runs_s": ts,
                  "note": f"generate(greedy, N) minus generate(1): N-1 decode steps with transformers' own hybrid cache, {mode}"})
    del m; torch.cuda.empty_cache()
