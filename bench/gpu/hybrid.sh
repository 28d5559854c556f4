#!/usr/bin/env bash
# On the GPU machine (after bench/gpu/prepare.sh here, .gpu carried): the hybrid models (issue 8) on CUDA.
# 1. The LFM2 and Granite 4.0-H fixtures on CUDA, fused kernels on and off (ReferenceCheck: logits, step logits, greedy).
# 2. New transformers fixtures (tools/oracle/hybrid_fixtures.py: Granite MoE + RoPE, attention-heavy LFM2, Nemotron-H,
#    Falcon-H1), each checked at once on the CPU and on CUDA (a family without a description fails by name).
# 3. Throughput, bf16, of the LFM2-350M- and granite-4.0-h-350m-shaped checkpoints bench/gpu/hybrid_models.py makes
#    with transformers (transformers' own figures beside, same weights; with the peers carried, transformers also runs
#    mamba_ssm's and causal_conv1d's kernels); bench/models' config-only shapes when it fails.
# STAGE=throughput runs 3 alone (a call of its own: transformers' Granite figures take minutes).
# Logs in $OUT, the new fixtures in $OUT/hybrid-fixtures.tgz. Usage: [REPS=3] [TOKENS=128] [STAGE=throughput] bench/gpu/hybrid.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
mkdir -p /tmp/dn && tar -C /tmp/dn -xJf .gpu/dotnet-runtime.tar.xz
export DOTNET_ROOT=/tmp/dn PATH=/tmp/dn:$PATH PYTHONUNBUFFERED=1 MAMBAGEN_KERNEL_CACHE=/tmp/kcache
export LD_LIBRARY_PATH=$(python3 -c "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))")
bench() { dotnet .gpu/app/MambaGen.Bench.dll "$@"; }

if [ "${STAGE:-all}" != throughput ]; then
F="tests/fixtures/dev-lfm2 tests/fixtures/dev-granite-hybrid-dense"
bench verify --device cuda $F > "$OUT/hybrid-verify.log" 2>&1
MAMBAGEN_FAST_PATH=0 bench verify --device cuda $F > "$OUT/hybrid-verify-eager.log" 2>&1

OUT=$OUT/hybrid-fixtures python3 tools/oracle/hybrid_fixtures.py > "$OUT/hybrid-fixtures.log" 2>&1
for d in "$OUT"/hybrid-fixtures/*/; do
  for dev in cpu cuda; do bench verify --device $dev "$d" >> "$OUT/hybrid-new-fixtures.log" 2>&1; done
done
# Packed at once, before the throughput runs (a command past its time limit returns what $OUT holds): the device
# returns a few files, not folders; unpack into tests/fixtures.
tar -C "$OUT" -czf "$OUT/hybrid-fixtures.tgz" hybrid-fixtures && rm -rf "$OUT/hybrid-fixtures"
fi

reps=${REPS:-3}
# The checkpoints first (transformers makes them), then MambaGen on them, then transformers: its Granite figures run
# its PyTorch Mamba2 fallback for minutes, and a command past its time limit keeps what $OUT already holds.
python3 bench/gpu/hybrid_models.py /tmp/hybrid > "$OUT/hybrid-models.log" 2>&1
for m in lfm2-350m granite-4.0-h-350m; do
  model=/tmp/hybrid/$m; [ -f $model/config.json ] || model=bench/models/$m-shaped
  bench model --model $model --device cuda --dtype bfloat16 --reps $reps --shapes 1x2048,32x512 --batches 1,32 --tokens ${TOKENS:-128} \
    >> "$OUT/hybrid-throughput.log" 2>&1
done
# transformers with the peers' mamba_ssm and causal_conv1d kernels first (its fastest), then its PyTorch fallbacks.
P=.gpu/peers
if [ -f $P/peer-ext-sm90.tar.xz ]; then
  mkdir -p /tmp/kb /tmp/peer && tar -C /tmp/peer -xJf $P/peer-src.tar.xz && tar -C /tmp/kb -xJf $P/peer-ext-sm90.tar.xz
  [ -f $P/peer-triton-cache.tar.xz ] && tar -C /tmp -xJf $P/peer-triton-cache.tar.xz; export TRITON_CACHE_DIR=/tmp/tc
  PYTHONPATH=/tmp/peer/mamba:/tmp/peer/causal-conv1d:/tmp/kb/so python3 bench/gpu/hybrid_models.py /tmp/hybrid --bench --reps $reps \
    --tokens ${TOKENS:-128} > "$OUT/hybrid-hf-kernels.log" 2>&1
fi
python3 bench/gpu/hybrid_models.py /tmp/hybrid --bench --reps $reps --tokens ${TOKENS:-128} > "$OUT/hybrid-hf.log" 2>&1
tail -n 3 "$OUT"/hybrid-*.log
