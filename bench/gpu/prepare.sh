#!/usr/bin/env bash
# Here (no GPU): fills .gpu/ with what the GPU machine needs to run the bench: the .NET runtime, the bench app published
# without the CPU libtorch (the GPU machine's CUDA libtorch from PyTorch is loaded instead) and, with --peers, the
# peers' benches and builds from ../shared/peers. Usage: bench/gpu/prepare.sh [--peers]
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >> .git/info/exclude
mkdir -p .gpu
# The .NET host and Microsoft.NETCore.App, less what the bench never loads (debugger, other GCs, XML, VB): the carry's
# 64 MiB holds the tree, the app and the peers together.
if [ ! -s .gpu/dotnet-runtime.tar.xz ]; then
  root=$(dirname "$(readlink -f "$(command -v dotnet)")")
  tar -C "$root" -cJf .gpu/dotnet-runtime.tar.xz --exclude='libmscordaccore.so' --exclude='libmscordbi.so' --exclude=createdump \
    --exclude='libclrgc*.so' --exclude='Microsoft.VisualBasic*' --exclude='System.Private.Xml*' --exclude=System.Data.Common.dll \
    dotnet host shared/Microsoft.NETCore.App
fi
rm -rf .gpu/app
dotnet publish bench/MambaGen.Bench -c Release -o .gpu/app -v q --nologo
# Only LibTorchSharp stays: libtorch itself comes from the GPU machine's PyTorch.
find .gpu/app -name 'libtorch*.so' -delete -o -name 'libc10*.so' -delete -o -name 'libgomp*' -delete
# libtorch's test and mobile backends and the API docs are not loaded; the carry is capped at 64 MiB with the tree.
rm -f .gpu/app/runtimes/linux-x64/native/lib{nnapi_backend,aoti_custom_ops,backend_with_compiler,jitbackend_test}.so .gpu/app/*.xml
rm -rf .gpu/app/runtimes/{win,osx}*
mkdir -p .gpu/peers && cp ../shared/peers/*.py .gpu/peers/
if [ "${1:-}" = "--peers" ]; then cp ../shared/peers/*.tar.xz .gpu/peers/; else rm -f .gpu/peers/*.tar.xz; fi
du -sh .gpu
