#!/usr/bin/env bash
# On the GPU machine (after bench/gpu/prepare.sh here, .gpu carried): correctness of the fused kernels against the
# TorchSharp reference and transformers, then whole-model throughput of MambaGen and, with --peers, of transformers and
# mamba_ssm + its CUDA extensions in the same call. Logs go to $OUT/logs.tgz. STAGE=checks runs only the correctness
# part, STAGE=bench only the throughput part (each fits one call's 10 minutes where both together may not).
# Usage: [REPS=3] [QUICK=1] [STAGE=checks|bench] bench/gpu/run.sh [--peers]
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
mkdir -p /tmp/dn && tar -C /tmp/dn -xJf .gpu/dotnet-runtime.tar.xz
export DOTNET_ROOT=/tmp/dn PATH=/tmp/dn:$PATH PYTHONUNBUFFERED=1 MAMBAGEN_KERNEL_CACHE=/tmp/kcache
export LD_LIBRARY_PATH=$(python3 -c "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))")
bench() { dotnet .gpu/app/MambaGen.Bench.dll "$@"; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" >> "$OUT/gpu.txt"
date -u >> "$OUT/gpu.txt"

optin() { MAMBAGEN_PREFILL_SCAN=tiled MAMBAGEN_SMALL_STEP_PROJECTIONS=fused MAMBAGEN_DECODE_SSM=vector "$@"; }
P=.gpu/peers
python3 $P/make_models.py /tmp/models > "$OUT/models.log" 2>&1
if [ "${STAGE:-all}" != bench ]; then
# 1. Layers on CUDA (fused kernels) against the CPU reference, fp32, bf16 and fp16; models against transformers' fixtures.
bench verify --device cuda tests/fixtures/dev-mamba1 tests/fixtures/dev-mamba2 models/default > "$OUT/verify.log" 2>&1
# The build's PTX (clang-14's, JIT-compiled by the driver) instead of NVRTC's CUBINs, kernel cache off.
MAMBAGEN_NO_NVRTC=1 MAMBAGEN_KERNEL_CACHE=off bench verify --device cuda tests/fixtures/dev-mamba2 > "$OUT/verify-ptx.log" 2>&1
# The opt-in kernels (tiled prefill scans, fused small-step projections, vector decode SSM: not yet the default) against the same references.
optin bench verify --device cuda tests/fixtures/dev-mamba1 tests/fixtures/dev-mamba2 models/default > "$OUT/verify-optin.log" 2>&1
# The chunked prefill scans (opt-in, not yet timed) against the same references.
MAMBAGEN_PREFILL_SCAN=chunked bench verify --device cuda tests/fixtures/dev-mamba1 tests/fixtures/dev-mamba2 > "$OUT/verify-chunked.log" 2>&1
# The same with the fused kernels off (the TorchSharp ops on CUDA).
[ "${QUICK:-}" = 1 ] || MAMBAGEN_FAST_PATH=0 bench verify --device cuda tests/fixtures/dev-mamba1 tests/fixtures/dev-mamba2 > "$OUT/verify-eager.log" 2>&1

# The real chat templates' expected renders against transformers' renderer (bench/gpu/chat_templates.py).
mkdir -p /tmp/ct && python3 bench/gpu/chat_templates.py /tmp/ct > "$OUT/chat-templates.log" 2>&1; cp /tmp/ct/chat_templates.json "$OUT/chat-templates.txt" 2>/dev/null

# 2. Greedy tokens against transformers' (fp32) on the benchmark models (same weights for every system).
for m in mamba2-130m mamba-130m; do
  python3 $P/hf_bench.py --model /tmp/models/$m --correct /tmp/models/$m.prompts.txt --new 32 --correct-out /tmp/models/$m.hf > "$OUT/hf-correct-$m.log" 2>&1
  for variant in "MAMBAGEN_FAST_PATH=1" "MAMBAGEN_FAST_PATH=0" "MAMBAGEN_PREFILL_SCAN=tiled MAMBAGEN_SMALL_STEP_PROJECTIONS=fused MAMBAGEN_DECODE_SSM=vector"; do
    env $variant dotnet .gpu/app/MambaGen.Bench.dll correct --model /tmp/models/$m --device cuda --dtype float32 --prompts /tmp/models/$m.prompts.txt \
      --reference /tmp/models/$m.hf.fp32.tokens.txt --new 32 >> "$OUT/correct.log" 2>&1
  done
done

fi

if [ "${STAGE:-all}" != checks ]; then
# 3. Throughput, MambaGen and (with --peers) the peers, bf16.
B="--batches 1,32,128 --tokens 128"
reps=${REPS:-3}
for m in mamba2-130m mamba-130m; do
  bench model --model /tmp/models/$m --device cuda --dtype bfloat16 --reps $reps $B >> "$OUT/mambagen.log" 2>&1
done
# The same throughput with the opt-in kernels, beside the default's rows above (a .txt: the summary table reads the default only).
for m in mamba2-130m mamba-130m; do
  optin bench model --model /tmp/models/$m --device cuda --dtype bfloat16 --reps $reps $B >> "$OUT/mambagen-optin.txt" 2>&1
done
# The chunked prefill scans where they are meant to help, few long prompts, beside the default on the same shapes.
for m in mamba2-130m mamba-130m; do
  MAMBAGEN_PREFILL_SCAN=chunked bench model --model /tmp/models/$m --device cuda --dtype bfloat16 --reps $reps \
    --shapes 1x2048,4x2048,32x512 --batches "" >> "$OUT/mambagen-optin.txt" 2>&1
  bench model --model /tmp/models/$m --device cuda --dtype bfloat16 --reps $reps --shapes 4x2048 --batches "" >> "$OUT/mambagen-optin.txt" 2>&1
done
grep -h '^{"system"' "$OUT/mambagen-optin.txt" | python3 -c "
import json,sys
for l in sys.stdin:
    r=json.loads(l)
    note = r.get('note', '')
    kernels = 'chunked scans' if 'chunked prefill scans' in note else 'opt-in kernels' if 'fused GEMV' in note else 'default kernels'
    if 'tok_s_median' in r: print(f'{kernels}: {r[\"model\"]} {r[\"what\"]} batch {r[\"batch\"]} x {r[\"prompt\"]}: {r[\"tok_s_median\"]:,.0f} tokens/s')" > "$OUT/optin.md"
if [ "${1:-}" = "--peers" ]; then
  mkdir -p /tmp/kb /tmp/peer && tar -C /tmp/peer -xJf $P/peer-src.tar.xz && tar -C /tmp/kb -xJf $P/peer-ext-sm90.tar.xz
  tar -C /tmp -xJf $P/peer-triton-cache.tar.xz; export TRITON_CACHE_DIR=/tmp/tc
  KP=/tmp/peer/mamba:/tmp/peer/causal-conv1d:/tmp/kb/so
  for m in mamba2-130m mamba-130m; do
    env PYTHONPATH=$KP python3 $P/ssm_bench.py --label mamba_ssm+ext --model /tmp/models/$m --reps $reps $B >> "$OUT/ssm.log" 2>&1
  done
  python3 $P/summarize.py "$OUT" --md > "$OUT/summary.md" 2>&1
fi
fi
# At most 8 files come back from the GPU machine: the logs travel as one archive beside the summary.
(cd "$OUT" && tar czf logs.tgz *.log *.txt && rm -f *.log mambagen-optin.txt)
cat "$OUT/summary.md" "$OUT/optin.md" 2>/dev/null
