// RMS norms of the model and of Mamba-2's mixer, one block per normalised row (or group), fp32 inside.
#include "prelude.cuh"

#define NORM_THREADS 256

// Values a thread holds at once: each pass over a row loads NORM_BATCH values a thread before using the first, so a
// pass costs a memory latency per NORM_BATCH * blockDim values, not per blockDim (a row of up to 4096 is one batch).
// A row of one batch is read once: the first pass also loads the weights and keeps its values for the second.
#define NORM_BATCH 16

// residual += delta (when given), then out = RMSNorm(residual) * weight. With round_input (a block's norm) the residual
// is read as the weight's dtype T and the normalised value is rounded to T before the scale, as HF's MambaRMSNorm on
// hidden.to(T); without it (the final norm of an fp32 residual) neither rounding happens, as that norm runs in fp32.
// The pointers are __restrict__: the output is a fresh tensor, the residual no input's view.
template <typename R, typename T>
__device__ __forceinline__ void add_rmsnorm(R* __restrict__ residual, const T* __restrict__ delta, const T* __restrict__ weight, T* __restrict__ out,
                                            int width, float eps, int round_input)
{
    __shared__ float shared[32];
    i64 row = blockIdx.x;
    R* r = residual + row * width;
    bool one = width <= NORM_BATCH * (int)blockDim.x;
    float sum = 0.0f, v[NORM_BATCH], w[NORM_BATCH];
    for (int i0 = threadIdx.x; i0 < width; i0 += NORM_BATCH * blockDim.x)
    {
        float dv[NORM_BATCH];
#pragma unroll
        for (int j = 0; j < NORM_BATCH; j++)
        {
            int i = i0 + j * blockDim.x;
            v[j] = i < width ? mg_load(r + i) : 0.0f;
            dv[j] = i < width && delta ? mg_load(delta + row * width + i) : 0.0f;
            w[j] = one && i < width ? mg_load(weight + i) : 0.0f;
        }
#pragma unroll
        for (int j = 0; j < NORM_BATCH; j++)
        {
            int i = i0 + j * blockDim.x;
            if (i >= width) continue;
            float x = v[j];
            if (delta)
            {
                x = mg_round<R>(x + dv[j]);
                mg_store(r + i, x);
            }
            v[j] = x;
            if (round_input) x = mg_round<T>(x);
            sum += x * x;
        }
    }
    float scale = mg_rsqrt(mg_block_sum(sum, shared) / width + eps);
    for (int i0 = threadIdx.x; i0 < width; i0 += NORM_BATCH * blockDim.x)
    {
        if (!one)
        {
#pragma unroll
            for (int j = 0; j < NORM_BATCH; j++)
            {
                int i = i0 + j * blockDim.x;
                v[j] = i < width ? mg_load(r + i) : 0.0f;
                w[j] = i < width ? mg_load(weight + i) : 0.0f;
            }
        }
#pragma unroll
        for (int j = 0; j < NORM_BATCH; j++)
        {
            int i = i0 + j * blockDim.x;
            if (i >= width) continue;
            float x = v[j];
            if (round_input) x = mg_round<T>(mg_round<T>(x) * scale);
            else x = x * scale;
            mg_store(out + row * width + i, x * w[j]);
        }
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
    bool one = group_size <= NORM_BATCH * (int)blockDim.x;
    float sum = 0.0f, g[NORM_BATCH], w[NORM_BATCH];
    for (int i0 = threadIdx.x; i0 < group_size; i0 += NORM_BATCH * blockDim.x)
    {
#pragma unroll
        for (int j = 0; j < NORM_BATCH; j++)
        {
            int i = i0 + j * blockDim.x;
            g[j] = i < group_size ? mg_load(x + row * x_stride + base + i) * mg_silu(mg_load(z + row * z_stride + base + i)) : 0.0f;
            w[j] = one && i < group_size ? mg_load(weight + base + i) : 0.0f;
        }
#pragma unroll
        for (int j = 0; j < NORM_BATCH; j++) sum += g[j] * g[j];
    }
    float scale = mg_rsqrt(mg_block_sum(sum, shared) / group_size + eps);
    for (int i0 = threadIdx.x; i0 < group_size; i0 += NORM_BATCH * blockDim.x)
    {
        if (!one)
        {
#pragma unroll
            for (int j = 0; j < NORM_BATCH; j++)
            {
                int i = i0 + j * blockDim.x;
                bool in = i < group_size;
                g[j] = in ? mg_load(x + row * x_stride + base + i) * mg_silu(mg_load(z + row * z_stride + base + i)) : 0.0f;
                w[j] = in ? mg_load(weight + base + i) : 0.0f;
            }
        }
#pragma unroll
        for (int j = 0; j < NORM_BATCH; j++)
        {
            int i = i0 + j * blockDim.x;
            if (i < group_size) mg_store(out + row * width + base + i, g[j] * scale * w[j]);
        }
    }
}

#define ADD_NORM_KERNEL(T, R, sfx) \
    extern "C" __global__ void add_rmsnorm_##sfx(R* residual, const T* delta, const T* weight, T* out, int width, float eps, \
        int round_input) \
    { mg_after_previous_grid(); add_rmsnorm<R, T>(residual, delta, weight, out, width, eps, round_input); }

#define GATED_NORM_KERNEL(T, sfx) \
    extern "C" __global__ void gated_rmsnorm_##sfx(const T* x, i64 x_stride, const T* z, i64 z_stride, const T* weight, T* out, \
        int width, int group_size, float eps) \
    { mg_after_previous_grid(); gated_rmsnorm<T>(x, x_stride, z, z_stride, weight, out, width, group_size, eps); }

MG_FOR_T_S(ADD_NORM_KERNEL)
MG_FOR_T(GATED_NORM_KERNEL)
