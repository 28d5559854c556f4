// Projections of a few rows (decode steps of at most 8 tokens): y[r, o] = x[r, :] . W[o, :] (+ bias[o]), a warp per
// output, each lane reading 16 bytes of the weight row at a time so the weights stream through once at full width.
// With their neighbours fused, so a decode layer makes fewer launches:
//   mode 0: x as given;
//   mode 1: x = RMSNorm(residual) read as T, as a block's norm (HF's MambaRMSNorm on hidden.to(T)) before in_proj;
//   mode 2: x = Mamba-2's gated RMSNorm of (x, z) per group before out_proj.
// With residual_out, the result is added into the residual stream in place (residual[r, o] += round_T(y)): each
// element belongs to one warp, so no other block reads it. With a conv epilogue (decode steps), the outputs of the
// columns [start, start + dim) go through the causal conv update of their channel (and SiLU) before they are stored,
// the channel's conv state shifted in place: one warp owns a channel, so this too is free of races. Rounding points
// match the unfused kernels exactly.
#include "prelude.cuh"

#define GEMV_WARPS 8
#define GEMV_MAX_ROWS 8
#define GEMV_MAX_SCALES 64  // rows x norm groups
#define GEMV_BATCH 4        // chunks of 256 inputs whose weights a warp loads at once

// A 16-bit value's raw bits as fp32, by the prelude's reading of T.
template <typename T>
__device__ __forceinline__ float mg_16_to_f32(u16 bits)
{
    T t;
    t.bits = bits;
    return mg_load(&t);
}

// Eight consecutive 16-byte-aligned elements as loaded, converted to fp32 where used: 16-bit types keep four registers,
// not eight, while their loads are in flight.
template <typename T>
struct Packed8
{
    mg_u4 w;
    __device__ __forceinline__ void load(const T* p) { w = *(const mg_u4*)p; }
    __device__ __forceinline__ float at(int e) const
    {
        unsigned word = e < 2 ? w.x : e < 4 ? w.y : e < 6 ? w.z : w.w;
        return mg_16_to_f32<T>((e & 1) ? (u16)(word >> 16) : (u16)(word & 0xffffu));
    }
};
template <>
struct Packed8<float>
{
    float v[8];
    __device__ __forceinline__ void load(const float* p) { mg_load8(p, v); }
    __device__ __forceinline__ float at(int e) const { return v[e]; }
};

// The conv update applied to a range of output columns (conv states of the activations' dtype).
template <typename T>
struct GemvConv
{
    const T* weight;
    const T* bias;
    T* states;
    i64 block_stride;
    const i64* slots;
    int start, dim, width, silu;
};

// Eight consecutive elements as fp32: one 16-byte access where `vector` says the address allows it, else eight.
template <typename T>
__device__ __forceinline__ void mg_load8_any(const T* p, float* v, bool vector)
{
    if (vector)
    {
        mg_load8(p, v);
        return;
    }
#pragma unroll
    for (int e = 0; e < 8; e++) v[e] = mg_load(p + e);
}

// ROWS: the most rows the entry takes. Its partial sums are registers, and an entry's register count is its largest
// instantiation's, so steps of one row have entries of their own (`_r1`): fewer registers, more warps an SM.
template <typename T, typename R, int MODE, bool CONV, int ROWS>
__device__ __forceinline__ void gemv(const T* x, i64 x_stride, const T* z, i64 z_stride, const R* residual_in, const T* norm_w,
                                     const T* W, const T* bias, T* y, R* residual_out, int rows, int in, int out, int group_size, float eps,
                                     GemvConv<T> conv)
{
    // x and z rows are read 16 bytes at a time when their strides keep every row aligned (views of a wider output may not).
    bool vector_x = x_stride % 8 == 0 && ((unsigned long long)x & 15) == 0;
    bool vector_z = z_stride % 8 == 0 && ((unsigned long long)z & 15) == 0;
    __shared__ float shared[32];
    __shared__ float scale[GEMV_MAX_SCALES];
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int o = blockIdx.x * GEMV_WARPS + warp;
    const T* w_row = W + (i64)(o < out ? o : 0) * in;
    // The first batch of weights (and norm weights) is loaded before the norms' scales are reduced, so its memory latency
    // passes while they are: GEMV_BATCH chunks of 256 inputs a trip, all in flight before the first is used, so a warp
    // waits one memory latency per 1024 inputs, not per 256 (a loop trip's loads are used in the same trip).
    Packed8<T> wv[GEMV_BATCH], nw[GEMV_BATCH];
    auto load_batch = [&](int base)
    {
#pragma unroll
        for (int c = 0; c < GEMV_BATCH; c++)
        {
            int i0 = base + c * 32 * 8;
            if (i0 < in)
            {
                wv[c].load(w_row + i0);
                if (MODE != 0) nw[c].load(norm_w + i0);
            }
        }
    };
    if (o < out) load_batch(lane * 8);
    // The epilogue's bias too, as a prefetch: a load would hold a register through the dot products.
    bool conv_column = CONV && o >= conv.start && o < conv.start + conv.dim;
    if (bias && o < out && lane == 0) mg_prefetch(bias + o);
    // Weights only above: no kernel writes them, so they load while the previous grid finishes (see the prelude).
    mg_after_previous_grid();
    // Lane r stores row r (below); what that needs is on its way to L1 while the norms and the dot products run: its
    // conv state, or the residual it adds into, would otherwise be a memory latency after the last shuffle.
    if (o < out && lane < rows)
    {
        if (residual_out) mg_prefetch(residual_out + (i64)lane * out + o);
        else if (conv_column)
        {
            int c = o - conv.start;
            if (lane == 0) mg_prefetch(conv.weight + (i64)c * conv.width);
            i64 slot = conv.slots[lane];
            for (int j = 0; slot >= 0 && j < conv.width - 1; j++) mg_prefetch(conv.states + slot * conv.block_stride + c + (i64)j * conv.dim);
        }
    }
    // The norms' scales, once per block: every row (and group) of the step.
    if (MODE == 1)
    {
        for (int r = 0; r < rows; r++)
        {
            float sum = 0.0f;
            for (int i = threadIdx.x; i < in; i += blockDim.x)
            {
                float v = mg_round<T>(mg_load(residual_in + (i64)r * in + i));
                sum += v * v;
            }
            sum = mg_block_sum(sum, shared);
            if (threadIdx.x == 0) scale[r] = mg_rsqrt(sum / in + eps);
        }
    }
    else if (MODE == 2)
    {
        int groups = in / group_size;
        for (int r = 0; r < rows; r++)
        {
            for (int g = 0; g < groups; g++)
            {
                float sum = 0.0f;
                for (int i = g * group_size + threadIdx.x; i < (g + 1) * group_size; i += blockDim.x)
                {
                    float v = mg_load(x + r * x_stride + i) * mg_silu(mg_load(z + r * z_stride + i));
                    sum += v * v;
                }
                sum = mg_block_sum(sum, shared);
                if (threadIdx.x == 0) scale[r * groups + g] = mg_rsqrt(sum / group_size + eps);
            }
        }
    }
    if (MODE != 0) mg_sync();

    if (o >= out) return;
    float acc[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; r++) acc[r] = 0.0f;
    for (int base = lane * 8; base < in; base += GEMV_BATCH * 32 * 8)
    {
        if (base != lane * 8) load_batch(base);
#pragma unroll
        for (int r = 0; r < ROWS; r++)
        {
            if (r < rows)
            {
                float xv[GEMV_BATCH][8];
#pragma unroll
                for (int c = 0; c < GEMV_BATCH; c++)
                {
                    int i0 = base + c * 32 * 8;
                    if (i0 >= in) continue;
                    if (MODE == 1)
                    {
                        mg_load8(residual_in + (i64)r * in + i0, xv[c]);
                        float s = scale[r];
#pragma unroll
                        for (int e = 0; e < 8; e++) xv[c][e] = mg_round<T>(mg_round<T>(mg_round<T>(xv[c][e]) * s) * nw[c].at(e));
                    }
                    else if (MODE == 2)
                    {
                        float zv[8];
                        mg_load8_any(x + r * x_stride + i0, xv[c], vector_x);
                        mg_load8_any(z + r * z_stride + i0, zv, vector_z);
                        float s = scale[r * (in / group_size) + i0 / group_size];
#pragma unroll
                        for (int e = 0; e < 8; e++) xv[c][e] = mg_round<T>(xv[c][e] * mg_silu(zv[e]) * s * nw[c].at(e));
                    }
                    else
                    {
                        mg_load8_any(x + r * x_stride + i0, xv[c], vector_x);
                    }
                }
#pragma unroll
                for (int c = 0; c < GEMV_BATCH; c++)
                {
                    if (base + c * 32 * 8 >= in) continue;
#pragma unroll
                    for (int e = 0; e < 8; e++) acc[r] += wv[c].at(e) * xv[c][e];
                }
            }
        }
    }
    // Every lane runs every row's reduction (the shuffles need the whole warp) and lane r keeps row r's sum: the rows'
    // stores then run side by side, where lane 0 took them one after another, each waiting on its own loads.
    float v = 0.0f;
#pragma unroll
    for (int r = 0; r < ROWS; r++)
    {
        if (r < rows)
        {
            float sum = mg_warp_sum(acc[r], 32);
            if (lane == r) v = sum;
        }
    }
    if (lane >= rows) return;
    int r = ROWS == 1 ? 0 : lane;
    float b = bias ? mg_load(bias + o) : 0.0f;
    if (residual_out)
    {
        R* at = residual_out + (i64)r * out + o;
        mg_store(at, mg_load(at) + mg_round<T>(v + b));
    }
    else if (conv_column)
    {
        float a = mg_conv_step<T, T>(mg_round<T>(v + b), conv.weight, conv.bias, conv.states, conv.block_stride, conv.slots[r],
                                     o - conv.start, conv.dim, conv.width);
        mg_store(y + (i64)r * out + o, conv.silu ? mg_silu(a) : a);
    }
    else
    {
        mg_store(y + (i64)r * out + o, v + b);
    }
}

#define GEMV_ARGS(T, R) const T* x, i64 x_stride, const T* z, i64 z_stride, const R* residual_in, const T* norm_w, const T* W, const T* bias, \
    T* y, R* residual_out, int rows, int in, int out, int group_size, float eps
#define GEMV_PASS x, x_stride, z, z_stride, residual_in, norm_w, W, bias, y, residual_out, rows, in, out, group_size, eps
#define GEMV_KERNELS_OF(T, R, sfx, ROWS, BOUNDS) \
    extern "C" __global__ void BOUNDS gemv##sfx(GEMV_ARGS(T, R)) { gemv<T, R, 0, false, ROWS>(GEMV_PASS, GemvConv<T>()); } \
    extern "C" __global__ void BOUNDS rmsnorm_gemv##sfx(GEMV_ARGS(T, R)) { gemv<T, R, 1, false, ROWS>(GEMV_PASS, GemvConv<T>()); } \
    extern "C" __global__ void gated_gemv##sfx(GEMV_ARGS(T, R)) { gemv<T, R, 2, false, ROWS>(GEMV_PASS, GemvConv<T>()); } \
    extern "C" __global__ void BOUNDS rmsnorm_gemv_conv##sfx(const R* residual_in, const T* norm_w, const T* W, const T* bias, T* y, int rows, \
        int in, int out, float eps, const T* conv_weight, const T* conv_bias, T* conv_states, i64 conv_block_stride, const i64* slots, \
        int conv_start, int conv_dim, int conv_width, int silu) \
    { \
        GemvConv<T> conv = {conv_weight, conv_bias, conv_states, conv_block_stride, slots, conv_start, conv_dim, conv_width, silu}; \
        gemv<T, R, 1, true, ROWS>(nullptr, 0, nullptr, 0, residual_in, norm_w, W, bias, y, nullptr, rows, in, out, 1, eps, conv); \
    }
// One-row entries at three blocks an SM (a block is 8 warps; a decode step of one row is a few hundred blocks): 80
// registers, a few bytes spilled, where two blocks fit unbounded. The gated norm's entry would spill 144 bytes a thread
// for it, and stays at two.
#define GEMV_KERNELS(T, R, sfx) GEMV_KERNELS_OF(T, R, _##sfx, GEMV_MAX_ROWS, ) GEMV_KERNELS_OF(T, R, _r1_##sfx, 1, MG_LAUNCH_BOUNDS(32 * GEMV_WARPS, 3))

MG_FOR_T_S(GEMV_KERNELS)
