// Causal depthwise conv1d over the conv state cache, in place by slot (vLLM's causal_conv1d_update / causal_conv1d_fn).
// Conv states are [blocks, W-1, dim] (dim innermost), the last W-1 raw inputs of a sequence, oldest first.
// out = act(bias + sum_j w[c, j] * window[j]) in fp32, stored states read as the activation dtype (as the reference casts them); a slot < 0 (PAD_SLOT_ID) is a row that touches no state.
#include "prelude.cuh"

// One thread per (row, channel): window = [state, x], output, then the state shifted by x, all in registers.
template <typename T, typename S>
__device__ __forceinline__ void conv_update(const T* x, i64 x_row_stride, const T* weight, const T* bias, S* states, i64 block_stride,
                            const i64* slots, T* out, int rows, int dim, int width, int silu)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    int row = blockIdx.y;
    if (c >= dim || row >= rows) return;
    float acc = mg_conv_step<T, S>(mg_load(x + row * x_row_stride + c), weight, bias, states, block_stride, slots[row], c, dim, width);
    mg_store(out + (i64)row * dim + c, silu ? mg_silu(acc) : acc);
}

// LFM2's short-conv decode over in_proj's output [B | C | x] (row stride bcx_stride): y = C * conv(B * x), no
// activation, each product rounded to T as the tensor ops it replaces would round it. One thread per (row, channel).
template <typename T, typename S>
__device__ __forceinline__ void short_conv_update(const T* bcx, i64 bcx_stride, const T* weight, const T* bias, S* states, i64 block_stride,
                                  const i64* slots, T* out, int rows, int dim, int width)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    int row = blockIdx.y;
    if (c >= dim || row >= rows) return;
    const T* at = bcx + row * bcx_stride;
    float bx = mg_round<T>(mg_load(at + c) * mg_load(at + 2 * dim + c));
    float y = mg_round<T>(mg_conv_step<T, S>(bx, weight, bias, states, block_stride, slots[row], c, dim, width));
    mg_store(out + (i64)row * dim + c, mg_load(at + dim + c) * y);
}

// Prefill: a thread per (channel, sequence, chunk of chunk_tokens tokens) slides the window along its tokens, one
// load a token; taps before the sequence's first token read its stored window where the sequence has an initial
// state (zeros otherwise). States are rewritten afterwards by conv_varlen_states. W <= 8.
template <typename T, typename S>
__device__ __forceinline__ void conv_varlen(const T* __restrict__ x, i64 x_row_stride, const T* __restrict__ weight, const T* __restrict__ bias,
                            const S* __restrict__ states, i64 block_stride, const i64* __restrict__ slots, const u8* __restrict__ has_initial,
                            const i64* __restrict__ query_start, T* __restrict__ out, int chunk_tokens, int seqs, int dim, int width, int silu)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    int s = blockIdx.y;
    if (c >= dim || s >= seqs) return;
    i64 start = query_start[s], end = query_start[s + 1];
    i64 from = start + (i64)blockIdx.z * chunk_tokens;
    if (from >= end) return;
    i64 to = from + chunk_tokens < end ? from + chunk_tokens : end;
    i64 slot = slots[s];
    bool initial = slot >= 0 && has_initial[s];
    // Fixed bounds with guards, so the window stays in registers: taps are right-aligned, win[7] the newest input.
    float w[8], win[8];
#pragma unroll
    for (int j = 0; j < 8; j++)
    {
        int k = j - (8 - width);  // tap index of slot j, negative for unused slots
        w[j] = k >= 0 ? mg_load(weight + (i64)c * width + k) : 0.0f;
        win[j] = 0.0f;
    }
    float b0 = bias ? mg_load(bias + c) : 0.0f;
    // win[8-W .. 6]: the W-1 inputs before `from`, oldest first.
#pragma unroll
    for (int j = 0; j < 7; j++)
    {
        int k = j - (8 - width);
        if (k >= 0)
        {
            i64 p = from - (width - 1) + k;
            win[j] = p >= start ? mg_load(x + p * x_row_stride + c)
                   : (initial ? mg_round<T>(mg_load(states + slot * block_stride + (p - start + width - 1) * dim + c)) : 0.0f);
        }
    }
    for (i64 t = from; t < to; t++)
    {
        win[7] = mg_load(x + t * x_row_stride + c);
        float acc = b0;
#pragma unroll
        for (int j = 0; j < 8; j++) acc += w[j] * win[j];
#pragma unroll
        for (int j = 0; j < 7; j++) win[j] = win[j + 1];
        if (slot < 0) acc = 0.0f;
        mg_store(out + t * dim + c, silu ? mg_silu(acc) : acc);
    }
}

// One thread per (sequence, channel): the new window is the last W-1 of [old window (or zeros), tokens]. Entries are
// written in ascending order and each reads an older entry at a higher index, so the update in place is safe.
template <typename T, typename S>
__device__ __forceinline__ void conv_varlen_states(const T* x, i64 x_row_stride, S* states, i64 block_stride, const i64* slots,
                                   const u8* has_initial, const i64* query_start, int seqs, int dim, int width)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    int s = blockIdx.y;
    if (c >= dim || s >= seqs) return;
    i64 slot = slots[s];
    if (slot < 0) return;
    bool initial = has_initial[s];
    i64 start = query_start[s], len = query_start[s + 1] - start;
    S* st = states + slot * block_stride + c;
    for (int k = 0; k < width - 1; k++)
    {
        i64 p = len - (width - 1) + k;
        float v = p >= 0 ? mg_load(x + (start + p) * x_row_stride + c)
                         : (initial ? mg_round<T>(mg_load(st + (p + width - 1) * dim)) : 0.0f);
        mg_store(st + (i64)k * dim, v);
    }
}

#define CONV_KERNELS(T, S, sfx) \
    extern "C" __global__ void conv_update_##sfx(const T* x, i64 x_row_stride, const T* weight, const T* bias, S* states, \
        i64 block_stride, const i64* slots, T* out, int rows, int dim, int width, int silu) \
    { mg_after_previous_grid(); conv_update<T, S>(x, x_row_stride, weight, bias, states, block_stride, slots, out, rows, dim, width, silu); } \
    extern "C" __global__ void conv_varlen_##sfx(const T* x, i64 x_row_stride, const T* weight, const T* bias, const S* states, \
        i64 block_stride, const i64* slots, const u8* has_initial, const i64* query_start, T* out, int chunk_tokens, int seqs, \
        int dim, int width, int silu) \
    { mg_after_previous_grid(); conv_varlen<T, S>(x, x_row_stride, weight, bias, states, block_stride, slots, has_initial, query_start, out, chunk_tokens, seqs, dim, width, silu); } \
    extern "C" __global__ void conv_varlen_states_##sfx(const T* x, i64 x_row_stride, S* states, i64 block_stride, \
        const i64* slots, const u8* has_initial, const i64* query_start, int seqs, int dim, int width) \
    { mg_after_previous_grid(); conv_varlen_states<T, S>(x, x_row_stride, states, block_stride, slots, has_initial, query_start, seqs, dim, width); } \
    extern "C" __global__ void short_conv_update_##sfx(const T* bcx, i64 bcx_stride, const T* weight, const T* bias, S* states, \
        i64 block_stride, const i64* slots, T* out, int rows, int dim, int width) \
    { mg_after_previous_grid(); short_conv_update<T, S>(bcx, bcx_stride, weight, bias, states, block_stride, slots, out, rows, dim, width); }

MG_FOR_T_S(CONV_KERNELS)
