#!/usr/bin/env bash
# Registers, static shared memory and spills of every kernel entry as ptxas would build it for a GPU, on a machine with
# no GPU: each Cuda/Kernels/*.cu through clang-14 with the build's flags (read from CudaKernels.targets), then ptxas.
# ptxas comes with any CUDA toolkit; on Debian 12, non-free's nvidia-cuda-toolkit (11.8, knows sm_90) has one. Its
# package also installs a libcuda.so.1 that changes what the runtime's tests see, so copy ptxas out and purge it:
#   apt-get install nvidia-cuda-toolkit && cp /usr/bin/ptxas /opt/cudatools/ && apt-get purge nvidia-cuda-toolkit libcuda1 && apt-get autoremove
# Usage: [PTXAS=/opt/cudatools/ptxas] [ARCH=sm_90] bench/gpu/ptxas_report.sh [file.cu ...]  (default: every kernel file)
set -euo pipefail
cd "$(dirname "$0")/../../src/Runtime"
ptxas=${PTXAS:-$(command -v ptxas || echo /opt/cudatools/ptxas)}
[ -x "$ptxas" ] || { echo "no ptxas (set PTXAS=...; see the comment at the top of $0)" >&2; exit 2; }
flags=$(sed -n 's:.*<_MambaGenClangArgs>\(.*\)</_MambaGenClangArgs>.*:\1:p' build/CudaKernels.targets)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
files=("$@"); [ ${#files[@]} -gt 0 ] || files=(Cuda/Kernels/*.cu)
status=0
for f in "${files[@]}"; do
  [ -f "$f" ] || f=Cuda/Kernels/$(basename "$f")
  name=$(basename "$f" .cu)
  # shellcheck disable=SC2086
  ${CLANG:-clang-14} $flags -I Cuda/Kernels -o "$work/$name.ptx" "$f"
  echo "== $name.cu (${ARCH:-sm_90})"
  if ! "$ptxas" -arch="${ARCH:-sm_90}" -v "$work/$name.ptx" -o "$work/$name.cubin" > "$work/$name.log" 2>&1; then status=1; fi
  awk '/error/ { print "  " $0 }
       /Compiling entry/ { gsub("\x27", "", $7); entry = $7 }
       /Used/ { sub(/.*Used /, ""); printf "  %-44s %s\n", entry, $0 }
       /spill/ && !/0 bytes spill stores, 0 bytes spill loads/ { printf "  %-44s %s\n", entry, $0 }' "$work/$name.log"
done
exit $status
