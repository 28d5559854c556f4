"""Compiles every kernel file with an NVRTC on this machine as the runtime does at first use on a GPU (prelude.cuh as a
named header, CudaRuntime.CompileOptions' options), to a CUBIN for one architecture: NVRTC's front end and ptxas,
without a GPU. A module NVRTC refuses on the GPU machine costs a call; this finds it here.

On Debian 12 (non-free): apt-get download libnvrtc11.2 libnvrtc-builtins11.8 && for d in *.deb; do dpkg -x $d /opt/nvrtc; done
Usage: LD_LIBRARY_PATH=/opt/nvrtc/usr/lib/x86_64-linux-gnu python3 bench/gpu/nvrtc_check.py [--arch sm_90] [--ptx-out DIR] [file.cu ...]
--ptx-out writes each file's PTX (what NVRTC made for the architecture, e.g. to read its griddepcontrol or mma lines).
"""
import argparse
import ctypes
import ctypes.util
import os
import sys

KERNELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "Runtime", "Cuda", "Kernels")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--lib", default=os.environ.get("NVRTC", "libnvrtc.so.11.2"))
    parser.add_argument("--ptx-out")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    nvrtc = ctypes.CDLL(args.lib)
    prelude = open(os.path.join(KERNELS, "prelude.cuh"), "rb").read()
    files = args.files or sorted(f for f in os.listdir(KERNELS) if f.endswith(".cu"))
    # CudaRuntime.CompileOptions: the device's architecture, no fast math.
    options = [f"--gpu-architecture={args.arch}".encode(), b"-default-device", b"--std=c++17", b"-D__MAMBAGEN_NVRTC__"]
    failed = 0
    for name in files:
        name = os.path.basename(name)
        program = ctypes.c_void_p()
        source = open(os.path.join(KERNELS, name), "rb").read()
        headers, header_names = (ctypes.c_char_p * 1)(prelude), (ctypes.c_char_p * 1)(b"prelude.cuh")
        if nvrtc.nvrtcCreateProgram(ctypes.byref(program), source, name.encode(), 1, headers, header_names) != 0:
            sys.exit(f"{name}: nvrtcCreateProgram failed")
        result = nvrtc.nvrtcCompileProgram(program, len(options), (ctypes.c_char_p * len(options))(*options))
        size = ctypes.c_size_t()
        nvrtc.nvrtcGetProgramLogSize(program, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value)
        nvrtc.nvrtcGetProgramLog(program, log)
        print(f"{name}: {'compiled' if result == 0 else f'FAILED (nvrtcResult {result})'} for {args.arch}")
        if log.value.strip():
            print(log.value.decode(errors="replace").rstrip())
        failed += result != 0
        if result == 0 and args.ptx_out:
            os.makedirs(args.ptx_out, exist_ok=True)
            nvrtc.nvrtcGetPTXSize(program, ctypes.byref(size))
            ptx = ctypes.create_string_buffer(size.value)
            nvrtc.nvrtcGetPTX(program, ptx)
            with open(os.path.join(args.ptx_out, name.replace(".cu", ".ptx")), "wb") as f:
                f.write(ptx.value)
        nvrtc.nvrtcDestroyProgram(ctypes.byref(program))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
