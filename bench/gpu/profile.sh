#!/usr/bin/env bash
# On the GPU machine (after bench/gpu/prepare.sh here, .gpu carried): kernel time by kernel for MambaGen's prefill and
# decode of both benchmark models, with Nsight Systems (real clocks, graph nodes traced one by one). Writes
# $OUT/profile-<model>.txt. Usage: bench/gpu/profile.sh [SHAPES] [BATCHES]
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
[ -d /tmp/dn ] || { mkdir -p /tmp/dn && tar -C /tmp/dn -xJf .gpu/dotnet-runtime.tar.xz; }
export DOTNET_ROOT=/tmp/dn PATH=/tmp/dn:$PATH MAMBAGEN_KERNEL_CACHE=/tmp/kcache
export LD_LIBRARY_PATH=$(python3 -c "import torch,os;print(os.path.join(os.path.dirname(torch.__file__),'lib'))")
[ -d /tmp/models/mamba2-130m ] || python3 .gpu/peers/make_models.py /tmp/models > /dev/null 2>&1
NSYS=$(command -v nsys || ls /usr/local/cuda*/bin/nsys /opt/nvidia/nsight-systems/*/bin/nsys 2>/dev/null | head -1)
if [ -z "$NSYS" ]; then
  # No Nsight Systems: Nsight Compute's per-kernel times instead (serialised and clock-controlled, so inflated; the
  # proportions hold), on one short prefill and decode of each model.
  for m in mamba2-130m mamba-130m; do
    python3 bench/gpu/ncu_profile.py .gpu/app/MambaGen.Bench.dll --model /tmp/models/$m --device cuda --dtype bfloat16 --reps 1 --tokens 8 \
      --shapes "${1:-32x512}" --batches "${2:-1,128}" > "$OUT/profile-ncu-$m.txt" 2>&1
  done
  cat "$OUT"/profile-ncu-*.txt; exit 0
fi
for m in mamba2-130m mamba-130m; do
  for what in prefill decode; do
    if [ $what = prefill ]; then args=(--shapes "${1:-32x512}" --batches ""); else args=(--shapes "" --batches "${2:-1,128}"); fi
    tag=$what
    "$NSYS" profile -q --cuda-graph-trace=node -t cuda -o /tmp/p-$m-$tag --force-overwrite true \
      dotnet .gpu/app/MambaGen.Bench.dll model --model /tmp/models/$m --device cuda --dtype bfloat16 --reps 1 --tokens 32 "${args[@]}" \
      > /tmp/p-$m-$tag.log 2>&1
    { echo "## $m $what ${args[*]}"; grep '^{"system"' /tmp/p-$m-$tag.log | cut -c1-220
      "$NSYS" stats -q --report cuda_gpu_kern_sum --format csv /tmp/p-$m-$tag.nsys-rep 2>&1 | python3 -c "
import csv,sys
rows=list(csv.reader(sys.stdin))
h=next((i for i,r in enumerate(rows) if r and r[0].startswith('Time')),None)
if h is None: print('\n'.join(','.join(r) for r in rows[:20])); sys.exit()
H=rows[h]; ti=H.index('Total Time (ns)'); ci=H.index('Instances'); ni=H.index('Name')
for r in rows[h+1:h+26]: print(f'{float(r[ti])/1e6:9.2f} ms {int(r[ci]):7d} x {float(r[ti])/int(r[ci])/1e3:8.2f} us  {r[ni][:90]}')
"; echo; } >> "$OUT/profile-$m.txt"
  done
done
cat "$OUT"/profile-*.txt
