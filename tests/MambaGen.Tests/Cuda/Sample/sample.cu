// A tiny kernel for the PTX harness tests: one parameter of each kind a launch packs, with its own defines (no CUDA
// headers), compiled by clang-14 with the build's flags.
#define __global__ __attribute__((global))
typedef long long i64;

extern "C" __global__ void sample_scale(float* out, const float* in, i64 count, int stride, float factor)
{
    i64 i = (i64)__nvvm_read_ptx_sreg_ctaid_x() * __nvvm_read_ptx_sreg_ntid_x() + __nvvm_read_ptx_sreg_tid_x();
    if (i < count)
    {
        out[i * stride] = in[i * stride] * factor;
    }
}

extern "C" __global__ void sample_empty()
{
}
