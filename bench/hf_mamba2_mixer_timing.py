# Times transformers' Mamba2Mixer of mamba2-130m's shape on the GPU, as the .NET layer timing does:
# prefill of 1 x 2048 tokens and one decode step at batch 1 and 32, bf16.
# Usage (where python3 has torch and transformers): python3 hf_mamba2_mixer_timing.py
import time, torch, transformers
from transformers import Mamba2Config
from transformers.cache_utils import DynamicCache
from transformers.models.mamba2.modeling_mamba2 import Mamba2Mixer
import transformers.models.mamba2.modeling_mamba2 as m2

cfg = Mamba2Config(hidden_size=768, num_heads=24, head_dim=64, state_size=128, expand=2, n_groups=1, conv_kernel=4,
                   chunk_size=256, num_hidden_layers=1, vocab_size=1024)
dev = torch.device("cuda")
mixer = Mamba2Mixer(cfg, layer_idx=0).to(dev, torch.bfloat16).eval()
print(f"transformers {transformers.__version__}, torch {torch.__version__}, {torch.cuda.get_device_name()}")
print("fast kernels:", {k: getattr(m2, k, None) is not None for k in ("mamba_chunk_scan_combined", "selective_state_update", "causal_conv1d_fn", "causal_conv1d_update")})

def timed(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t) / iters * 1e6

with torch.no_grad():
    x = torch.randn(1, 2048, 768, device=dev, dtype=torch.bfloat16)
    print(f"  prefill 1 x 2048 {timed(lambda: mixer(x), 3, 10):10.1f} us")
    for batch in (1, 32):
        cache = DynamicCache(config=cfg)
        mixer(torch.randn(batch, 16, 768, device=dev, dtype=torch.bfloat16), cache_params=cache)
        step = torch.randn(batch, 1, 768, device=dev, dtype=torch.bfloat16)
        print(f"  decode step, batch {batch} {timed(lambda: mixer(step, cache_params=cache), 10, 100):10.1f} us")
