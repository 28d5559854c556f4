// What every MambaGen kernel needs, for the two compilers that build them: NVRTC at run time (real CUDA builtins)
// and clang-14 at build time (no CUDA headers: -nocudainc -nocudalib, so builtins map to NVVM intrinsics).
// Half-precision values travel as raw 16-bit words so neither compiler needs cuda_fp16.h / cuda_bf16.h.
#pragma once

#if defined(__CUDACC_RTC__) || defined(__MAMBAGEN_NVRTC__)
#define MG_NVRTC 1
#else
#include <__clang_cuda_builtin_vars.h>
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
#define __forceinline__ __inline__ __attribute__((always_inline))
#endif

typedef long long i64;
typedef unsigned short u16;
typedef unsigned char u8;

#ifdef MG_NVRTC
__device__ __forceinline__ float mg_exp(float x) { return expf(x); }
// exp through the hardware's ex2 (about 2 ulp): for the per-state decays of a scan, where accurate expf dominates the time.
__device__ __forceinline__ float mg_fast_exp(float x) { return __expf(x); }
__device__ __forceinline__ float mg_log1p(float x) { return log1pf(x); }
__device__ __forceinline__ float mg_rsqrt(float x) { return rsqrtf(x); }
__device__ __forceinline__ float mg_fmax(float a, float b) { return fmaxf(a, b); }
__device__ __forceinline__ float mg_fmin(float a, float b) { return fminf(a, b); }
__device__ __forceinline__ float mg_shfl_xor(float v, int lane_mask) { return __shfl_xor_sync(0xffffffffu, v, lane_mask); }
__device__ __forceinline__ int mg_shfl_xor_i(int v, int lane_mask) { return __shfl_xor_sync(0xffffffffu, v, lane_mask); }
__device__ __forceinline__ void mg_sync() { __syncthreads(); }
__device__ __forceinline__ float mg_bits_to_float(unsigned u) { return __uint_as_float(u); }
__device__ __forceinline__ unsigned mg_float_to_bits(float f) { return __float_as_uint(f); }
#else
// Approximate exp2/log2 (about 2 ulp): the PTX fallback is checked against the references within fp32 tolerances.
__device__ __forceinline__ float mg_exp(float x) { return __nvvm_ex2_approx_f(x * 1.4426950408889634f); }
__device__ __forceinline__ float mg_fast_exp(float x) { return mg_exp(x); }
__device__ __forceinline__ float mg_log1p(float x)
{
    // log(1 + x) loses x below fp32's epsilon: return x there, as log1p does to first order.
    return x < 1e-7f ? x : __nvvm_lg2_approx_f(1.0f + x) * 0.6931471805599453f;
}
__device__ __forceinline__ float mg_rsqrt(float x) { return __nvvm_rsqrt_approx_f(x); }
__device__ __forceinline__ float mg_fmax(float a, float b) { return __nvvm_fmax_f(a, b); }
__device__ __forceinline__ float mg_fmin(float a, float b) { return __nvvm_fmin_f(a, b); }
__device__ __forceinline__ float mg_shfl_xor(float v, int lane_mask) { return __nvvm_shfl_sync_bfly_f32(0xffffffffu, v, lane_mask, 0x1f); }
__device__ __forceinline__ int mg_shfl_xor_i(int v, int lane_mask) { return __nvvm_shfl_sync_bfly_i32(0xffffffffu, v, lane_mask, 0x1f); }
__device__ __forceinline__ void mg_sync() { __nvvm_bar_sync(0); }
__device__ __forceinline__ float mg_bits_to_float(unsigned u) { return __nvvm_bitcast_i2f((int)u); }
__device__ __forceinline__ unsigned mg_float_to_bits(float f) { return (unsigned)__nvvm_bitcast_f2i(f); }
#endif

// Element types: fp32, bf16 and fp16 as stored; all arithmetic is fp32.
struct bf16 { u16 bits; };
struct f16 { u16 bits; };

__device__ __forceinline__ float mg_load(const float* p) { return *p; }
__device__ __forceinline__ float mg_load(const bf16* p) { return mg_bits_to_float(((unsigned)p->bits) << 16); }
__device__ __forceinline__ float mg_load(const f16* p)
{
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(p->bits));
    return f;
}

__device__ __forceinline__ void mg_store(float* p, float v) { *p = v; }
__device__ __forceinline__ void mg_store(bf16* p, float v)
{
    unsigned u = mg_float_to_bits(v);
    // Round to nearest even, as PyTorch's cast does; NaN stays a quiet NaN.
    p->bits = (u & 0x7fffffffu) > 0x7f800000u ? (u16)0x7fc0 : (u16)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
__device__ __forceinline__ void mg_store(f16* p, float v)
{
    u16 h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v));
    p->bits = h;
}

// The value a stored element would read back as: what a cast to T and back gives (for PyTorch's rounding points).
template <typename T>
__device__ __forceinline__ float mg_round(float v)
{
    T t;
    mg_store(&t, v);
    return mg_load(&t);
}

__device__ __forceinline__ float mg_silu(float v) { return v / (1.0f + mg_exp(-v)); }

// PyTorch's softplus with threshold 20.
__device__ __forceinline__ float mg_softplus(float v) { return v > 20.0f ? v : mg_log1p(mg_exp(v)); }

__device__ __forceinline__ float mg_warp_sum(float v, int width)
{
    for (int m = width >> 1; m > 0; m >>= 1)
    {
        v += mg_shfl_xor(v, m);
    }
    return v;
}

// Instantiates KERNEL(T, S, suffix) for every activation dtype T and state dtype S, with extern "C" names.
#define MG_FOR_T_S(KERNEL) \
    KERNEL(float, float, f32_f32) KERNEL(float, bf16, f32_bf16) KERNEL(float, f16, f32_f16) \
    KERNEL(bf16, float, bf16_f32) KERNEL(bf16, bf16, bf16_bf16) KERNEL(bf16, f16, bf16_f16) \
    KERNEL(f16, float, f16_f32) KERNEL(f16, bf16, f16_bf16) KERNEL(f16, f16, f16_f16)

#define MG_FOR_T(KERNEL) KERNEL(float, f32) KERNEL(bf16, bf16) KERNEL(f16, f16)
