#!/usr/bin/env bash
# On the GPU machine, for a session with one call's worth of device time (after bench/gpu/prepare.sh --peers here,
# .gpu carried): the checks of what changed, then the figures beside the peers, most needed first, each part under
# its own time limit so that a late part cut short leaves the earlier ones in $OUT.
# 1. Issue 7's checks on CUDA: the Mamba fixtures and default model against transformers' outputs with the default
#    kernels, the SSD on tensor cores and Mamba-1's block-wide scan.
# 2. mamba2-130m and mamba-130m, MambaGen (and the prefills with the SSD on tensor cores and the block-wide scan) then
#    mamba_ssm + its CUDA extensions, same weights (run.sh's bench); Nsight Compute kernel times (real clocks, warm
#    caches) of the batch-128 decode, and its sections (throughput, occupancy, stalls) for a decode layer's kernels at
#    batch 128 and, fused, at batch 1; the fused small-step projections' decode at batch 1 and 8.
# 3. The hybrids: their fixtures through the hybrid decode graphs, their decode with graphs and eager beside
#    transformers with mamba_ssm's and causal_conv1d's kernels (LFM2-350M and granite-4.0-h-350m shapes).
# 4. The other prefill scans forced (row-warps, tiled, chunked) at 1x2048, 4x2048 and 32x512 (scans.md), and the
#    chunked scans' check.
# Beside them, the Nemotron-H MoE fixture is made with transformers (tools/oracle/hybrid_fixtures.py, into the logs).
# Sections, in this order unless SECTIONS names others: checks figures pdl async variants profiles hybrids scans. A call
# runs what fits its budget (what it cut or skipped is in skipped.txt); the next call takes the rest, e.g.
# SECTIONS="pdl async variants", then SECTIONS="profiles hybrids scans" (each call makes the checkpoints again, ~1 min).
# async: the engine's async scheduling (MAMBAGEN_ASYNC_SCHEDULING=1), checked and timed at decode. decode (not in the
# default order): for a short call, decode alone with the default kernels and the newest opt-ins, beside mamba_ssm.
# pdl: the kernels launched as programmatic dependents (MAMBAGEN_PDL=1), checked and timed at decode, with cuBLAS and
# with the fused projections.
# Usage: [REPS=3] [BUDGET=560] [SECTIONS="..."] bench/gpu/quick.sh ; logs in $OUT/logs.tgz (parts cut or skipped for
# time in its skipped.txt), the tables in $OUT/summary.md, $OUT/hybrid.md, $OUT/scans.md and $OUT/decode.md.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
LOGS=/tmp/quick-logs; mkdir -p $LOGS
mkdir -p /tmp/dn && tar -C /tmp/dn -xJf .gpu/dotnet-runtime.tar.xz
export DOTNET_ROOT=/tmp/dn PATH=/tmp/dn:$PATH PYTHONUNBUFFERED=1 MAMBAGEN_KERNEL_CACHE=/tmp/kcache
export LD_LIBRARY_PATH=$(python3 -c "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))")
BENCH="dotnet .gpu/app/MambaGen.Bench.dll"
reps=${REPS:-3}
P=.gpu/peers
END=$((SECONDS + ${BUDGET:-560}))
# The logs travel as one archive (at most 8 files come back), remade after every part, so a call cut off keeps them.
pack() { tar czf "$OUT/logs.tmp" -C $LOGS . && mv "$OUT/logs.tmp" "$OUT/logs.tgz"; }
# part LIMIT CMD...: CMD under LIMIT seconds or what is left of the budget; skipped when under 15 s are left.
part() {
  local limit=$1 left=$((END - SECONDS)); shift
  if [ $left -lt 15 ]; then echo "skipped for time: $*" >> $LOGS/skipped.txt; return 0; fi
  [ $left -lt $limit ] && limit=$left
  timeout $limit "$@"; local rc=$?
  [ $rc = 124 ] && echo "cut at ${limit} s: $*" >> $LOGS/skipped.txt
  pack; return $rc
}
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; date -u; } > $LOGS/gpu.txt
# The checkpoints, made while the checks run.
python3 $P/make_models.py /tmp/models > $LOGS/models.log 2>&1 &
MODELS_PID=$!
python3 bench/gpu/hybrid_models.py /tmp/hybrid > $LOGS/hybrid-models.log 2>&1 &
# The Nemotron-H MoE fixture (transformers' outputs on the CPU), the reference for running 'moe' layers next.
OUT=$LOGS/fixtures ONLY=dev-nemotron-h-moe python3 tools/oracle/hybrid_fixtures.py > $LOGS/fixtures.log 2>&1 &

summary() { python3 $P/summarize.py $LOGS --md > "$OUT/summary.md" 2>&1; }
# The opt-in decode paths' rows (PDL, fused projections, vector update), beside the default ones in summary.md.
decode_table() {
grep -h '"decode_engine"' $LOGS/decode-default.log $LOGS/pdl.log $LOGS/fused-projections.log $LOGS/pdl-fused.log $LOGS/vector-update.log $LOGS/wide-update.log \
  $LOGS/async.log $LOGS/async-pdl-fused.log 2>/dev/null | python3 -c "
import json,sys
for l in sys.stdin:
    r=json.loads(l); print(f'{r[\"model\"]} decode batch {r[\"batch\"]}: {r[\"tok_s_median\"]:,.0f} tokens/s ({r.get(\"note\", \"\")[-160:]})')" > "$OUT/decode.md"
}
scans() {
  for f in $LOGS/mambagen.log $LOGS/scans-*.log; do
    grep -h '"prefill_forward"' $f 2>/dev/null | python3 -c "
import json,sys
for l in sys.stdin:
    r=json.loads(l); print(f'$(basename $f .log): {r[\"model\"]} {r[\"batch\"]}x{r[\"prompt\"]}: {r[\"tok_s_median\"]:,.0f} tokens/s')"
  done > "$OUT/scans.md"
}

H="tests/fixtures/dev-lfm2 tests/fixtures/dev-lfm2-attn tests/fixtures/dev-granite-hybrid-dense tests/fixtures/dev-granite-hybrid-dense-rope tests/fixtures/dev-nemotron-h tests/fixtures/dev-falcon-h1"
# Issue 7's parts first: its checks, its figures beside mamba_ssm, then what explains them; the hybrids after.
checks() {
part 120 $BENCH verify --device cuda tests/fixtures/dev-mamba1 tests/fixtures/dev-mamba2 models/default > $LOGS/verify.log 2>&1
# The SSD on tensor cores (bf16 Mamba-2 prefills; the layer pairs' bf16 rows and the fixtures take it).
part 60 env MAMBAGEN_PREFILL_SCAN=tensor-cores $BENCH verify --device cuda tests/fixtures/dev-mamba2 > $LOGS/verify-tensor-cores.log 2>&1
# Mamba-1's block-wide scan (the layer pairs' Mamba1Mixer rows and the fixture take it).
part 60 env MAMBAGEN_PREFILL_SCAN=block-scan $BENCH verify --device cuda tests/fixtures/dev-mamba1 > $LOGS/verify-block-scan.log 2>&1
}

B="--batches 1,32,128 --tokens 128"
figures() {
for m in mamba2-130m mamba-130m; do
  part 90 $BENCH model --model /tmp/models/$m --device cuda --dtype bfloat16 --reps $reps --shapes 1x2048,4x2048,32x512 $B >> $LOGS/mambagen.log 2>&1
done
part 45 env MAMBAGEN_PREFILL_SCAN=tensor-cores $BENCH model --model /tmp/models/mamba2-130m --device cuda --dtype bfloat16 --reps $reps \
  --shapes 1x2048,4x2048,32x512 --batches "" >> $LOGS/scans-tensor-cores.log 2>&1
part 45 env MAMBAGEN_PREFILL_SCAN=block-scan $BENCH model --model /tmp/models/mamba-130m --device cuda --dtype bfloat16 --reps $reps \
  --shapes 1x2048,4x2048,32x512 --batches "" >> $LOGS/scans-block-scan.log 2>&1
peers
summary
scans
}

# mamba_ssm and causal_conv1d with their CUDA extensions, unpacked once: KP is their PYTHONPATH.
KP=/tmp/peer/mamba:/tmp/peer/causal-conv1d:/tmp/kb/so
unpack_peers() {
  [ -d /tmp/kb/so ] && return 0
  mkdir -p /tmp/kb /tmp/peer && tar -C /tmp/peer -xJf $P/peer-src.tar.xz && tar -C /tmp/kb -xJf $P/peer-ext-sm90.tar.xz
  [ -f $P/peer-triton-cache.tar.xz ] && tar -C /tmp -xJf $P/peer-triton-cache.tar.xz
  return 0
}
export TRITON_CACHE_DIR=/tmp/tc

peers() {
unpack_peers
for m in mamba2-130m mamba-130m; do
  part 90 env PYTHONPATH=$KP python3 $P/ssm_bench.py --label mamba_ssm+ext --model /tmp/models/$m --reps $reps $B >> $LOGS/ssm.log 2>&1
done
}

# Nsight Compute's sections for a few decode launches of the kernels REGEX matches (after SKIP of them: the prompt's
# and the eager warm-up's): what bounds each (throughput against the peak, occupancy, where its warps stall).
NCU_SECTIONS="--section SpeedOfLight --section MemoryWorkloadAnalysis --section Occupancy --section LaunchStats --section WarpStateStats --section SchedulerStats"
detail() { # OUTFILE REGEX SKIP MODEL BATCH [ENV=VALUE...]
  local file=$1 regex=$2 skip=$3 m=$4 b=$5; shift 5
  part 90 env "$@" ncu --clock-control none --cache-control none -k "regex:$regex" --launch-skip $skip --launch-count 8 $NCU_SECTIONS \
    $BENCH model --model /tmp/models/$m --device cuda --dtype bfloat16 --reps 1 --tokens 4 --shapes "" --batches $b > $LOGS/$file 2>&1
}
profiles() {
for m in mamba2-130m mamba-130m; do
  part 60 python3 bench/gpu/ncu_profile.py .gpu/app/MambaGen.Bench.dll --model /tmp/models/$m --device cuda --dtype bfloat16 --reps 1 \
    --tokens 4 --shapes "" --batches 128 > $LOGS/profile-ncu-b128-$m.txt 2>&1
done
# A decode layer's kernels at batch 128 (the state updates' bandwidth), and at batch 1 in the fused flow (the GEMVs' latency).
detail ncu-detail-b128-mamba2-130m.txt 'ssd_update|rmsnorm|conv_update' 48 mamba2-130m 128 MAMBAGEN_PDL=0
detail ncu-detail-b128-mamba-130m.txt 'selective_update|rmsnorm|conv_update' 48 mamba-130m 128 MAMBAGEN_PDL=0
detail ncu-detail-b1-fused-mamba2-130m.txt 'gemv|ssd_update|greedy' 24 mamba2-130m 1 MAMBAGEN_SMALL_STEP_PROJECTIONS=fused
detail ncu-detail-b128-wide-mamba2-130m.txt 'ssd_update' 24 mamba2-130m 128 MAMBAGEN_DECODE_SSM=wide
}

# Mamba-2's opt-in state updates at the large batches: vector (4 values a lane in one access, 64 registers) and wide (a
# block per (row, head) with the head's whole state in flight).
variants() {
for v in wide vector; do
  part 45 env MAMBAGEN_DECODE_SSM=$v $BENCH verify --device cuda tests/fixtures/dev-mamba2 > $LOGS/verify-$v-update.log 2>&1
  part 45 env MAMBAGEN_DECODE_SSM=$v $BENCH model --model /tmp/models/mamba2-130m --device cuda --dtype bfloat16 --reps $reps \
    --shapes "" --batches 32,128 --tokens 128 >> $LOGS/$v-update.log 2>&1
done
}

# Programmatic dependent launch (opt-in until this checks and times it): the checks with the default kernels and with
# the fused projections (whose GEMVs load weights before they wait), then decode in the same call without and with
# it, with cuBLAS and with the fused small-step projections (3 kernels a Mamba-2 decode layer instead of 6).
pdl() {
part 90 env MAMBAGEN_PDL=1 $BENCH verify --device cuda tests/fixtures/dev-mamba1 tests/fixtures/dev-mamba2 > $LOGS/verify-pdl.log 2>&1
part 60 env MAMBAGEN_PDL=1 MAMBAGEN_SMALL_STEP_PROJECTIONS=fused $BENCH verify --device cuda tests/fixtures/dev-mamba2 \
  > $LOGS/verify-pdl-fused.log 2>&1
wait
for m in mamba2-130m mamba-130m; do
  part 45 $BENCH model --model /tmp/models/$m --device cuda --dtype bfloat16 --reps $reps --shapes "" $B >> $LOGS/decode-default.log 2>&1
  part 45 env MAMBAGEN_PDL=1 $BENCH model --model /tmp/models/$m --device cuda --dtype bfloat16 --reps $reps \
    --shapes "" $B >> $LOGS/pdl.log 2>&1
  part 45 env MAMBAGEN_SMALL_STEP_PROJECTIONS=fused $BENCH model --model /tmp/models/$m --device cuda --dtype bfloat16 --reps $reps \
    --shapes "" --batches 1,8 --tokens 128 >> $LOGS/fused-projections.log 2>&1
  part 45 env MAMBAGEN_PDL=1 MAMBAGEN_SMALL_STEP_PROJECTIONS=fused $BENCH model --model /tmp/models/$m --device cuda --dtype bfloat16 \
    --reps $reps --shapes "" --batches 1,8 --tokens 128 >> $LOGS/pdl-fused.log 2>&1
done
}

# Async scheduling (opt-in until this checks and times it): greedy tokens through the engine with it (verify's
# reference check runs the engine), then decode with it, alone and with PDL and the fused projections at batch 1 and 8.
async_scheduling() {
part 90 env MAMBAGEN_ASYNC_SCHEDULING=1 $BENCH verify --device cuda tests/fixtures/dev-mamba1 tests/fixtures/dev-mamba2 > $LOGS/verify-async.log 2>&1
for m in mamba2-130m mamba-130m; do
  part 45 env MAMBAGEN_ASYNC_SCHEDULING=1 $BENCH model --model /tmp/models/$m --device cuda --dtype bfloat16 --reps $reps --shapes "" $B \
    >> $LOGS/async.log 2>&1
  part 45 env MAMBAGEN_ASYNC_SCHEDULING=1 MAMBAGEN_PDL=1 MAMBAGEN_SMALL_STEP_PROJECTIONS=fused $BENCH model --model /tmp/models/$m --device cuda \
    --dtype bfloat16 --reps $reps --shapes "" --batches 1,8 --tokens 128 >> $LOGS/async-pdl-fused.log 2>&1
done
}

# For a short call: decode alone, the default kernels and the newest opt-ins (async scheduling with PDL and the fused
# projections at batch 1 and 8, the wide Mamba-2 update at 32 and 128) checked and timed, beside mamba_ssm.
decode_only() {
part 60 env MAMBAGEN_ASYNC_SCHEDULING=1 MAMBAGEN_PDL=1 MAMBAGEN_SMALL_STEP_PROJECTIONS=fused $BENCH verify --device cuda \
  tests/fixtures/dev-mamba1 tests/fixtures/dev-mamba2 > $LOGS/verify-async-pdl-fused.log 2>&1
part 45 env MAMBAGEN_DECODE_SSM=wide $BENCH verify --device cuda tests/fixtures/dev-mamba2 > $LOGS/verify-wide-update.log 2>&1
wait $MODELS_PID  # the benchmark models only, not the hybrids'
for m in mamba2-130m mamba-130m; do
  part 45 $BENCH model --model /tmp/models/$m --device cuda --dtype bfloat16 --reps $reps --shapes "" $B >> $LOGS/mambagen.log 2>&1
  part 45 env MAMBAGEN_ASYNC_SCHEDULING=1 MAMBAGEN_PDL=1 MAMBAGEN_SMALL_STEP_PROJECTIONS=fused $BENCH model --model /tmp/models/$m --device cuda \
    --dtype bfloat16 --reps $reps --shapes "" --batches 1,8 --tokens 128 >> $LOGS/async-pdl-fused.log 2>&1
done
part 45 env MAMBAGEN_DECODE_SSM=wide $BENCH model --model /tmp/models/mamba2-130m --device cuda --dtype bfloat16 --reps $reps \
  --shapes "" --batches 32,128 --tokens 128 >> $LOGS/wide-update.log 2>&1
peers
summary
}

# The hybrid decode graphs are opt-in until this checks them.
hybrids() {
unpack_peers
part 150 env MAMBAGEN_HYBRID_DECODE_GRAPHS=1 $BENCH verify --device cuda $H > $LOGS/hybrid-verify.log 2>&1
# With async scheduling too: the graphs fed the last step's picks on the device.
part 60 env MAMBAGEN_HYBRID_DECODE_GRAPHS=1 MAMBAGEN_ASYNC_SCHEDULING=1 $BENCH verify --device cuda tests/fixtures/dev-lfm2-attn \
  tests/fixtures/dev-granite-hybrid-dense > $LOGS/hybrid-verify-async.log 2>&1
for m in lfm2-350m granite-4.0-h-350m; do
  part 60 env MAMBAGEN_HYBRID_DECODE_GRAPHS=1 $BENCH model --model /tmp/hybrid/$m --device cuda --dtype bfloat16 --reps $reps --shapes "" \
    --batches 1,32 --tokens 128 >> $LOGS/hybrid-throughput.log 2>&1
done
part 120 env PYTHONPATH=$KP python3 bench/gpu/hybrid_models.py /tmp/hybrid --bench --reps $reps --prefill "" --tokens 128 \
  > $LOGS/hybrid-hf-kernels.log 2>&1
# The hybrids' eager decode, beside the graphs' rows.
for m in lfm2-350m granite-4.0-h-350m; do
  part 60 $BENCH model --model /tmp/hybrid/$m --device cuda --dtype bfloat16 --reps $reps --shapes "" --batches 1,32 --tokens 128 \
    >> $LOGS/hybrid-throughput-eager.log 2>&1
done
cat $LOGS/hybrid-throughput.log $LOGS/hybrid-throughput-eager.log $LOGS/hybrid-hf-kernels.log 2>/dev/null | grep -h '"decode_' | python3 -c "
import json,sys
for l in sys.stdin:
    r=json.loads(l)
    if 'tok_s_median' in r: print(f'{r[\"system\"]}: {r[\"model\"]} decode batch {r[\"batch\"]}: {r[\"tok_s_median\"]:,.0f} tokens/s ({r.get(\"note\", \"\")[:60]})')
    elif 'model_forward_us' in r: print(f'{r[\"system\"]}: {r[\"model\"]} batch {r[\"batch\"]}: step {r[\"engine_step_us\"]:,.0f} us, model forward {r[\"model_forward_us\"]:,.0f} us')" > "$OUT/hybrid.md"
}

# The other prefill scans forced, beside auto's, and the chunked scans' check.
older_scans() {
for v in row-warps tiled chunked; do
  for m in mamba2-130m mamba-130m; do
    part 45 env MAMBAGEN_PREFILL_SCAN=$v $BENCH model --model /tmp/models/$m --device cuda --dtype bfloat16 --reps $reps \
      --shapes 1x2048,4x2048,32x512 --batches "" >> $LOGS/scans-$v.log 2>&1
  done
done
scans
part 60 env MAMBAGEN_PREFILL_SCAN=chunked $BENCH verify --device cuda tests/fixtures/dev-mamba1 tests/fixtures/dev-mamba2 > $LOGS/verify-chunked.log 2>&1
}

for section in ${SECTIONS:-checks figures pdl async variants profiles hybrids scans}; do
  case $section in
    checks) checks; wait ;;
    figures) wait; figures ;;
    pdl) pdl ;;
    async) wait; async_scheduling ;;
    decode) decode_only ;;
    variants) wait; variants ;;
    profiles) wait; profiles ;;
    hybrids) wait; hybrids ;;
    scans) wait; older_scans ;;
    *) echo "unknown section '$section'" >> $LOGS/skipped.txt ;;
  esac
done
summary
scans
decode_table
pack
cat "$OUT/summary.md" "$OUT/hybrid.md" "$OUT/scans.md" "$OUT/decode.md" $LOGS/skipped.txt 2>/dev/null
exit 0
