// RMS norms of the model and of Mamba-2's mixer, one block per normalised row (or group), fp32 inside.
#include "prelude.cuh"

#define NORM_THREADS 256

// residual += delta (when given), then out = RMSNorm(residual) * weight. With round_input (a block's norm) the residual
// is read as the weight's dtype T and the normalised value is rounded to T before the scale, as HF's MambaRMSNorm on
// hidden.to(T); without it (the final norm of an fp32 residual) neither rounding happens, as that norm runs in fp32.
// The pointers are __restrict__ (the output is a fresh tensor, the residual no input's view): a load the compiler must
// order after a store that may alias it waits for that store, one memory latency per loop trip.
template <typename R, typename T>
__device__ __forceinline__ void add_rmsnorm(R* __restrict__ residual, const T* __restrict__ delta, const T* __restrict__ weight, T* __restrict__ out,
                                            int width, float eps, int round_input)
{
    __shared__ float shared[32];
    i64 row = blockIdx.x;
    R* r = residual + row * width;
    float sum = 0.0f;
    for (int i = threadIdx.x; i < width; i += blockDim.x)
    {
        float v = mg_load(r + i);
        if (delta)
        {
            v = mg_round<R>(v + mg_load(delta + row * width + i));
            mg_store(r + i, v);
        }
        if (round_input) v = mg_round<T>(v);
        sum += v * v;
    }
    float scale = mg_rsqrt(mg_block_sum(sum, shared) / width + eps);
    for (int i = threadIdx.x; i < width; i += blockDim.x)
    {
        float v = mg_load(r + i);
        if (round_input) v = mg_round<T>(mg_round<T>(v) * scale);
        else v = v * scale;
        mg_store(out + row * width + i, v * mg_load(weight + i));
    }
}

// Mamba-2's gated norm (norm_before_gate=False): out = weight * RMS_group(x * silu(z)), one block per (group, row).
template <typename T>
__device__ __forceinline__ void gated_rmsnorm(const T* __restrict__ x, i64 x_stride, const T* __restrict__ z, i64 z_stride,
                                              const T* __restrict__ weight, T* __restrict__ out, int width, int group_size, float eps)
{
    __shared__ float shared[32];
    i64 row = blockIdx.y;
    int base = blockIdx.x * group_size;
    float sum = 0.0f;
    for (int i = threadIdx.x; i < group_size; i += blockDim.x)
    {
        float g = mg_load(x + row * x_stride + base + i) * mg_silu(mg_load(z + row * z_stride + base + i));
        sum += g * g;
    }
    float scale = mg_rsqrt(mg_block_sum(sum, shared) / group_size + eps);
    for (int i = threadIdx.x; i < group_size; i += blockDim.x)
    {
        float g = mg_load(x + row * x_stride + base + i) * mg_silu(mg_load(z + row * z_stride + base + i));
        mg_store(out + row * width + base + i, g * scale * mg_load(weight + base + i));
    }
}

#define ADD_NORM_KERNEL(T, R, sfx) \
    extern "C" __global__ void add_rmsnorm_##sfx(R* residual, const T* delta, const T* weight, T* out, int width, float eps, \
        int round_input) \
    { add_rmsnorm<R, T>(residual, delta, weight, out, width, eps, round_input); }

#define GATED_NORM_KERNEL(T, sfx) \
    extern "C" __global__ void gated_rmsnorm_##sfx(const T* x, i64 x_stride, const T* z, i64 z_stride, const T* weight, T* out, \
        int width, int group_size, float eps) \
    { gated_rmsnorm<T>(x, x_stride, z, z_stride, weight, out, width, group_size, eps); }

MG_FOR_T_S(ADD_NORM_KERNEL)
MG_FOR_T(GATED_NORM_KERNEL)
