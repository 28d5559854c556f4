// What every MambaGen kernel needs, for the three compilers that build them: NVRTC at run time (real CUDA builtins),
// clang-14 at build time (no CUDA headers: -nocudainc -nocudalib, so builtins map to NVVM intrinsics), and a host C++
// compiler for the CPU emulator the test suite runs the kernels under (__MAMBAGEN_EMU__: threads as coroutines).
// Half-precision values travel as raw 16-bit words so no compiler needs cuda_fp16.h / cuda_bf16.h.
#pragma once

#if defined(__CUDACC_RTC__) || defined(__MAMBAGEN_NVRTC__)
#define MG_NVRTC 1
#elif defined(__MAMBAGEN_EMU__)
#define MG_EMU 1
#include <math.h>
#include <string.h>
#define __global__
#define __device__
// One block runs at a time on one host thread, so a function's statics are its block's shared memory; they share one
// section, which the emulator can fill with NaNs before each block, so a read of what the block never wrote shows.
#define __shared__ static __attribute__((section("mg_shared")))
#define __forceinline__ inline
#define __restrict__ __restrict
struct mg_dim3 { unsigned x, y, z; };
extern "C" mg_dim3 threadIdx, blockIdx, blockDim, gridDim;
extern "C" unsigned mg_emu_shfl_xor(unsigned bits, int lane_mask);
extern "C" void mg_emu_sync();
extern "C" void mg_emu_mma_bf16(float* d, const unsigned* a, const unsigned* b);
#else
#include <__clang_cuda_builtin_vars.h>
#define __global__ __attribute__((global))
#define __device__ __attribute__((device))
#define __shared__ __attribute__((shared))
#define __forceinline__ __inline__ __attribute__((always_inline))
#endif

// An entry's launch bounds: at most `threads` a block, and registers for `blocks` blocks an SM (ptxas spills past
// them). A launch of more threads fails, so the host's block size must stay within.
#if defined(MG_EMU)
#define MG_LAUNCH_BOUNDS(threads, blocks)
#elif defined(MG_NVRTC)
#define MG_LAUNCH_BOUNDS(threads, blocks) __launch_bounds__(threads, blocks)
#else
#define MG_LAUNCH_BOUNDS(threads, blocks) __attribute__((launch_bounds(threads, blocks)))
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
#elif defined(MG_EMU)
inline float mg_bits_to_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }
inline unsigned mg_float_to_bits(float f) { unsigned u; memcpy(&u, &f, 4); return u; }
inline float mg_exp(float x) { return expf(x); }
inline float mg_fast_exp(float x) { return expf(x); }
inline float mg_log1p(float x) { return log1pf(x); }
inline float mg_rsqrt(float x) { return 1.0f / sqrtf(x); }
inline float mg_fmax(float a, float b) { return fmaxf(a, b); }
inline float mg_fmin(float a, float b) { return fminf(a, b); }
inline float mg_shfl_xor(float v, int lane_mask) { return mg_bits_to_float(mg_emu_shfl_xor(mg_float_to_bits(v), lane_mask)); }
inline int mg_shfl_xor_i(int v, int lane_mask) { return (int)mg_emu_shfl_xor((unsigned)v, lane_mask); }
inline void mg_sync() { mg_emu_sync(); }
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

// Programmatic dependent launch (sm_90 and later): a grid the host launches as the previous grid's programmatic
// dependent may start while that grid still runs. This waits until the previous grid has ended and its writes are
// visible, then lets the next grid start in turn. Every entry calls it before touching memory that a kernel writes
// (GEMVs load their weights first); for a grid launched the ordinary way, and on older targets, it does nothing.
#if defined(MG_EMU)
extern "C" void mg_emu_after_previous_grid();
inline void mg_after_previous_grid() { mg_emu_after_previous_grid(); }
#elif defined(MG_NVRTC) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
__device__ __forceinline__ void mg_after_previous_grid()
{
    asm volatile("griddepcontrol.wait;" ::: "memory");
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
}
#else
__device__ __forceinline__ void mg_after_previous_grid() {}
#endif

// Sixteen bytes read in one access: four floats, or eight 16-bit values as four words.
struct __attribute__((aligned(16))) mg_f4 { float x, y, z, w; };
struct __attribute__((aligned(16))) mg_u4 { unsigned x, y, z, w; };
struct __attribute__((aligned(8))) mg_u2 { unsigned x, y; };

// Element types: fp32, bf16 and fp16 as stored; all arithmetic is fp32.
struct bf16 { u16 bits; };
struct f16 { u16 bits; };

__device__ __forceinline__ float mg_load(const float* p) { return *p; }
__device__ __forceinline__ float mg_load(const bf16* p) { return mg_bits_to_float(((unsigned)p->bits) << 16); }
#ifdef MG_EMU
// IEEE half <-> float in software, rounding to nearest even as cvt.rn does.
inline float mg_f16_to_f32(u16 h)
{
    unsigned sign = (h & 0x8000u) << 16, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
    if (exponent == 0) return mg_bits_to_float(sign | mg_float_to_bits(ldexpf((float)mantissa, -24)));
    if (exponent == 31) return mg_bits_to_float(sign | 0x7f800000u | (mantissa << 13));
    return mg_bits_to_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
}
inline u16 mg_f32_to_f16(float v)
{
    unsigned u = mg_float_to_bits(v), sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (u16)(sign | 0x7e00u);
    if (a >= 0x477ff000u) return (u16)(sign | 0x7c00u);
    if (a < 0x38800000u) return (u16)(sign | (unsigned)nearbyintf(fabsf(v) * 16777216.0f));
    unsigned h = (((a >> 23) - 112) << 10) | ((a & 0x7fffffu) >> 13), rest = a & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
    return (u16)(sign | h);
}
#else
__device__ __forceinline__ float mg_f16_to_f32(u16 h)
{
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
}
__device__ __forceinline__ u16 mg_f32_to_f16(float v)
{
    u16 h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v));
    return h;
}
#endif
__device__ __forceinline__ float mg_load(const f16* p) { return mg_f16_to_f32(p->bits); }

__device__ __forceinline__ void mg_store(float* p, float v) { *p = v; }
// fp32 to bf16 bits, rounding to nearest even as PyTorch's cast does; NaN stays a quiet NaN.
__device__ __forceinline__ u16 mg_bf16_bits(float v)
{
    unsigned u = mg_float_to_bits(v);
    return (u & 0x7fffffffu) > 0x7f800000u ? (u16)0x7fc0 : (u16)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
__device__ __forceinline__ void mg_store(bf16* p, float v) { p->bits = mg_bf16_bits(v); }
__device__ __forceinline__ void mg_store(f16* p, float v) { p->bits = mg_f32_to_f16(v); }

// Two 16-bit values of a 32-bit word (the lower address in the low half) as fp32, and two fp32 values rounded into a
// word as mg_store rounds each: the 16-bit types' side of the wide loads and stores below, and of the mma operands.
template <typename T> __device__ __forceinline__ void mg_unpack2(unsigned w, float* v);
template <> __device__ __forceinline__ void mg_unpack2<bf16>(unsigned w, float* v)
{
    v[0] = mg_bits_to_float(w << 16);
    v[1] = mg_bits_to_float(w & 0xffff0000u);
}
template <> __device__ __forceinline__ void mg_unpack2<f16>(unsigned w, float* v)
{
    v[0] = mg_f16_to_f32((u16)(w & 0xffffu));
    v[1] = mg_f16_to_f32((u16)(w >> 16));
}
template <typename T> __device__ __forceinline__ u16 mg_bits16(float v);
template <> __device__ __forceinline__ u16 mg_bits16<bf16>(float v) { return mg_bf16_bits(v); }
template <> __device__ __forceinline__ u16 mg_bits16<f16>(float v) { return mg_f32_to_f16(v); }
template <typename T>
__device__ __forceinline__ unsigned mg_pack2(float lo, float hi) { return (unsigned)mg_bits16<T>(lo) | ((unsigned)mg_bits16<T>(hi) << 16); }

// Eight consecutive elements of 16-byte-aligned memory in one or two accesses, as fp32; and from fp32.
__device__ __forceinline__ void mg_load8(const float* p, float* v)
{
    mg_f4 a = *(const mg_f4*)p, b = *(const mg_f4*)(p + 4);
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
}

template <typename T>
__device__ __forceinline__ void mg_load8(const T* p, float* v)
{
    mg_u4 w = *(const mg_u4*)p;
    mg_unpack2<T>(w.x, v);
    mg_unpack2<T>(w.y, v + 2);
    mg_unpack2<T>(w.z, v + 4);
    mg_unpack2<T>(w.w, v + 6);
}

__device__ __forceinline__ void mg_store8(float* p, const float* v)
{
    *(mg_f4*)p = mg_f4{v[0], v[1], v[2], v[3]};
    *(mg_f4*)(p + 4) = mg_f4{v[4], v[5], v[6], v[7]};
}

template <typename T>
__device__ __forceinline__ void mg_store8(T* p, const float* v)
{
    *(mg_u4*)p = mg_u4{mg_pack2<T>(v[0], v[1]), mg_pack2<T>(v[2], v[3]), mg_pack2<T>(v[4], v[5]), mg_pack2<T>(v[6], v[7])};
}

// Four consecutive elements in one access (8 bytes for 16-bit types, 16 for fp32; the address aligned to it), as fp32;
// and from fp32.
__device__ __forceinline__ void mg_load4(const float* p, float* v)
{
    mg_f4 a = *(const mg_f4*)p;
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w;
}

template <typename T>
__device__ __forceinline__ void mg_load4(const T* p, float* v)
{
    mg_u2 w = *(const mg_u2*)p;
    mg_unpack2<T>(w.x, v);
    mg_unpack2<T>(w.y, v + 2);
}

__device__ __forceinline__ void mg_store4(float* p, const float* v) { *(mg_f4*)p = mg_f4{v[0], v[1], v[2], v[3]}; }

// One 64-bit integer of the four values: NVRTC splits an 8-byte struct's store into two 4-byte ones, and from two
// packed words the vector Mamba-2 update took 62 registers where this takes 54.
template <typename T>
__device__ __forceinline__ void mg_store4(T* p, const float* v)
{
    *(unsigned long long*)p = (unsigned long long)mg_bits16<T>(v[0]) | ((unsigned long long)mg_bits16<T>(v[1]) << 16)
                              | ((unsigned long long)mg_bits16<T>(v[2]) << 32) | ((unsigned long long)mg_bits16<T>(v[3]) << 48);
}

// Asks for the line holding p in L1 without waiting for it or holding a register: for a value a thread needs after a
// long stretch of other work (an epilogue's operands), so its load then hits. No effect on results; none in the emulator.
template <typename T>
__device__ __forceinline__ void mg_prefetch(const T* p)
{
#if !defined(MG_EMU)
    asm volatile("prefetch.global.L1 [%0];" ::"l"(p));
#endif
}

// Whether a pointer allows 16-byte accesses.
template <typename T>
__device__ __forceinline__ bool mg_aligned16(const T* p) { return ((unsigned long long)p & 15) == 0; }

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

// The sum of every thread's v over the block (blockDim.x a multiple of 32, at most 1024); `shared` holds 32 floats.
__device__ __forceinline__ float mg_block_sum(float v, float* shared)
{
    v = mg_warp_sum(v, 32);
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    if (lane == 0) shared[warp] = v;
    mg_sync();
    v = lane < (int)(blockDim.x >> 5) ? shared[lane] : 0.0f;
    v = mg_warp_sum(v, 32);
    mg_sync();
    return v;
}

// Tensor cores: D += A * B for one warp with mma.sync m16n8k16, bf16 operands and fp32 sums (sm_80 and later; the host
// launches no kernel that uses it on older devices). Lane = 4 * group + quad holds (PTX ISA, "Matrix Fragments for
// mma.m16n8k16"): A (16 x 16, row-major) a[0] = row group, cols 2quad and 2quad+1 (the lower index in the low half),
// a[1] = row group + 8, same cols, a[2] = row group, cols + 8, a[3] = row group + 8, cols + 8; B (16 x 8, k x n)
// b[0] = k 2quad and 2quad+1 of col group, b[1] = k + 8; D (16 x 8) d[0], d[1] = row group, cols 2quad and 2quad+1,
// d[2], d[3] = row group + 8.
#ifdef MG_EMU
inline void mg_mma_bf16(float* d, const unsigned* a, const unsigned* b) { mg_emu_mma_bf16(d, a, b); }
#else
__device__ __forceinline__ void mg_mma_bf16(float* d, const unsigned* a, const unsigned* b)
{
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
    asm volatile("trap;");
#endif
}
#endif

// A's fragment from a bf16 [row][k] array in shared memory, `base` at (first row, first k), `stride` even.
__device__ __forceinline__ void mg_mma_load_a(unsigned* a, const u16* base, int stride)
{
    int lane = threadIdx.x & 31;
    const u16* p = base + (lane >> 2) * stride + 2 * (lane & 3);
    a[0] = *(const unsigned*)p;
    a[1] = *(const unsigned*)(p + 8 * stride);
    a[2] = *(const unsigned*)(p + 8);
    a[3] = *(const unsigned*)(p + 8 * stride + 8);
}

// B's fragment from a bf16 [n][k] array (each column's k values contiguous), `base` at (first n, first k).
__device__ __forceinline__ void mg_mma_load_b(unsigned* b, const u16* base, int stride)
{
    int lane = threadIdx.x & 31;
    const u16* p = base + (lane >> 2) * stride + 2 * (lane & 3);
    b[0] = *(const unsigned*)p;
    b[1] = *(const unsigned*)(p + 8);
}

// Stages `tokens` rows of `width` values (row stride `stride`) into shared memory as fp32 rows of `padded` values,
// zeros past `width`: the scans' B, C and x of a tile, read by every warp of the block. The block's threads share the
// loads, eight in flight each (one at a time, each load's store to shared memory would wait for it).
template <typename T>
__device__ __forceinline__ void mg_stage_rows(const T* __restrict__ src, i64 stride, int width, int padded, int tokens, float* dst)
{
    int total = tokens * padded;
    for (int e0 = threadIdx.x; e0 < total; e0 += 8 * blockDim.x)
    {
        float v[8];
#pragma unroll
        for (int u = 0; u < 8; u++)
        {
            int e = e0 + u * blockDim.x, n = e % padded;
            v[u] = e < total && n < width ? mg_load(src + (e / padded) * stride + n) : 0.0f;
        }
#pragma unroll
        for (int u = 0; u < 8; u++)
        {
            int e = e0 + u * blockDim.x;
            if (e < total) dst[e] = v[u];
        }
    }
}

// Chunk c of a prefill's chunk table (PrefillChunks: table[s] is sequence s's first chunk, table[seqs] their count, then
// each chunk's sequence): its sequence s and its tokens [t0, t1), at most chunk_len from its sequence's first token on.
__device__ __forceinline__ void mg_chunk_of(const i64* table, const i64* query_start, int seqs, int c, int chunk_len, int& s, i64& t0, i64& t1)
{
    s = (int)table[seqs + 1 + c];
    t0 = query_start[s] + (i64)(c - (int)table[s]) * chunk_len;
    t1 = query_start[s + 1] < t0 + chunk_len ? query_start[s + 1] : t0 + chunk_len;
}

// The widest depthwise conv the kernels take (Mamba and LFM2 use 3 or 4).
#define MG_MAX_CONV_WIDTH 8

// vLLM's causal_conv1d_update for one (row, channel c) of a [blocks, W-1, dim] conv state: window = [state, x], the
// stored taps read as T (as the reference casts them); returns bias + sum_j w[c, j] * window[j] (before any activation)
// and shifts x into the state in place. A slot < 0 (PAD_SLOT_ID) touches no state and gives 0.
template <typename T, typename S>
__device__ __forceinline__ float mg_conv_step(float xv, const T* weight, const T* bias, S* states, i64 block_stride, i64 slot, int c, int dim, int width)
{
    if (slot < 0) return 0.0f;
    const T* w = weight + (i64)c * width;
    S* st = states + slot * block_stride + c;
    // Every load before the first store: the compiler cannot tell the state from the weights, so a load after a store
    // would wait for it, one memory latency a tap. W <= MG_MAX_CONV_WIDTH (the host checks it).
    float v[MG_MAX_CONV_WIDTH - 1], wv[MG_MAX_CONV_WIDTH - 1];
#pragma unroll
    for (int j = 0; j < MG_MAX_CONV_WIDTH - 1; j++)
    {
        bool in = j < width - 1;
        v[j] = in ? mg_round<T>(mg_load(st + (i64)j * dim)) : 0.0f;
        wv[j] = in ? mg_load(w + j) : 0.0f;
    }
    float w_last = mg_load(w + width - 1);
    float acc = bias ? mg_load(bias + c) : 0.0f;
#pragma unroll
    for (int j = 0; j < MG_MAX_CONV_WIDTH - 1; j++)
    {
        if (j < width - 1) acc += wv[j] * v[j];
    }
#pragma unroll
    for (int j = 1; j < MG_MAX_CONV_WIDTH - 1; j++)
    {
        if (j < width - 1) mg_store(st + (i64)(j - 1) * dim, v[j]);
    }
    mg_store(st + (i64)(width - 2) * dim, xv);
    return acc + w_last * xv;
}

// Instantiates KERNEL(T, S, suffix) for every activation dtype T and state dtype S, with extern "C" names.
#define MG_FOR_T_S(KERNEL) \
    KERNEL(float, float, f32_f32) KERNEL(float, bf16, f32_bf16) KERNEL(float, f16, f32_f16) \
    KERNEL(bf16, float, bf16_f32) KERNEL(bf16, bf16, bf16_bf16) KERNEL(bf16, f16, bf16_f16) \
    KERNEL(f16, float, f16_f32) KERNEL(f16, bf16, f16_bf16) KERNEL(f16, f16, f16_f16)

#define MG_FOR_T(KERNEL) KERNEL(float, f32) KERNEL(bf16, bf16) KERNEL(f16, f16)
