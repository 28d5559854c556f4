// Mamba-2's SSM per head (vLLM's selective_state_update with per-head dt and A, and the varlen scan), on the SSM state
// cache [blocks, H, P, N] in place by slot. Per head h (group g = h / (H/G)), token t, in fp32:
//   dt = clamp(softplus(dt + dt_bias), dt_min, dt_max); S = exp(dt * A[h]) * S + dt * x[t,h,:] (x) B[t,g,:];
//   y[t,h,:] = S . C[t,g,:] + D * x[t,h,:], with A = -exp(A_log).
// Layout: a block of 8 warps serves 8 values of p of one head; a warp holds one p's state row, its lanes stepping over n.
#include "prelude.cuh"

#define SSD_WARPS 8

struct SsdArgs
{
    i64 x_stride, bc_stride, dt_stride;  // row strides of x, B/C and dt (they are views into wider rows)
    int heads, head_dim, groups, state_dim, d_per_p;
    float dt_min, dt_max;
};

template <typename T>
__device__ __forceinline__ float ssd_dt(const T* dt, const T* dt_bias, int softplus, float dt_min, float dt_max, int h)
{
    float v = mg_load(dt) + (dt_bias ? mg_load(dt_bias + h) : 0.0f);
    if (softplus) v = mg_softplus(v);
    return mg_fmin(mg_fmax(v, dt_min), dt_max);
}

// Decode: one token per row, a block per (row, head). Thread 0 computes the row's dt and decay once; each warp loads
// the group's B and C once and walks its share of the head's p rows (p = warp, warp + 8, ...). B, C and the first row's
// state are loaded before the block waits for dt, and each next row's state before the current one is stored: two rows
// in flight a warp, and no wait for dt before the first.
template <typename T, typename S>
__device__ __forceinline__ void ssd_update(const T* __restrict__ x, const T* __restrict__ B, const T* __restrict__ C, const T* __restrict__ dt,
                           const T* __restrict__ a_log, const T* __restrict__ D, const T* __restrict__ dt_bias,
                           S* __restrict__ states, i64 block_stride, const i64* __restrict__ slots, T* __restrict__ y, int rows, int softplus, SsdArgs a)
{
    __shared__ float shared_step, shared_decay;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int h = blockIdx.y, row = blockIdx.z;
    int g = h / (a.heads / a.groups);
    i64 slot = slots[row];
    const T* b = B + row * a.bc_stride + (i64)g * a.state_dim;
    const T* c = C + row * a.bc_stride + (i64)g * a.state_dim;
    const T* xrow = x + row * a.x_stride + (i64)h * a.head_dim;
    const int per_lane = 8;  // state_dim <= 256
    float bv[per_lane], cv[per_lane];
#pragma unroll
    for (int i = 0; i < per_lane; i++)
    {
        int n = lane + 32 * i;
        bool in = n < a.state_dim;
        bv[i] = in ? mg_load(b + n) : 0.0f;
        cv[i] = in ? mg_load(c + n) : 0.0f;
    }
    S* head = states + (slot < 0 ? 0 : slot) * block_stride + (i64)h * a.head_dim * a.state_dim;
    int p = blockIdx.x * SSD_WARPS + warp, stride = gridDim.x * SSD_WARPS;
    // The state row of p, and its x, into (sv, xv): zeros past the head or for a padding row.
    auto load_row = [&](int p, float* sv, float& xv)
    {
        bool in_head = p < a.head_dim;
        xv = in_head ? mg_load(xrow + p) : 0.0f;
#pragma unroll
        for (int i = 0; i < per_lane; i++)
        {
            int n = lane + 32 * i;
            sv[i] = (in_head && n < a.state_dim && slot >= 0) ? mg_load(head + (i64)p * a.state_dim + n) : 0.0f;
        }
    };
    float sv_next[per_lane], xv_next;
    load_row(p, sv_next, xv_next);
    if (threadIdx.x == 0)
    {
        float step = ssd_dt(dt + row * a.dt_stride + h, dt_bias, softplus, a.dt_min, a.dt_max, h);
        shared_step = step;
        shared_decay = mg_exp(step * -mg_exp(mg_load(a_log + h)));
    }
    mg_sync();
    float step = shared_step, decay = shared_decay;
    for (; p < a.head_dim; p += stride)
    {
        float sv[per_lane], xv = xv_next;
#pragma unroll
        for (int i = 0; i < per_lane; i++) sv[i] = sv_next[i];
        load_row(p + stride, sv_next, xv_next);
        float acc = 0.0f, dx = step * xv;
#pragma unroll
        for (int i = 0; i < per_lane; i++)
        {
            sv[i] = sv[i] * decay + dx * bv[i];
            acc += sv[i] * cv[i];
        }
        if (slot >= 0)
        {
            S* st = head + (i64)p * a.state_dim;
#pragma unroll
            for (int i = 0; i < per_lane; i++)
            {
                int n = lane + 32 * i;
                if (n < a.state_dim) mg_store(st + n, sv[i]);
            }
        }
        acc = mg_warp_sum(acc, 32);
        if (lane == 0)
        {
            if (D) acc += xv * mg_load(D + (a.d_per_p ? (i64)h * a.head_dim + p : h));
            mg_store(y + (i64)row * a.heads * a.head_dim + (i64)h * a.head_dim + p, slot < 0 ? 0.0f : acc);
        }
    }
}

// Decode, for many rows: a block of 4 warps per (row, head, group of 16 p rows); each warp updates 4 p rows at once,
// each lane holding 4 consecutive state values of each (n = lane * 4 ...), read and written as one 8- or 16-byte
// access, so a warp keeps 4 state reads in flight instead of one row's: the state traffic (the whole cache of the
// batch's rows, read and written) is what a large decode step waits for. State dims up to 128 (the host takes the
// row-warp update past that): one lane's 4 values a row keep the entry at 64 registers, 8 blocks an SM, where an
// entry that also took 8 values a lane for wider states needed 95 for both. Same arithmetic as ssd_update.
#define SSD_VEC_WARPS 4
#define SSD_VEC_ROWS 4
#define SSD_VEC_VALUES 4  // state values a lane holds of each row
template <typename T, typename S>
__device__ __forceinline__ void ssd_update_vec(const T* __restrict__ x, const T* __restrict__ B, const T* __restrict__ C, const T* __restrict__ dt,
                           const T* __restrict__ a_log, const T* __restrict__ D, const T* __restrict__ dt_bias,
                           S* __restrict__ states, i64 block_stride, const i64* __restrict__ slots, T* __restrict__ y, int softplus, SsdArgs a)
{
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int h = blockIdx.y, row = blockIdx.z;
    float step = ssd_dt(dt + row * a.dt_stride + h, dt_bias, softplus, a.dt_min, a.dt_max, h);
    float decay = mg_exp(step * -mg_exp(mg_load(a_log + h)));
    int g = h / (a.heads / a.groups);
    i64 slot = slots[row];
    int n0 = lane * SSD_VEC_VALUES;
    bool lane_in = n0 < a.state_dim;
    float bv[SSD_VEC_VALUES], cv[SSD_VEC_VALUES];
#pragma unroll
    for (int i = 0; i < SSD_VEC_VALUES; i++)
    {
        bv[i] = lane_in ? mg_load(B + row * a.bc_stride + (i64)g * a.state_dim + n0 + i) : 0.0f;
        cv[i] = lane_in ? mg_load(C + row * a.bc_stride + (i64)g * a.state_dim + n0 + i) : 0.0f;
    }
    S* head = states + (slot < 0 ? 0 : slot) * block_stride + (i64)h * a.head_dim * a.state_dim;
    int p0 = (blockIdx.x * SSD_VEC_WARPS + warp) * SSD_VEC_ROWS;
    float sv[SSD_VEC_ROWS][SSD_VEC_VALUES];
    // Every row's state is in flight before the first one is used.
#pragma unroll
    for (int r = 0; r < SSD_VEC_ROWS; r++)
    {
        int p = p0 + r;
        if (p < a.head_dim && lane_in && slot >= 0) mg_load4(head + (i64)p * a.state_dim + n0, sv[r]);
        else
        {
#pragma unroll
            for (int i = 0; i < SSD_VEC_VALUES; i++) sv[r][i] = 0.0f;
        }
    }
#pragma unroll
    for (int r = 0; r < SSD_VEC_ROWS; r++)
    {
        int p = p0 + r;
        bool row_in = p < a.head_dim;
        float xv = row_in ? mg_load(x + row * a.x_stride + (i64)h * a.head_dim + p) : 0.0f;
        float acc = 0.0f, dx = step * xv;
#pragma unroll
        for (int i = 0; i < SSD_VEC_VALUES; i++)
        {
            sv[r][i] = sv[r][i] * decay + dx * bv[i];
            acc += sv[r][i] * cv[i];
        }
        if (row_in && lane_in && slot >= 0)
        {
            mg_store4(head + (i64)p * a.state_dim + n0, sv[r]);
        }
        acc = mg_warp_sum(acc, 32);
        if (lane == 0 && row_in)
        {
            if (D) acc += xv * mg_load(D + (a.d_per_p ? (i64)h * a.head_dim + p : h));
            mg_store(y + (i64)row * a.heads * a.head_dim + (i64)h * a.head_dim + p, slot < 0 ? 0.0f : acc);
        }
    }
}

// Decode, wide: a block per (row, head), a thread per 32 consecutive state values of one p row (state_dim / 32 threads a
// row, a power of two), all of them loaded in 16-byte accesses as the block's first act, so a block has its head's
// whole state in flight (16 KB in bf16 for mamba2-130m's 64 x 128) where the other updates keep a row or four of it:
// at batch 128 the state traffic is 100 MB a layer, and an update that holds little of it in flight waits a memory
// latency per little. B and C go through shared memory as fp32 (a 32-value segment padded by one, so the threads of
// a warp reading their segments' n-th values hit different banks); the row's sum over its threads is a shuffle.
// Same arithmetic as ssd_update.
#define SSD_WIDE_SEG 32
#define SSD_WIDE_MAX_STATE 256
template <typename T, typename S>
__device__ __forceinline__ void ssd_update_wide(const T* __restrict__ x, const T* __restrict__ B, const T* __restrict__ C, const T* __restrict__ dt,
                           const T* __restrict__ a_log, const T* __restrict__ D, const T* __restrict__ dt_bias,
                           S* __restrict__ states, i64 block_stride, const i64* __restrict__ slots, T* __restrict__ y, int softplus, SsdArgs a)
{
    __shared__ float bc[2 * (SSD_WIDE_MAX_STATE + SSD_WIDE_MAX_STATE / SSD_WIDE_SEG)];
    __shared__ float xs[1024];  // the head's x, a value per p row (at most a block's threads)
    __shared__ float shared_step, shared_decay;
    int h = blockIdx.x, row = blockIdx.y;
    int segs = a.state_dim / SSD_WIDE_SEG;
    int p = threadIdx.x / segs, seg = threadIdx.x % segs;
    i64 slot = slots[row];
    S* st = states + (slot < 0 ? 0 : slot) * block_stride + ((i64)h * a.head_dim + p) * a.state_dim + seg * SSD_WIDE_SEG;
    float sv[SSD_WIDE_SEG];
#pragma unroll
    for (int e = 0; e < SSD_WIDE_SEG; e += 8)
    {
        if (slot >= 0) mg_load8(st + e, sv + e);
        else
        {
#pragma unroll
            for (int k = 0; k < 8; k++) sv[e + k] = 0.0f;
        }
    }
    int g = h / (a.heads / a.groups);
    int padded = a.state_dim + segs;
    for (int n = threadIdx.x; n < a.state_dim; n += blockDim.x)
    {
        bc[n + n / SSD_WIDE_SEG] = mg_load(B + row * a.bc_stride + (i64)g * a.state_dim + n);
        bc[padded + n + n / SSD_WIDE_SEG] = mg_load(C + row * a.bc_stride + (i64)g * a.state_dim + n);
    }
    if (threadIdx.x == 0)
    {
        float step = ssd_dt(dt + row * a.dt_stride + h, dt_bias, softplus, a.dt_min, a.dt_max, h);
        shared_step = step;
        shared_decay = mg_exp(step * -mg_exp(mg_load(a_log + h)));
    }
    // x through shared memory too: a load left for after the barrier (where the compiler put it) is one more latency.
    for (int i = threadIdx.x; i < a.head_dim; i += blockDim.x) xs[i] = mg_load(x + row * a.x_stride + (i64)h * a.head_dim + i);
    float skip = D && seg == 0 ? mg_load(D + (a.d_per_p ? (i64)h * a.head_dim + p : h)) : 0.0f;
    mg_sync();
    float xv = xs[p], decay = shared_decay, dx = shared_step * xv, acc = 0.0f;
    const float* bs = bc + seg * (SSD_WIDE_SEG + 1);
    const float* cs = bs + padded;
#pragma unroll
    for (int e = 0; e < SSD_WIDE_SEG; e++)
    {
        sv[e] = sv[e] * decay + dx * bs[e];
        acc += sv[e] * cs[e];
    }
    if (slot >= 0)
    {
#pragma unroll
        for (int e = 0; e < SSD_WIDE_SEG; e += 8) mg_store8(st + e, sv + e);
    }
    acc = mg_warp_sum(acc, segs);
    if (seg == 0)
    {
        if (D) acc += xv * skip;
        mg_store(y + (i64)row * a.heads * a.head_dim + (i64)h * a.head_dim + p, slot < 0 ? 0.0f : acc);
    }
}

// Prefill: each sequence scanned token by token from its initial state (the cache's where has_initial, else zeros);
// the final state is written back. Exact recurrence, so no chunk layout is needed. The block's threads first compute
// dt and exp(dt * A) of a tile of tokens into shared memory (once per block, not once per lane), then B, C and x of
// a stage of tokens at a time (mg_stage_rows), so a warp's token costs shared-memory reads, not a memory latency.
#define SSD_TILE (32 * SSD_WARPS)
// Floats of B (and of C) the row-warp scan stages at once: SSD_BC / state_dim tokens, at most a tile.
#define SSD_BC 4096

// The chunked form (MODE 1 and 2, opt-in): blockIdx.z is a chunk of the batch's chunk table (mg_chunk_of), and the
// block scans only its chunk_len tokens. MODE 1 starts from zeros, writes no outputs and leaves the chunk's final state
// and sum of dt in `carry` [chunks, heads, head_dim, state_dim] and `dt_sum` [chunks, heads]; ssd_scan_chunk_carry then
// turns each chunk's entry into the state the chunk starts from (and writes the final state back); MODE 2 starts from
// it and writes the outputs, not the state. MODE 0 is the whole sequence, as always.
// The row-warp scan's shared memory, declared once for all its modes: a template's own __shared__ arrays exist once per
// instantiation, and ssd_scan_chunk runs two modes, which held two copies (84 KB, past the 48 KB a block may declare
// statically, so NVRTC's module would not load).
struct SsdScanStage
{
    float dt[SSD_TILE], decay[SSD_TILE], b[SSD_BC], c[SSD_BC], x[SSD_TILE * SSD_WARPS];
};
__device__ __forceinline__ SsdScanStage& ssd_scan_stage()
{
    __shared__ SsdScanStage stage;
    return stage;
}

template <typename T, typename S, int MODE>
__device__ __forceinline__ void ssd_scan_varlen(const T* x, const T* B, const T* C, const T* dt, const T* a_log, const T* D, const T* dt_bias,
                                S* states, i64 block_stride, const i64* slots, const u8* has_initial, const i64* query_start,
                                T* y, int seqs, int softplus, SsdArgs a, int chunk_len = 0, const i64* chunk_table = nullptr,
                                float* carry = nullptr, float* dt_sum = nullptr)
{
    SsdScanStage& shared = ssd_scan_stage();
    float *tile_dt = shared.dt, *tile_decay = shared.decay, *stage_b = shared.b, *stage_c = shared.c, *stage_x = shared.x;
    int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    int p = blockIdx.x * SSD_WARPS + warp, h = blockIdx.y, s = blockIdx.z;
    if (MODE == 0 && s >= seqs) return;
    i64 t0, t1;
    if (MODE == 0) t0 = query_start[s], t1 = query_start[s + 1];
    else mg_chunk_of(chunk_table, query_start, seqs, blockIdx.z, chunk_len, s, t0, t1);
    bool active = p < a.head_dim;
    int g = h / (a.heads / a.groups);
    i64 slot = slots[s];
    bool initial = slot >= 0 && has_initial[s];
    float A = -mg_exp(mg_load(a_log + h));
    float dskip = (D && active) ? mg_load(D + (a.d_per_p ? (i64)h * a.head_dim + p : h)) : 0.0f;
    S* st = states + (slot < 0 ? 0 : slot) * block_stride + ((i64)h * a.head_dim + (active ? p : 0)) * a.state_dim;
    float* ct = MODE == 0 ? nullptr : carry + (((i64)blockIdx.z * a.heads + h) * a.head_dim + (active ? p : 0)) * a.state_dim;
    const int per_lane = 8;  // state_dim <= 256
    float state[per_lane], sum = 0.0f;
#pragma unroll
    for (int i = 0; i < per_lane; i++)
    {
        int n = lane + 32 * i;
        bool in = active && n < a.state_dim;
        state[i] = MODE == 0 ? ((in && initial) ? mg_load(st + n) : 0.0f) : MODE == 2 && in ? ct[n] : 0.0f;
    }
    // B, C and the block's x of `stage` tokens at a time go through shared memory, loaded by the whole block at once:
    // a warp that loaded its own token by token would wait one memory latency a token (its next loads follow its store
    // of y), and every warp of the block would load the same B and C.
    int stage = SSD_BC / a.state_dim;
    for (i64 base = t0; base < t1; base += SSD_TILE)
    {
        int count = (int)(t1 - base < SSD_TILE ? t1 - base : SSD_TILE);
        mg_sync();
        if ((int)threadIdx.x < count)
        {
            float step = ssd_dt(dt + (base + threadIdx.x) * a.dt_stride + h, dt_bias, softplus, a.dt_min, a.dt_max, h);
            tile_dt[threadIdx.x] = step;
            tile_decay[threadIdx.x] = mg_exp(step * A);
        }
        mg_sync();
        if (MODE == 1)
        {
            for (int j = 0; j < count; j++) sum += tile_dt[j];
        }
        for (int k0 = 0; k0 < count; k0 += stage)
        {
            int kc = count - k0 < stage ? count - k0 : stage;
            mg_sync();
            int p0 = blockIdx.x * SSD_WARPS;
            mg_stage_rows(B + (base + k0) * a.bc_stride + (i64)g * a.state_dim, a.bc_stride, a.state_dim, a.state_dim, kc, stage_b);
            mg_stage_rows(C + (base + k0) * a.bc_stride + (i64)g * a.state_dim, a.bc_stride, a.state_dim, a.state_dim, kc, stage_c);
            mg_stage_rows(x + (base + k0) * a.x_stride + (i64)h * a.head_dim + p0, a.x_stride, a.head_dim - p0, SSD_WARPS, kc, stage_x);
            mg_sync();
            if (!active) continue;
            for (int j = 0; j < kc; j++)
            {
                int k = k0 + j;
                i64 t = base + k;
                float step = tile_dt[k], decay = tile_decay[k], xcur = stage_x[j * SSD_WARPS + warp];
                const float* bcur = stage_b + j * a.state_dim;
                const float* ccur = stage_c + j * a.state_dim;
                float acc = 0.0f, dx = step * xcur;
#pragma unroll
                for (int i = 0; i < per_lane; i++)
                {
                    int n = lane + 32 * i;
                    float bn = n < a.state_dim ? bcur[n] : 0.0f, cn = n < a.state_dim ? ccur[n] : 0.0f;
                    state[i] = state[i] * decay + dx * bn;
                    acc += state[i] * cn;
                }
                if (MODE != 1)
                {
                    acc = mg_warp_sum(acc, 32);
                    if (lane == 0) mg_store(y + t * a.heads * a.head_dim + (i64)h * a.head_dim + p, slot < 0 ? 0.0f : acc + dskip * xcur);
                }
            }
        }
    }
    if (MODE == 1)
    {
        if (active)
        {
#pragma unroll
            for (int i = 0; i < per_lane; i++)
            {
                int n = lane + 32 * i;
                if (n < a.state_dim) ct[n] = state[i];
            }
        }
        if (blockIdx.x == 0 && threadIdx.x == 0) dt_sum[(i64)blockIdx.z * a.heads + h] = sum;
    }
    else if (MODE == 0 && active && slot >= 0)
    {
#pragma unroll
        for (int i = 0; i < per_lane; i++)
        {
            int n = lane + 32 * i;
            if (n < a.state_dim) mg_store(st + n, state[i]);
        }
    }
}

#define CARRY_AHEAD 8
// The chunked scan's carry: a thread per (sequence, head, p, n) walks the sequence's chunks in order, S_in[k+1] =
// exp(A * dt_sum[k]) * S_in[k] + S_local[k], from the cached state where there is one; `carry` ends up holding each
// chunk's entering state, and the final state goes back to the cache.
template <typename T, typename S>
__device__ __forceinline__ void ssd_scan_chunk_carry(const T* a_log, S* states, i64 block_stride, const i64* slots, const u8* has_initial,
    const i64* chunk_table, int seqs, int heads, int head_dim, int state_dim, float* carry, const float* dt_sum)
{
    i64 e = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    int h = blockIdx.y, s = blockIdx.z;
    if (s >= seqs || e >= (i64)head_dim * state_dim) return;
    i64 slot = slots[s];
    bool initial = slot >= 0 && has_initial[s];
    S* st = states + (slot < 0 ? 0 : slot) * block_stride + (i64)h * head_dim * state_dim + e;
    float A = -mg_exp(mg_load(a_log + h));
    float state = initial ? mg_load(st) : 0.0f;
    // CARRY_AHEAD chunks' own states and sums of dt are loaded before the first entering state is stored: a load after
    // a store would wait for it, one memory latency a chunk (a 16K-token prompt is 128 chunks).
    i64 first = chunk_table[s], end = chunk_table[s + 1];
    for (i64 c0 = first; c0 < end; c0 += CARRY_AHEAD)
    {
        float local[CARRY_AHEAD], sum[CARRY_AHEAD];
#pragma unroll
        for (int u = 0; u < CARRY_AHEAD; u++)
        {
            bool in = c0 + u < end;
            local[u] = in ? carry[((c0 + u) * heads + h) * head_dim * state_dim + e] : 0.0f;
            sum[u] = in ? dt_sum[(c0 + u) * heads + h] : 0.0f;
        }
#pragma unroll
        for (int u = 0; u < CARRY_AHEAD; u++)
        {
            if (c0 + u < end)
            {
                carry[((c0 + u) * heads + h) * head_dim * state_dim + e] = state;
                state = state * mg_exp(A * sum[u]) + local[u];
            }
        }
    }
    if (slot >= 0) mg_store(st, state);
}

// Prefill, tiled: a block serves rows_per_block p rows of one (sequence, head); each p row's state is split over `tpr`
// threads (a power of two) of 16 state values each, n = (j * tpr + q) * 4 + e, so that a token costs a thread 16 FMAs
// of update, 16 of output and a tpr-lane reduction, and the block stages the tile's B and C (fp32, zero-padded to
// tpr * 16 values) and its x, dt and decay in shared memory once for all its rows. Same recurrence as ssd_scan_varlen.
#define TILED_NPT 16
#define TILED_BC 4096   // floats of B (and of C) a tile holds: tokens x padded state dim
#define TILED_X 2048    // floats of x a tile holds: tokens x rows per block
#define TILED_TOKENS 256
template <typename T, typename S>
__device__ __forceinline__ void ssd_scan_tiled(const T* x, const T* B, const T* C, const T* dt, const T* a_log, const T* D, const T* dt_bias,
                                S* states, i64 block_stride, const i64* slots, const u8* has_initial, const i64* query_start,
                                T* y, int seqs, int softplus, SsdArgs a, int tpr)
{
    __shared__ mg_f4 tile_b[TILED_BC / 4], tile_c[TILED_BC / 4];
    __shared__ float tile_x[TILED_X], tile_dt[TILED_TOKENS], tile_decay[TILED_TOKENS];
    int rows = blockDim.x / tpr, r = threadIdx.x / tpr, q = threadIdx.x % tpr, padded = tpr * TILED_NPT;
    int p0 = blockIdx.x * rows, p = p0 + r, h = blockIdx.y, s = blockIdx.z;
    if (s >= seqs) return;
    int tile = TILED_BC / padded;
    if (TILED_X / rows < tile) tile = TILED_X / rows;
    if (TILED_TOKENS < tile) tile = TILED_TOKENS;
    bool active = p < a.head_dim;
    int g = h / (a.heads / a.groups);
    i64 slot = slots[s];
    bool initial = slot >= 0 && has_initial[s];
    float A = -mg_exp(mg_load(a_log + h));
    float dskip = (D && active) ? mg_load(D + (a.d_per_p ? (i64)h * a.head_dim + p : h)) : 0.0f;
    S* st = states + (slot < 0 ? 0 : slot) * block_stride + ((i64)h * a.head_dim + (active ? p : 0)) * a.state_dim;
    float state[TILED_NPT];
#pragma unroll
    for (int i = 0; i < TILED_NPT; i++)
    {
        int n = ((i / 4) * tpr + q) * 4 + i % 4;
        state[i] = (active && initial && n < a.state_dim) ? mg_load(st + n) : 0.0f;
    }
    float* sb = (float*)tile_b;
    float* sc = (float*)tile_c;
    i64 t0 = query_start[s], t1 = query_start[s + 1];
    for (i64 base = t0; base < t1; base += tile)
    {
        int count = (int)(t1 - base < tile ? t1 - base : tile);
        mg_sync();
        mg_stage_rows(B + base * a.bc_stride + (i64)g * a.state_dim, a.bc_stride, a.state_dim, padded, count, sb);
        mg_stage_rows(C + base * a.bc_stride + (i64)g * a.state_dim, a.bc_stride, a.state_dim, padded, count, sc);
        mg_stage_rows(x + base * a.x_stride + (i64)h * a.head_dim + p0, a.x_stride, a.head_dim - p0, rows, count, tile_x);
        for (int k = threadIdx.x; k < count; k += blockDim.x)
        {
            float step = ssd_dt(dt + (base + k) * a.dt_stride + h, dt_bias, softplus, a.dt_min, a.dt_max, h);
            tile_dt[k] = step;
            tile_decay[k] = mg_exp(step * A);
        }
        mg_sync();
        // Every thread runs every token, inactive rows included: the reduction's shuffles need all lanes.
        for (int k = 0; k < count; k++)
        {
            float xv = tile_x[k * rows + r], dx = tile_dt[k] * xv, decay = tile_decay[k];
            const mg_f4* b4 = tile_b + k * (padded / 4);
            const mg_f4* c4 = tile_c + k * (padded / 4);
            float acc0 = 0.0f, acc1 = 0.0f;
#pragma unroll
            for (int j = 0; j < TILED_NPT / 4; j++)
            {
                mg_f4 b = b4[j * tpr + q], c = c4[j * tpr + q];
                state[4 * j + 0] = state[4 * j + 0] * decay + dx * b.x;
                state[4 * j + 1] = state[4 * j + 1] * decay + dx * b.y;
                state[4 * j + 2] = state[4 * j + 2] * decay + dx * b.z;
                state[4 * j + 3] = state[4 * j + 3] * decay + dx * b.w;
                acc0 += state[4 * j + 0] * c.x + state[4 * j + 2] * c.z;
                acc1 += state[4 * j + 1] * c.y + state[4 * j + 3] * c.w;
            }
            float acc = acc0 + acc1;
            for (int m = 1; m < tpr; m <<= 1) acc += mg_shfl_xor(acc, m);
            if (q == 0 && active) mg_store(y + (base + k) * a.heads * a.head_dim + (i64)h * a.head_dim + p, slot < 0 ? 0.0f : acc + dskip * xv);
        }
    }
    if (active && slot >= 0)
    {
#pragma unroll
        for (int i = 0; i < TILED_NPT; i++)
        {
            int n = ((i / 4) * tpr + q) * 4 + i % 4;
            if (n < a.state_dim) mg_store(st + n, state[i]);
        }
    }
}

// Prefill on tensor cores: the SSD's chunked matrix form (mamba_ssm's _chunk_state_fwd and _chunk_scan_fwd) as the
// chunked scan's first and last passes, ssd_scan_chunk_carry between them. A chunk is MMA_L tokens of one (sequence,
// head); with cum_i = sum_{j <= i} dt_j * A and w_j = exp(cum_last - cum_j) * dt_j:
//   ssd_chunk_state: S_local[p, n] = sum_j w_j x[j, p] B[j, n]                        (X_w^T B, [P, L] x [L, N])
//   ssd_chunk_scan:  y[i, p] = exp(cum_i) sum_n C[i, n] S_in[p, n]                    (C S_in^T, [L, N] x [N, P])
//                            + sum_{j <= i} (C_i . B_j) exp(cum_i - cum_j) dt_j x[j, p]  ((C B^T, masked) X, [L, L] x [L, P])
//                            + D x[i, p]
// The matrix operands are bf16 and the sums fp32, as mamba_ssm's tl.dot takes them; the carried states stay fp32. The
// host launches these for bf16 activations only. MMA_L is the host's MmaChunkTokens.
#define MMA_L 128
#define MMA_TILE 64     // p rows a block (and state columns, in the state pass)
#define MMA_NB 32       // state columns the scan pass stages at a time
#define MMA_ROW (MMA_L + 8)   // bf16 row strides in shared memory, padded so a fragment's rows fall in other banks
#define MMA_NB_ROW (MMA_NB + 8)

// dt (after bias, softplus and clamp; 0 past the chunk's `len` tokens) into sdt and its inclusive prefix sums times A
// into scum, by the block's first MMA_L threads; ends synchronised.
template <typename T>
__device__ __forceinline__ void ssd_chunk_dt(const T* dt, const T* dt_bias, int softplus, const SsdArgs& a, int h, float A, i64 t0, int len,
                                             float* sdt, float* scum)
{
    int j = threadIdx.x;
    float v = j < len ? ssd_dt(dt + (t0 + j) * a.dt_stride + h, dt_bias, softplus, a.dt_min, a.dt_max, h) : 0.0f;
    if (j < MMA_L)
    {
        sdt[j] = v;
        scum[j] = v * A;
    }
    mg_sync();
    for (int offset = 1; offset < MMA_L; offset <<= 1)
    {
        float add = j < MMA_L && j >= offset ? scum[j - offset] : 0.0f;
        mg_sync();
        if (j < MMA_L) scum[j] += add;
        mg_sync();
    }
}

// A tile of ROWS x COLS values of src (row stride `stride`, a row's values contiguous) into shared memory as bf16, zeros
// outside valid_rows x valid_cols, row r scaled by scale[r] if given; dst[c][r] when TRANSPOSE, else dst[r][c]. Eight
// loads in flight a thread, as mg_stage_rows.
template <int ROWS, int COLS, bool TRANSPOSE, typename T>
__device__ __forceinline__ void mma_stage(const T* src, i64 stride, int valid_rows, int valid_cols, const float* scale, u16* dst, int dst_stride)
{
    const int total = ROWS * COLS;
    for (int e0 = threadIdx.x; e0 < total; e0 += 8 * blockDim.x)
    {
        float v[8];
#pragma unroll
        for (int u = 0; u < 8; u++)
        {
            int e = e0 + u * blockDim.x, r = e / COLS, c = e % COLS;
            v[u] = e < total && r < valid_rows && c < valid_cols ? mg_load(src + r * stride + c) * (scale ? scale[r] : 1.0f) : 0.0f;
        }
#pragma unroll
        for (int u = 0; u < 8; u++)
        {
            int e = e0 + u * blockDim.x, r = e / COLS, c = e % COLS;
            if (e < total) dst[TRANSPOSE ? c * dst_stride + r : r * dst_stride + c] = mg_bf16_bits(v[u]);
        }
    }
}

struct __attribute__((aligned(16))) MmaStateStage
{
    u16 xw[MMA_TILE * MMA_ROW], bt[MMA_TILE * MMA_ROW];  // X_w^T [p][j] and B^T [n][j]
    float dt[MMA_L], cum[MMA_L], sum[32];
};
__device__ __forceinline__ MmaStateStage& mma_state_stage()
{
    __shared__ MmaStateStage stage;
    return stage;
}

// Pass 1, a block of 4 warps per (64 p x 64 n tile, head, chunk of the chunk table): S_local of the chunk into `carry`
// [chunks, heads, head_dim, state_dim] and its sum of dt into `dt_sum` [chunks, heads]. Warp w computes p rows
// 16w..16w+15 over the tile's 64 state columns.
template <typename T>
__device__ __forceinline__ void ssd_chunk_state(const T* x, const T* B, const T* dt, const T* a_log, const T* dt_bias, const i64* query_start,
    const i64* chunk_table, int seqs, int softplus, SsdArgs a, float* carry, float* dt_sum)
{
    MmaStateStage& st = mma_state_stage();
    int p_tiles = (a.head_dim + MMA_TILE - 1) / MMA_TILE;
    int p0 = (blockIdx.x % p_tiles) * MMA_TILE, n0 = (blockIdx.x / p_tiles) * MMA_TILE;
    int h = blockIdx.y, s;
    i64 t0, t1;
    mg_chunk_of(chunk_table, query_start, seqs, blockIdx.z, MMA_L, s, t0, t1);
    int len = (int)(t1 - t0);
    int g = h / (a.heads / a.groups), warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    float A = -mg_exp(mg_load(a_log + h));
    ssd_chunk_dt(dt, dt_bias, softplus, a, h, A, t0, len, st.dt, st.cum);
    float total = mg_block_sum(threadIdx.x < MMA_L ? st.dt[threadIdx.x] : 0.0f, st.sum);
    if (threadIdx.x < MMA_L) st.dt[threadIdx.x] *= mg_exp(st.cum[MMA_L - 1] - st.cum[threadIdx.x]);  // now w_j
    mg_sync();
    mma_stage<MMA_L, MMA_TILE, true>(x + t0 * a.x_stride + (i64)h * a.head_dim + p0, a.x_stride, len, a.head_dim - p0, st.dt, st.xw, MMA_ROW);
    mma_stage<MMA_L, MMA_TILE, true>(B + t0 * a.bc_stride + (i64)g * a.state_dim + n0, a.bc_stride, len, a.state_dim - n0, (const float*)nullptr, st.bt, MMA_ROW);
    mg_sync();
    float acc[8][4];
#pragma unroll
    for (int nt = 0; nt < 8; nt++) acc[nt][0] = acc[nt][1] = acc[nt][2] = acc[nt][3] = 0.0f;
    for (int kk = 0; kk * 16 < len; kk++)
    {
        unsigned af[4];
        mg_mma_load_a(af, st.xw + 16 * warp * MMA_ROW + 16 * kk, MMA_ROW);
#pragma unroll
        for (int nt = 0; nt < 8; nt++)
        {
            unsigned bf[2];
            mg_mma_load_b(bf, st.bt + 8 * nt * MMA_ROW + 16 * kk, MMA_ROW);
            mg_mma_bf16(acc[nt], af, bf);
        }
    }
    float* out = carry + ((i64)blockIdx.z * a.heads + h) * a.head_dim * a.state_dim;
    int group = lane >> 2, quad = lane & 3;
#pragma unroll
    for (int nt = 0; nt < 8; nt++)
    {
#pragma unroll
        for (int e = 0; e < 4; e++)
        {
            int p = p0 + 16 * warp + group + (e >= 2 ? 8 : 0), n = n0 + 8 * nt + 2 * quad + (e & 1);
            if (p < a.head_dim && n < a.state_dim) out[(i64)p * a.state_dim + n] = acc[nt][e];
        }
    }
    if (blockIdx.x == 0 && threadIdx.x == 0) dt_sum[(i64)blockIdx.z * a.heads + h] = total;
}

struct __attribute__((aligned(16))) MmaScanStage
{
    u16 c[MMA_L * MMA_NB_ROW], b[MMA_L * MMA_NB_ROW];  // C [i][n] and B [j][n] of MMA_NB state columns
    u16 s[MMA_TILE * MMA_NB_ROW];                       // S_in [p][n]
    u16 xt[MMA_TILE * MMA_ROW];                         // X^T [p][j]
    float dt[MMA_L], cum[MMA_L];
};
__device__ __forceinline__ MmaScanStage& mma_scan_stage()
{
    __shared__ MmaScanStage stage;
    return stage;
}

// Pass 3, a block of 8 warps per (64 p rows, head, chunk of the chunk table), two blocks an SM (its launch bounds: 128
// registers, a few spilled, where it took 170 and one block could not hide its staging), from the entering states the carry left
// in `carry`: warp w computes the outputs of tokens 16w..16w+15 of the chunk. C S_in^T and C B^T accumulate over the
// state dim MMA_NB columns at a time (only the B columns j <= 16w + 15 a warp's causal rows need); the masked, decayed
// C B^T then leaves the accumulators as the A fragments of (...) X without going through shared memory (a 16 x 8
// accumulator pair holds exactly a 16 x 16 A fragment's elements).
template <typename T>
__device__ __forceinline__ void ssd_chunk_scan(const T* x, const T* B, const T* C, const T* dt, const T* a_log, const T* D, const T* dt_bias,
    const i64* slots, const i64* query_start, const i64* chunk_table, T* y, int seqs, int softplus, SsdArgs a, const float* carry)
{
    MmaScanStage& st = mma_scan_stage();
    int p0 = blockIdx.x * MMA_TILE, h = blockIdx.y, s;
    i64 t0, t1;
    mg_chunk_of(chunk_table, query_start, seqs, blockIdx.z, MMA_L, s, t0, t1);
    int len = (int)(t1 - t0);
    int g = h / (a.heads / a.groups), warp = threadIdx.x >> 5, lane = threadIdx.x & 31, group = lane >> 2, quad = lane & 3;
    float A = -mg_exp(mg_load(a_log + h));
    ssd_chunk_dt(dt, dt_bias, softplus, a, h, A, t0, len, st.dt, st.cum);
    const float* s_in = carry + ((i64)blockIdx.z * a.heads + h) * a.head_dim * a.state_dim + (i64)p0 * a.state_dim;
    float acc[8][4], cb[16][4];
#pragma unroll
    for (int nt = 0; nt < 8; nt++) acc[nt][0] = acc[nt][1] = acc[nt][2] = acc[nt][3] = 0.0f;
#pragma unroll
    for (int jt = 0; jt < 16; jt++) cb[jt][0] = cb[jt][1] = cb[jt][2] = cb[jt][3] = 0.0f;
    bool rows = 16 * warp < len;
    for (int n0 = 0; n0 < a.state_dim; n0 += MMA_NB)
    {
        mg_sync();
        mma_stage<MMA_L, MMA_NB, false>(C + t0 * a.bc_stride + (i64)g * a.state_dim + n0, a.bc_stride, len, a.state_dim - n0, (const float*)nullptr, st.c, MMA_NB_ROW);
        mma_stage<MMA_L, MMA_NB, false>(B + t0 * a.bc_stride + (i64)g * a.state_dim + n0, a.bc_stride, len, a.state_dim - n0, (const float*)nullptr, st.b, MMA_NB_ROW);
        mma_stage<MMA_TILE, MMA_NB, false>(s_in + n0, (i64)a.state_dim, a.head_dim - p0, a.state_dim - n0, (const float*)nullptr, st.s, MMA_NB_ROW);
        mg_sync();
        if (!rows) continue;
#pragma unroll
        for (int kk = 0; kk < MMA_NB / 16; kk++)
        {
            unsigned af[4], bf[2];
            mg_mma_load_a(af, st.c + 16 * warp * MMA_NB_ROW + 16 * kk, MMA_NB_ROW);
#pragma unroll
            for (int nt = 0; nt < 8; nt++)
            {
                mg_mma_load_b(bf, st.s + 8 * nt * MMA_NB_ROW + 16 * kk, MMA_NB_ROW);
                mg_mma_bf16(acc[nt], af, bf);
            }
#pragma unroll
            for (int jt = 0; jt < 16; jt++)
            {
                if (jt <= 2 * warp + 1)
                {
                    mg_mma_load_b(bf, st.b + 8 * jt * MMA_NB_ROW + 16 * kk, MMA_NB_ROW);
                    mg_mma_bf16(cb[jt], af, bf);
                }
            }
        }
    }
    mg_sync();
    mma_stage<MMA_L, MMA_TILE, true>(x + t0 * a.x_stride + (i64)h * a.head_dim + p0, a.x_stride, len, a.head_dim - p0, (const float*)nullptr, st.xt, MMA_ROW);
    mg_sync();
    if (!rows) return;
    int i_lo = 16 * warp + group, i_hi = i_lo + 8;
    float cum_lo = st.cum[i_lo], cum_hi = st.cum[i_hi];
    float decay_lo = mg_exp(cum_lo), decay_hi = mg_exp(cum_hi);
#pragma unroll
    for (int nt = 0; nt < 8; nt++)
    {
        acc[nt][0] *= decay_lo;
        acc[nt][1] *= decay_lo;
        acc[nt][2] *= decay_hi;
        acc[nt][3] *= decay_hi;
    }
#pragma unroll
    for (int kk = 0; kk < MMA_L / 16; kk++)
    {
        if (kk > warp) continue;  // tokens j >= 16 (w + 1) come after every row of this warp
        float m[2][4];
#pragma unroll
        for (int half = 0; half < 2; half++)
        {
#pragma unroll
            for (int e = 0; e < 4; e++)
            {
                int i = e < 2 ? i_lo : i_hi, j = 16 * kk + 8 * half + 2 * quad + (e & 1);
                m[half][e] = j <= i ? cb[2 * kk + half][e] * mg_exp((e < 2 ? cum_lo : cum_hi) - st.cum[j]) * st.dt[j] : 0.0f;
            }
        }
        unsigned mf[4] = {mg_pack2<bf16>(m[0][0], m[0][1]), mg_pack2<bf16>(m[0][2], m[0][3]), mg_pack2<bf16>(m[1][0], m[1][1]), mg_pack2<bf16>(m[1][2], m[1][3])};
#pragma unroll
        for (int nt = 0; nt < 8; nt++)
        {
            unsigned bf[2];
            mg_mma_load_b(bf, st.xt + 8 * nt * MMA_ROW + 16 * kk, MMA_ROW);
            mg_mma_bf16(acc[nt], mf, bf);
        }
    }
    i64 slot = slots[s];
#pragma unroll
    for (int nt = 0; nt < 8; nt++)
    {
#pragma unroll
        for (int e = 0; e < 4; e++)
        {
            int i = e < 2 ? i_lo : i_hi, p = p0 + 8 * nt + 2 * quad + (e & 1);
            if (i < len && p < a.head_dim)
            {
                i64 t = t0 + i;
                float xv = mg_load(x + t * a.x_stride + (i64)h * a.head_dim + p);
                float dskip = D ? mg_load(D + (a.d_per_p ? (i64)h * a.head_dim + p : h)) : 0.0f;
                mg_store(y + t * a.heads * a.head_dim + (i64)h * a.head_dim + p, slot < 0 ? 0.0f : acc[nt][e] + dskip * xv);
            }
        }
    }
}

#define SSD_MMA_KERNELS(T, sfx) \
    extern "C" __global__ void ssd_chunk_state_##sfx(const T* x, const T* B, const T* dt, const T* a_log, const T* dt_bias, \
        const i64* query_start, const i64* chunk_table, int seqs, int softplus, i64 x_stride, i64 bc_stride, i64 dt_stride, \
        int heads, int head_dim, int groups, int state_dim, float dt_min, float dt_max, float* carry, float* dt_sum) \
    { mg_after_previous_grid(); \
        SsdArgs a = {x_stride, bc_stride, dt_stride, heads, head_dim, groups, state_dim, 0, dt_min, dt_max}; \
        ssd_chunk_state<T>(x, B, dt, a_log, dt_bias, query_start, chunk_table, seqs, softplus, a, carry, dt_sum); \
    } \
    extern "C" __global__ void MG_LAUNCH_BOUNDS(32 * (MMA_L / 16), 2) ssd_chunk_scan_##sfx(const T* x, const T* B, const T* C, const T* dt, const T* a_log, const T* D, \
        const T* dt_bias, const i64* slots, const i64* query_start, const i64* chunk_table, T* y, int seqs, int softplus, \
        i64 x_stride, i64 bc_stride, i64 dt_stride, int heads, int head_dim, int groups, int state_dim, int d_per_p, float dt_min, \
        float dt_max, const float* carry) \
    { mg_after_previous_grid(); \
        SsdArgs a = {x_stride, bc_stride, dt_stride, heads, head_dim, groups, state_dim, d_per_p, dt_min, dt_max}; \
        ssd_chunk_scan<T>(x, B, C, dt, a_log, D, dt_bias, slots, query_start, chunk_table, y, seqs, softplus, a, carry); \
    }

MG_FOR_T(SSD_MMA_KERNELS)

#define SSD_KERNELS(T, S, sfx) \
    extern "C" __global__ void ssd_update_##sfx(const T* x, const T* B, const T* C, const T* dt, const T* a_log, const T* D, \
        const T* dt_bias, S* states, i64 block_stride, const i64* slots, T* y, int rows, int softplus, i64 x_stride, \
        i64 bc_stride, i64 dt_stride, int heads, int head_dim, int groups, int state_dim, int d_per_p, float dt_min, float dt_max) \
    { mg_after_previous_grid(); \
        SsdArgs a = {x_stride, bc_stride, dt_stride, heads, head_dim, groups, state_dim, d_per_p, dt_min, dt_max}; \
        ssd_update<T, S>(x, B, C, dt, a_log, D, dt_bias, states, block_stride, slots, y, rows, softplus, a); \
    } \
    extern "C" __global__ void ssd_update_vec_##sfx(const T* x, const T* B, const T* C, const T* dt, const T* a_log, const T* D, \
        const T* dt_bias, S* states, i64 block_stride, const i64* slots, T* y, int rows, int softplus, i64 x_stride, \
        i64 bc_stride, i64 dt_stride, int heads, int head_dim, int groups, int state_dim, int d_per_p, float dt_min, float dt_max) \
    { mg_after_previous_grid(); \
        SsdArgs a = {x_stride, bc_stride, dt_stride, heads, head_dim, groups, state_dim, d_per_p, dt_min, dt_max}; \
        ssd_update_vec<T, S>(x, B, C, dt, a_log, D, dt_bias, states, block_stride, slots, y, softplus, a); \
    } \
    extern "C" __global__ void ssd_update_wide_##sfx(const T* x, const T* B, const T* C, const T* dt, const T* a_log, const T* D, \
        const T* dt_bias, S* states, i64 block_stride, const i64* slots, T* y, int rows, int softplus, i64 x_stride, \
        i64 bc_stride, i64 dt_stride, int heads, int head_dim, int groups, int state_dim, int d_per_p, float dt_min, float dt_max) \
    { mg_after_previous_grid(); \
        SsdArgs a = {x_stride, bc_stride, dt_stride, heads, head_dim, groups, state_dim, d_per_p, dt_min, dt_max}; \
        ssd_update_wide<T, S>(x, B, C, dt, a_log, D, dt_bias, states, block_stride, slots, y, softplus, a); \
    } \
    extern "C" __global__ void ssd_scan_varlen_##sfx(const T* x, const T* B, const T* C, const T* dt, const T* a_log, const T* D, \
        const T* dt_bias, S* states, i64 block_stride, const i64* slots, const u8* has_initial, const i64* query_start, T* y, \
        int seqs, int softplus, i64 x_stride, i64 bc_stride, i64 dt_stride, int heads, int head_dim, int groups, int state_dim, \
        int d_per_p, float dt_min, float dt_max) \
    { mg_after_previous_grid(); \
        SsdArgs a = {x_stride, bc_stride, dt_stride, heads, head_dim, groups, state_dim, d_per_p, dt_min, dt_max}; \
        ssd_scan_varlen<T, S, 0>(x, B, C, dt, a_log, D, dt_bias, states, block_stride, slots, has_initial, query_start, y, seqs, softplus, a); \
    } \
    extern "C" __global__ void ssd_scan_chunk_##sfx(const T* x, const T* B, const T* C, const T* dt, const T* a_log, const T* D, \
        const T* dt_bias, S* states, i64 block_stride, const i64* slots, const u8* has_initial, const i64* query_start, T* y, \
        int seqs, int softplus, i64 x_stride, i64 bc_stride, i64 dt_stride, int heads, int head_dim, int groups, int state_dim, \
        int d_per_p, float dt_min, float dt_max, int chunk_len, const i64* chunk_table, float* carry, float* dt_sum, int outputs) \
    { mg_after_previous_grid(); \
        SsdArgs a = {x_stride, bc_stride, dt_stride, heads, head_dim, groups, state_dim, d_per_p, dt_min, dt_max}; \
        if (outputs) ssd_scan_varlen<T, S, 2>(x, B, C, dt, a_log, D, dt_bias, states, block_stride, slots, has_initial, query_start, y, seqs, softplus, a, chunk_len, chunk_table, carry, dt_sum); \
        else ssd_scan_varlen<T, S, 1>(x, B, C, dt, a_log, D, dt_bias, states, block_stride, slots, has_initial, query_start, y, seqs, softplus, a, chunk_len, chunk_table, carry, dt_sum); \
    } \
    extern "C" __global__ void ssd_scan_chunk_carry_##sfx(const T* a_log, S* states, i64 block_stride, const i64* slots, \
        const u8* has_initial, const i64* chunk_table, int seqs, int heads, int head_dim, int state_dim, float* carry, \
        const float* dt_sum) \
    { mg_after_previous_grid(); \
        ssd_scan_chunk_carry<T, S>(a_log, states, block_stride, slots, has_initial, chunk_table, seqs, heads, head_dim, state_dim, carry, dt_sum); \
    } \
    extern "C" __global__ void ssd_scan_tiled_##sfx(const T* x, const T* B, const T* C, const T* dt, const T* a_log, const T* D, \
        const T* dt_bias, S* states, i64 block_stride, const i64* slots, const u8* has_initial, const i64* query_start, T* y, \
        int seqs, int softplus, i64 x_stride, i64 bc_stride, i64 dt_stride, int heads, int head_dim, int groups, int state_dim, \
        int d_per_p, float dt_min, float dt_max, int tpr) \
    { mg_after_previous_grid(); \
        SsdArgs a = {x_stride, bc_stride, dt_stride, heads, head_dim, groups, state_dim, d_per_p, dt_min, dt_max}; \
        ssd_scan_tiled<T, S>(x, B, C, dt, a_log, D, dt_bias, states, block_stride, slots, has_initial, query_start, y, seqs, softplus, a, tpr); \
    }

MG_FOR_T_S(SSD_KERNELS)
