// Greedy picks of a step's logits [rows, vocab]: each row's argmax (the first of equal maxima, as torch.argmax) and
// whether the row can be sampled at all (no NaN, no +Inf, not all -Inf: what the sampler's isfinite(amax) says), so
// a greedy step copies [rows, 2] int64 to the host after one launch instead of argmax, amax, isfinite, a cast and a
// stack. A block per row; each thread walks the row with a stride of the block, then the block reduces.
#include "prelude.cuh"

#define GREEDY_THREADS 1024
#define GREEDY_INF mg_bits_to_float(0x7f800000u)

// The better of two (value, index) candidates: the larger value, the lower index among equal ones.
__device__ __forceinline__ void greedy_better(float& v, int& i, float ov, int oi)
{
    if (ov > v || (ov == v && oi < i))
    {
        v = ov;
        i = oi;
    }
}

template <typename T>
__device__ __forceinline__ void greedy_rows(const T* __restrict__ logits, i64 row_stride, int vocab, i64* __restrict__ out)
{
    __shared__ float best_v[32];
    __shared__ int best_i[32], faults[32];
    const T* row = logits + blockIdx.x * row_stride;
    // -Inf never replaces the start, so a row of -Inf only keeps index `vocab` (and is reported unhealthy).
    float v = -GREEDY_INF;
    int index = vocab, fault = 0;
    for (int k = threadIdx.x; k < vocab; k += blockDim.x)
    {
        float x = mg_load(row + k);
        fault |= x != x || x == GREEDY_INF;
        if (x > v)
        {
            v = x;
            index = k;
        }
    }
    for (int m = 16; m > 0; m >>= 1)
    {
        greedy_better(v, index, mg_shfl_xor(v, m), mg_shfl_xor_i(index, m));
        fault |= mg_shfl_xor_i(fault, m);
    }
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = (int)(blockDim.x >> 5);
    if (lane == 0)
    {
        best_v[warp] = v;
        best_i[warp] = index;
        faults[warp] = fault;
    }
    mg_sync();
    if (warp == 0)
    {
        v = lane < warps ? best_v[lane] : -GREEDY_INF;
        index = lane < warps ? best_i[lane] : vocab;
        fault = lane < warps ? faults[lane] : 0;
        for (int m = 16; m > 0; m >>= 1)
        {
            greedy_better(v, index, mg_shfl_xor(v, m), mg_shfl_xor_i(index, m));
            fault |= mg_shfl_xor_i(fault, m);
        }
        if (lane == 0)
        {
            out[2 * (i64)blockIdx.x] = index < vocab ? index : 0;
            out[2 * (i64)blockIdx.x + 1] = !fault && index < vocab;
        }
    }
}

#define GREEDY_KERNELS(T, sfx) \
    extern "C" __global__ void MG_LAUNCH_BOUNDS(GREEDY_THREADS, 1) greedy_rows_##sfx(const T* logits, i64 row_stride, int vocab, i64* out) \
    { mg_after_previous_grid(); greedy_rows<T>(logits, row_stride, vocab, out); }

MG_FOR_T(GREEDY_KERNELS)
