// Mamba-1's selective SSM per channel (vLLM's selective_state_update and selective_scan_fn), on the SSM state cache
// [blocks, D, N] in place by slot. Per channel d, state index n, token t, in fp32, with A = -exp(A_log):
//   dt = softplus(delta + delta_bias); h[d,n] = exp(dt * A[d,n]) * h[d,n] + dt * B[t,n] * u[t,d];
//   y[t,d] = (sum_n C[t,n] * h[d,n] + D[d] * u[t,d]) * silu(z[t,d]).
// Layout: a group of `lanes` threads (a power of two <= 32, aligned in its warp) holds one channel's state.
#include "prelude.cuh"

struct ScanArgs
{
    i64 u_stride, delta_stride, bc_stride, z_stride;
    int channels, state_dim, lanes;
};

template <typename T>
__device__ __forceinline__ float scan_dt_of(float raw, const T* delta_bias, int softplus, int d)
{
    float v = raw + (delta_bias ? mg_load(delta_bias + d) : 0.0f);
    return softplus ? mg_softplus(v) : v;
}

// A decode row's dt for channel d before its bias: the row's delta, or with delta_w (dt_proj's weight [channels, rank])
// the projection of the row's low-rank dt, rounded to T as the projection's output would be. The `lanes` threads of a
// channel's group split the dot product (one thread: lane 0 of 1).
template <typename T>
__device__ __forceinline__ float decode_dt_raw(const T* delta_row, const T* delta_w, int rank, int d, int lane, int lanes)
{
    if (!delta_w) return mg_load(delta_row + d);
    const T* w = delta_w + (i64)d * rank;
    float part = 0.0f;
    int k = lane;
    // A thread's whole row (the per-channel update) 8 values an access where aligned: dt_rank is d_model / 16, 48 for
    // mamba-130m, 6 loads where 48 scalar ones 96 bytes apart across the warp. Same order of sums.
    if (lanes == 1 && rank % 8 == 0 && mg_aligned16(w) && mg_aligned16(delta_row))
    {
        for (; k < rank; k += 8)
        {
            float wv[8], xv[8];
            mg_load8(w + k, wv);
            mg_load8(delta_row + k, xv);
#pragma unroll
            for (int e = 0; e < 8; e++) part += xv[e] * wv[e];
        }
    }
    for (; k < rank; k += lanes) part += mg_load(delta_row + k) * mg_load(w + k);
    return mg_round<T>(mg_warp_sum(part, lanes));
}

template <typename T>
__device__ __forceinline__ float scan_dt(const T* delta, const T* delta_bias, int softplus, int d)
{
    return scan_dt_of(mg_load(delta), delta_bias, softplus, d);
}

// Decode: one token per row. With delta_w (Mamba-1's dt_proj weight [channels, rank]), delta holds dt_proj's input
// (the low-rank dt of x_proj) and each lane group projects its channel's dt itself, rounded to T as the projection's
// output would be: one launch fewer a layer.
template <typename T, typename S>
__device__ __forceinline__ void selective_update(const T* u, const T* delta, const T* a_log, const T* B, const T* C, const T* D,
    const T* z, const T* delta_bias, S* states, i64 block_stride, const i64* slots, T* y, int rows, int softplus, ScanArgs a,
    const T* delta_w, int rank)
{
    int lane = threadIdx.x % a.lanes;
    int d = (blockIdx.x * blockDim.x + threadIdx.x) / a.lanes, row = blockIdx.y;
    // A group past the last channel computes channel 0 without storing: its warp's shuffles need every lane.
    bool active = d < a.channels;
    if (!active) d = 0;
    i64 slot = active ? slots[row] : -1;
    float dt = scan_dt_of(decode_dt_raw(delta + row * a.delta_stride, delta_w, rank, d, lane, a.lanes), delta_bias, softplus, d);
    float uv = mg_load(u + row * a.u_stride + d);
    const T* b = B + row * a.bc_stride;
    const T* c = C + row * a.bc_stride;
    S* st = states + (slot < 0 ? 0 : slot) * block_stride + (i64)d * a.state_dim;
    float acc = 0.0f;
    for (int n = lane; n < a.state_dim; n += a.lanes)
    {
        float A = -mg_exp(mg_load(a_log + (i64)d * a.state_dim + n));
        float h = slot < 0 ? 0.0f : mg_load(st + n);
        h = h * mg_exp(dt * A) + dt * uv * mg_load(b + n);
        if (slot >= 0) mg_store(st + n, h);
        acc += h * mg_load(c + n);
    }
    acc = mg_warp_sum(acc, a.lanes);
    if (lane == 0 && active)
    {
        if (D) acc += uv * mg_load(D + d);
        if (z) acc *= mg_silu(mg_load(z + row * a.z_stride + d));
        mg_store(y + (i64)row * a.channels + d, slot < 0 ? 0.0f : acc);
    }
}

#define CHANNEL_NPT 16

// Decode, a thread per (row, channel): the channel's whole state (state_dim <= 16) in one thread, so its dt (and the
// dt_proj dot product, with delta_w) is computed once, not once per lane, and no reduction is needed. Same
// arithmetic as selective_update.
template <typename T, typename S>
__device__ __forceinline__ void selective_update_channels(const T* __restrict__ u, const T* __restrict__ delta, const T* __restrict__ a_log,
    const T* __restrict__ B, const T* __restrict__ C, const T* __restrict__ D, const T* __restrict__ z, const T* __restrict__ delta_bias,
    S* __restrict__ states, i64 block_stride, const i64* __restrict__ slots, T* __restrict__ y, int softplus, ScanArgs a,
    const T* __restrict__ delta_w, int rank)
{
    int d = blockIdx.x * blockDim.x + threadIdx.x, row = blockIdx.y;
    if (d >= a.channels) return;
    i64 slot = slots[row];
    const T* b = B + row * a.bc_stride;
    const T* c = C + row * a.bc_stride;
    S* st = states + (slot < 0 ? 0 : slot) * block_stride + (i64)d * a.state_dim;
    // Every load in flight before the first store: a load issued after a store the compiler cannot rule out as an alias
    // waits for it, and a channel's 16 state values would cost 16 memory latencies one after another.
    float h[CHANNEL_NPT], A[CHANNEL_NPT], bv[CHANNEL_NPT], cv[CHANNEL_NPT];
    const T* a_row = a_log + (i64)d * a.state_dim;
    // A state dim of 16 (every Mamba-1 checkpoint) in 16-byte accesses: a thread's state, A, B and C rows are each
    // contiguous, so 2 (16-bit) or 4 (fp32) accesses a row where 16 scalar ones, 32 bytes apart across the warp, each
    // touched a sector per lane for 2 or 4 bytes of it.
    bool vector = a.state_dim == CHANNEL_NPT && mg_aligned16(st) && mg_aligned16(a_row) && mg_aligned16(b) && mg_aligned16(c);
    if (vector)
    {
#pragma unroll
        for (int n = 0; n < CHANNEL_NPT; n += 8)
        {
            mg_load8(a_row + n, A + n);
            mg_load8(b + n, bv + n);
            mg_load8(c + n, cv + n);
            if (slot >= 0) mg_load8(st + n, h + n);
#pragma unroll
            for (int e = 0; e < 8; e++)
                if (slot < 0) h[n + e] = 0.0f;
        }
    }
    else
    {
#pragma unroll
        for (int n = 0; n < CHANNEL_NPT; n++)
        {
            bool in = n < a.state_dim;
            A[n] = in ? mg_load(a_row + n) : 0.0f;
            h[n] = in && slot >= 0 ? mg_load(st + n) : 0.0f;
            bv[n] = in ? mg_load(b + n) : 0.0f;
            cv[n] = in ? mg_load(c + n) : 0.0f;
        }
    }
    float dt = scan_dt_of(decode_dt_raw(delta + row * a.delta_stride, delta_w, rank, d, 0, 1), delta_bias, softplus, d);
    float uv = mg_load(u + row * a.u_stride + d), du = dt * uv;
    float skip = D ? mg_load(D + d) : 0.0f;
    float gate = z ? mg_silu(mg_load(z + row * a.z_stride + d)) : 1.0f;
    float acc = 0.0f;
#pragma unroll
    for (int n = 0; n < CHANNEL_NPT; n++)
    {
        if (n < a.state_dim)
        {
            h[n] = h[n] * mg_exp(dt * -mg_exp(A[n])) + du * bv[n];
            acc += h[n] * cv[n];
        }
    }
    if (slot >= 0 && vector)
    {
#pragma unroll
        for (int n = 0; n < CHANNEL_NPT; n += 8) mg_store8(st + n, h + n);
    }
    else if (slot >= 0)
    {
#pragma unroll
        for (int n = 0; n < CHANNEL_NPT; n++)
        {
            if (n < a.state_dim) mg_store(st + n, h[n]);
        }
    }
    if (D) acc += uv * skip;
    if (z) acc *= gate;
    mg_store(y + (i64)row * a.channels + d, slot < 0 ? 0.0f : acc);
}

// Prefill: each sequence scanned token by token from its initial state; the final state is written back. A block
// (256 threads, 256 / lanes channels of one sequence) stages dt, u and silu(z) of a tile of `lanes` tokens in shared
// memory, one value per thread, so no lane recomputes its channel's softplus or gate, and the tile's B and C.
#define SCAN_THREADS 256
#define SCAN_BC 4096  // floats of B (and of C) the row-warp scan stages at once: SCAN_BC / state_dim tokens
template <typename T, typename S>
__device__ __forceinline__ void selective_scan_varlen(const T* u, const T* delta, const T* a_log, const T* B, const T* C, const T* D,
    const T* z, const T* delta_bias, S* states, i64 block_stride, const i64* slots, const u8* has_initial,
    const i64* query_start, T* y, int seqs, int softplus, ScanArgs a)
{
    __shared__ float tile_dt[SCAN_THREADS], tile_u[SCAN_THREADS], tile_gate[SCAN_THREADS];
    __shared__ float stage_b[SCAN_BC], stage_c[SCAN_BC];
    int lane = threadIdx.x % a.lanes, local = threadIdx.x / a.lanes, per_block = SCAN_THREADS / a.lanes;
    int d0 = blockIdx.x * per_block, d = d0 + local, s = blockIdx.y;
    if (s >= seqs) return;
    bool active = d < a.channels;
    i64 slot = slots[s];
    bool initial = slot >= 0 && has_initial[s];
    S* st = states + (slot < 0 ? 0 : slot) * block_stride + (i64)(active ? d : 0) * a.state_dim;
    const int per_lane = 8;  // state_dim <= 8 * lanes
    float h[per_lane], A[per_lane];
#pragma unroll
    for (int i = 0; i < per_lane; i++)
    {
        int n = lane + a.lanes * i;
        bool in = active && n < a.state_dim;
        A[i] = in ? -mg_exp(mg_load(a_log + (i64)d * a.state_dim + n)) : 0.0f;
        h[i] = (in && initial) ? mg_load(st + n) : 0.0f;
    }
    float dskip = (D && active) ? mg_load(D + d) : 0.0f;
    i64 t0 = query_start[s], t1 = query_start[s + 1];
    // B and C of `stage` tokens go through shared memory, loaded by the block together with the tile's dt, u and gate:
    // a lane that loaded its own as it went would wait one memory latency a token (its next loads follow its store of y).
    int stage = SCAN_BC / a.state_dim;
    for (i64 base = t0; base < t1; base += a.lanes)
    {
        int count = (int)(t1 - base < a.lanes ? t1 - base : a.lanes);
        mg_sync();
        {
            // Thread i stages token i / per_block of channel d0 + i % per_block.
            int k = threadIdx.x / per_block, c = d0 + threadIdx.x % per_block;
            if (k < count && c < a.channels)
            {
                i64 t = base + k;
                tile_dt[threadIdx.x] = scan_dt(delta + t * a.delta_stride + c, delta_bias, softplus, c);
                tile_u[threadIdx.x] = mg_load(u + t * a.u_stride + c);
                tile_gate[threadIdx.x] = z ? mg_silu(mg_load(z + t * a.z_stride + c)) : 1.0f;
            }
        }
        for (int k0 = 0; k0 < count; k0 += stage)
        {
            int kc = count - k0 < stage ? count - k0 : stage;
            if (k0 > 0) mg_sync();
            mg_stage_rows(B + (base + k0) * a.bc_stride, a.bc_stride, a.state_dim, a.state_dim, kc, stage_b);
            mg_stage_rows(C + (base + k0) * a.bc_stride, a.bc_stride, a.state_dim, a.state_dim, kc, stage_c);
            mg_sync();
            // Inactive groups (channels past the end) still run the loop: their warp's shuffles need every lane.
            for (int k = k0; k < k0 + kc; k++)
            {
                i64 t = base + k;
                int at = k * per_block + local;
                float dt = tile_dt[at], uv = tile_u[at], du = dt * uv;
                const float* b = stage_b + (k - k0) * a.state_dim;
                const float* c = stage_c + (k - k0) * a.state_dim;
                float acc = 0.0f;
#pragma unroll
                for (int i = 0; i < per_lane; i++)
                {
                    int n = lane + a.lanes * i;
                    if (n < a.state_dim)
                    {
                        h[i] = h[i] * mg_fast_exp(dt * A[i]) + du * b[n];
                        acc += h[i] * c[n];
                    }
                }
                acc = mg_warp_sum(acc, a.lanes);
                if (lane == 0 && active) mg_store(y + t * a.channels + d, slot < 0 ? 0.0f : (acc + dskip * uv) * tile_gate[at]);
            }
        }
    }
    if (active && slot >= 0)
    {
#pragma unroll
        for (int i = 0; i < per_lane; i++)
        {
            int n = lane + a.lanes * i;
            if (n < a.state_dim) mg_store(st + n, h[i]);
        }
    }
}

// Prefill, a thread per channel: a channel's whole state (state_dim <= 16) in one thread's registers, so a token costs
// it 16 exps and 32 FMAs and no reduction; the block stages the tile's B and C (fp32, zero past state_dim) in shared
// memory once for all its channels, and each thread reads its own channel's delta, u and z (coalesced across the warp).
#define CHANNEL_TILE 64
#define CHANNEL_AHEAD 8  // tokens whose dt, u and gate a channel thread loads at once
// The tile's B and C, declared once for all modes (a template's own __shared__ arrays exist once per instantiation, and
// selective_scan_chunk runs two modes).
struct ChannelScanStage
{
    mg_f4 b[CHANNEL_TILE * CHANNEL_NPT / 4], c[CHANNEL_TILE * CHANNEL_NPT / 4];
};
__device__ __forceinline__ ChannelScanStage& channel_scan_stage()
{
    __shared__ ChannelScanStage stage;
    return stage;
}

// MODE 0 scans whole sequences from the cached state and writes the final state back; MODE 1 and 2 are the chunked
// form below (blockIdx.y a chunk of chunk_len tokens of the chunk table): 1 from zeros, keeping each chunk's final state and sum of dt,
// no outputs; 2 from the chunk's entering state in `carry`, with outputs, no state written.
template <typename T, typename S, int MODE>
__device__ __forceinline__ void selective_scan_channels(const T* u, const T* delta, const T* a_log, const T* B, const T* C, const T* D,
    const T* z, const T* delta_bias, S* states, i64 block_stride, const i64* slots, const u8* has_initial,
    const i64* query_start, T* y, int seqs, int softplus, ScanArgs a, int chunk_len = 0, const i64* chunk_table = nullptr,
    float* carry = nullptr, float* dt_sum = nullptr)
{
    ChannelScanStage& shared = channel_scan_stage();
    mg_f4 *tile_b = shared.b, *tile_c = shared.c;
    int d = blockIdx.x * blockDim.x + threadIdx.x, s = blockIdx.y;
    if (MODE == 0 && s >= seqs) return;
    i64 t0, t1;
    if (MODE == 0) t0 = query_start[s], t1 = query_start[s + 1];
    else mg_chunk_of(chunk_table, query_start, seqs, blockIdx.y, chunk_len, s, t0, t1);
    bool active = d < a.channels;
    i64 slot = slots[s];
    bool initial = MODE == 0 && slot >= 0 && has_initial[s];
    S* st = states + (slot < 0 ? 0 : slot) * block_stride + (i64)(active ? d : 0) * a.state_dim;
    float* ct = MODE == 0 ? nullptr : carry + ((i64)blockIdx.y * a.channels + (active ? d : 0)) * CHANNEL_NPT;
    float h[CHANNEL_NPT], A[CHANNEL_NPT], sum = 0.0f;
#pragma unroll
    for (int n = 0; n < CHANNEL_NPT; n++)
    {
        bool in = active && n < a.state_dim;
        A[n] = in ? -mg_exp(mg_load(a_log + (i64)d * a.state_dim + n)) : 0.0f;
        h[n] = MODE == 0 ? ((in && initial) ? mg_load(st + n) : 0.0f) : (MODE == 2 && in ? ct[n] : 0.0f);
    }
    float dskip = (D && active) ? mg_load(D + d) : 0.0f;
    float* sb = (float*)tile_b;
    float* sc = (float*)tile_c;
    for (i64 base = t0; base < t1; base += CHANNEL_TILE)
    {
        int count = (int)(t1 - base < CHANNEL_TILE ? t1 - base : CHANNEL_TILE);
        mg_sync();
        mg_stage_rows(B + base * a.bc_stride, a.bc_stride, a.state_dim, CHANNEL_NPT, count, sb);
        mg_stage_rows(C + base * a.bc_stride, a.bc_stride, a.state_dim, CHANNEL_NPT, count, sc);
        mg_sync();
        if (!active) continue;
        for (int k0 = 0; k0 < count; k0 += CHANNEL_AHEAD)
        {
            // The next CHANNEL_AHEAD tokens' dt, u and gate are loaded before the first of their outputs is stored: a
            // load after a store waits for it, so one at a time they cost a memory latency a token.
            float dts[CHANNEL_AHEAD], us[CHANNEL_AHEAD], gates[CHANNEL_AHEAD];
#pragma unroll
            for (int j = 0; j < CHANNEL_AHEAD; j++)
            {
                i64 t = base + k0 + j;
                bool in = k0 + j < count;
                dts[j] = in ? scan_dt(delta + t * a.delta_stride + d, delta_bias, softplus, d) : 0.0f;
                us[j] = in ? mg_load(u + t * a.u_stride + d) : 0.0f;
                gates[j] = in && z && MODE != 1 ? mg_silu(mg_load(z + t * a.z_stride + d)) : 1.0f;
            }
            // One token an iteration, taken from the front of the arrays, the loop not unrolled: unrolled, the compiler
            // computed all eight tokens' 128 decays ahead, 226 registers a thread (ptxas, sm_90) where this takes 100.
#pragma unroll 1
            for (int j = 0; j < CHANNEL_AHEAD; j++)
            {
                int k = k0 + j;
                float dt = dts[0], uv = us[0], gate = gates[0];
#pragma unroll
                for (int q = 0; q + 1 < CHANNEL_AHEAD; q++)
                {
                    dts[q] = dts[q + 1];
                    us[q] = us[q + 1];
                    gates[q] = gates[q + 1];
                }
                if (k < count)
                {
                    i64 t = base + k;
                    float du = dt * uv;
                    if (MODE == 1) sum += dt;
                    const mg_f4* b4 = tile_b + k * (CHANNEL_NPT / 4);
                    const mg_f4* c4 = tile_c + k * (CHANNEL_NPT / 4);
                    float acc0 = 0.0f, acc1 = 0.0f;
#pragma unroll
                    for (int q = 0; q < CHANNEL_NPT / 4; q++)
                    {
                        mg_f4 b = b4[q], c = c4[q];
                        h[4 * q + 0] = h[4 * q + 0] * mg_fast_exp(dt * A[4 * q + 0]) + du * b.x;
                        h[4 * q + 1] = h[4 * q + 1] * mg_fast_exp(dt * A[4 * q + 1]) + du * b.y;
                        h[4 * q + 2] = h[4 * q + 2] * mg_fast_exp(dt * A[4 * q + 2]) + du * b.z;
                        h[4 * q + 3] = h[4 * q + 3] * mg_fast_exp(dt * A[4 * q + 3]) + du * b.w;
                        acc0 += h[4 * q + 0] * c.x + h[4 * q + 2] * c.z;
                        acc1 += h[4 * q + 1] * c.y + h[4 * q + 3] * c.w;
                    }
                    if (MODE != 1)
                    {
                        float out = acc0 + acc1 + dskip * uv;
                        if (z) out *= gate;
                        mg_store(y + t * a.channels + d, slot < 0 ? 0.0f : out);
                    }
                }
            }
        }
    }
    if (!active) return;
    if (MODE == 0 && slot >= 0)
    {
#pragma unroll
        for (int n = 0; n < CHANNEL_NPT; n++)
        {
            if (n < a.state_dim) mg_store(st + n, h[n]);
        }
    }
    else if (MODE == 1)
    {
#pragma unroll
        for (int n = 0; n < CHANNEL_NPT; n++) ct[n] = h[n];
        dt_sum[(i64)blockIdx.y * a.channels + d] = sum;
    }
}

// Channel d's A = -exp(A_log) and the state a prefill starts from: its cached state where `initial`, else zeros (both
// zero past the state dim).
template <typename T, typename S>
__device__ __forceinline__ void channel_start(const T* a_log, const S* st, int d, int state_dim, bool initial, float* A, float* h)
{
#pragma unroll
    for (int n = 0; n < CHANNEL_NPT; n++)
    {
        bool in = n < state_dim;
        A[n] = in ? -mg_exp(mg_load(a_log + (i64)d * state_dim + n)) : 0.0f;
        h[n] = in && initial ? mg_load(st + n) : 0.0f;
    }
}

// Prefill of few long sequences, a thread per channel over one chunk of a sequence, in three launches: (1) each chunk
// scans from a zero state and keeps its final state and its channel's sum of dt in `carry` and `dt_sum`; (2) a thread
// per (sequence, channel) carries the states across the chunks in order, h_in[k+1] = exp(A * sum_dt[k]) * h_in[k] +
// h_local[k], leaving each chunk's entering state in `carry`, and writes the final state back; (3) each chunk scans
// again from its entering state and writes the outputs. Twice one scan's exps, but chunks-fold the threads: one
// 2048-token prompt of mamba-130m is otherwise 1536 channels for the whole GPU. carry: [chunks, channels, 16];
// dt_sum: [chunks, channels], over the batch's chunk table. (1) and (3) are selective_scan_channels' modes 1 and 2 (the selective_scan_chunk
// entry, which takes the parameters every scan entry does); (2), below, reads and writes the states.
template <typename T, typename S>
__device__ __forceinline__ void selective_scan_chunk_carry(const T* a_log, S* states, i64 block_stride, const i64* slots,
    const u8* has_initial, const i64* chunk_table, int seqs, int channels, int state_dim, float* carry, const float* dt_sum)
{
    int d = blockIdx.x * blockDim.x + threadIdx.x, s = blockIdx.y;
    if (s >= seqs || d >= channels) return;
    i64 slot = slots[s];
    bool initial = slot >= 0 && has_initial[s];
    S* st = states + (slot < 0 ? 0 : slot) * block_stride + (i64)d * state_dim;
    float h[CHANNEL_NPT], A[CHANNEL_NPT];
    channel_start(a_log, st, d, state_dim, initial, A, h);
    for (i64 c = chunk_table[s]; c < chunk_table[s + 1]; c++)
    {
        i64 at = (c * channels + d) * CHANNEL_NPT;
        float sum = dt_sum[c * channels + d];
#pragma unroll
        for (int n = 0; n < CHANNEL_NPT; n++)
        {
            float local = carry[at + n];
            carry[at + n] = h[n];
            h[n] = h[n] * mg_exp(sum * A[n]) + local;
        }
    }
    if (slot >= 0)
    {
#pragma unroll
        for (int n = 0; n < CHANNEL_NPT; n++)
        {
            if (n < state_dim) mg_store(st + n, h[n]);
        }
    }
}

// Prefill, a block per (channel, sequence) with the sequence's tokens spread over its threads (mamba_ssm's selective
// scan): one long prompt is then channels x 128 threads for the GPU, where a thread per channel is channels threads.
// Each chunk of blockDim.x * ITEMS tokens (blockDim.x <= 128), thread i holding tokens i * ITEMS .. i * ITEMS + ITEMS - 1:
//   1. each thread composes its tokens' updates into one affine map per state, h -> a * h + b;
//   2. the block scans those maps (Hillis-Steele in shared memory, 16 states at once), so each thread learns the state
//      entering its tokens from the state entering the chunk, and the chunk's last map carries the state on;
//   3. each thread walks its tokens again from its entering state and writes their outputs.
// Every output of a thread is stored after all its loads (a load after a store would wait for it). State dim <= 16.
// Launch bounds of three 128-thread blocks an SM: 168 registers and no spills (198 unbounded, two blocks).
#define BLOCK_SCAN_THREADS 128
#define BLOCK_SCAN_ITEMS 8
struct BlockScanStage
{
    float a[2][CHANNEL_NPT][BLOCK_SCAN_THREADS], b[2][CHANNEL_NPT][BLOCK_SCAN_THREADS];  // the scan's two buffers
};
__device__ __forceinline__ BlockScanStage& block_scan_stage()
{
    __shared__ BlockScanStage stage;
    return stage;
}

// Token t's B (or C) row as fp32, zeros past the state dim.
template <typename T>
__device__ __forceinline__ void scan_row(const T* p, int state_dim, float* v)
{
#pragma unroll
    for (int n = 0; n < CHANNEL_NPT; n++) v[n] = n < state_dim ? mg_load(p + n) : 0.0f;
}

template <typename T, typename S, int ITEMS>
__device__ __forceinline__ void selective_scan_block(const T* u, const T* delta, const T* a_log, const T* B, const T* C, const T* D,
    const T* z, const T* delta_bias, S* states, i64 block_stride, const i64* slots, const u8* has_initial, const i64* query_start,
    T* y, int seqs, int softplus, ScanArgs a)
{
    BlockScanStage& shared = block_scan_stage();
    int d = blockIdx.x, s = blockIdx.y, tid = threadIdx.x;
    if (s >= seqs || d >= a.channels) return;
    i64 t0 = query_start[s], t1 = query_start[s + 1];
    i64 slot = slots[s];
    bool initial = slot >= 0 && has_initial[s];
    S* st = states + (slot < 0 ? 0 : slot) * block_stride + (i64)d * a.state_dim;
    float A[CHANNEL_NPT], h_in[CHANNEL_NPT];
    channel_start(a_log, st, d, a.state_dim, initial, A, h_in);
    float dskip = D ? mg_load(D + d) : 0.0f;
    int last = blockDim.x - 1;
    for (i64 base = t0; base < t1; base += (i64)blockDim.x * ITEMS)
    {
        i64 first = base + (i64)tid * ITEMS;
        int count = first >= t1 ? 0 : (int)(t1 - first < ITEMS ? t1 - first : ITEMS);
        float dts[ITEMS], us[ITEMS], gates[ITEMS];
#pragma unroll
        for (int i = 0; i < ITEMS; i++)
        {
            i64 t = first + i;
            bool in = i < count;
            dts[i] = in ? scan_dt(delta + t * a.delta_stride + d, delta_bias, softplus, d) : 0.0f;
            us[i] = in ? mg_load(u + t * a.u_stride + d) : 0.0f;
            gates[i] = in && z ? mg_silu(mg_load(z + t * a.z_stride + d)) : 1.0f;
        }
        // 1. This thread's tokens as one map per state (identity past the sequence: dt = 0).
        float ma[CHANNEL_NPT], mb[CHANNEL_NPT];
#pragma unroll
        for (int n = 0; n < CHANNEL_NPT; n++)
        {
            ma[n] = 1.0f;
            mb[n] = 0.0f;
        }
#pragma unroll
        for (int i = 0; i < ITEMS; i++)
        {
            if (i < count)
            {
                float bv[CHANNEL_NPT];
                scan_row(B + (first + i) * a.bc_stride, a.state_dim, bv);
                float du = dts[i] * us[i];
#pragma unroll
                for (int n = 0; n < CHANNEL_NPT; n++)
                {
                    float decay = mg_fast_exp(dts[i] * A[n]);
                    ma[n] *= decay;
                    mb[n] = mb[n] * decay + du * bv[n];
                }
            }
        }
        // 2. Inclusive scan of the maps over the block's threads, between two buffers (a round reads one and writes the
        // other, so one barrier a round): thread i ends with the map of tokens 0 .. its last.
        int buffer = 0;
        mg_sync();  // the previous chunk's reads of the buffers are done
#pragma unroll
        for (int n = 0; n < CHANNEL_NPT; n++)
        {
            shared.a[0][n][tid] = ma[n];
            shared.b[0][n][tid] = mb[n];
        }
        for (int offset = 1; offset < (int)blockDim.x; offset <<= 1, buffer ^= 1)
        {
            mg_sync();
            bool has = tid >= offset;
#pragma unroll
            for (int n = 0; n < CHANNEL_NPT; n++)
            {
                // Earlier tokens' map first: h -> ma (pa h + pb) + mb.
                float pa = has ? shared.a[buffer][n][tid - offset] : 1.0f, pb = has ? shared.b[buffer][n][tid - offset] : 0.0f;
                mb[n] = ma[n] * pb + mb[n];
                ma[n] *= pa;
                shared.a[buffer ^ 1][n][tid] = ma[n];
                shared.b[buffer ^ 1][n][tid] = mb[n];
            }
        }
        mg_sync();
        // The state entering this thread's tokens, and the state entering the next chunk.
        float h[CHANNEL_NPT];
#pragma unroll
        for (int n = 0; n < CHANNEL_NPT; n++)
        {
            h[n] = tid == 0 ? h_in[n] : shared.a[buffer][n][tid - 1] * h_in[n] + shared.b[buffer][n][tid - 1];
            h_in[n] = shared.a[buffer][n][last] * h_in[n] + shared.b[buffer][n][last];
        }
        // 3. The outputs, stored once every load of the thread is done.
        float outs[ITEMS];
#pragma unroll
        for (int i = 0; i < ITEMS; i++)
        {
            outs[i] = 0.0f;
            if (i >= count) continue;  // the later tokens are past the sequence too
            float bv[CHANNEL_NPT], cv[CHANNEL_NPT];
            scan_row(B + (first + i) * a.bc_stride, a.state_dim, bv);
            scan_row(C + (first + i) * a.bc_stride, a.state_dim, cv);
            float du = dts[i] * us[i], acc0 = 0.0f, acc1 = 0.0f;
#pragma unroll
            for (int n = 0; n < CHANNEL_NPT; n += 2)
            {
                h[n] = h[n] * mg_fast_exp(dts[i] * A[n]) + du * bv[n];
                h[n + 1] = h[n + 1] * mg_fast_exp(dts[i] * A[n + 1]) + du * bv[n + 1];
                acc0 += h[n] * cv[n];
                acc1 += h[n + 1] * cv[n + 1];
            }
            outs[i] = (acc0 + acc1 + dskip * us[i]) * gates[i];
        }
#pragma unroll
        for (int i = 0; i < ITEMS; i++)
        {
            if (i < count) mg_store(y + (first + i) * a.channels + d, slot < 0 ? 0.0f : outs[i]);
        }
    }
    if (tid == 0 && slot >= 0)
    {
#pragma unroll
        for (int n = 0; n < CHANNEL_NPT; n++)
        {
            if (n < a.state_dim) mg_store(st + n, h_in[n]);
        }
    }
}

// The per-channel update at five blocks of 128 an SM (96 registers; the host launches 128 threads): its 16-bit entries
// need no spill for it with dt_proj inside (102 unbounded, four blocks), fp32 activations spill 44-76 bytes.
#define SCAN_KERNELS(T, S, sfx) \
    extern "C" __global__ void selective_update_##sfx(const T* u, const T* delta, const T* a_log, const T* B, const T* C, \
        const T* D, const T* z, const T* delta_bias, S* states, i64 block_stride, const i64* slots, T* y, int rows, int softplus, \
        i64 u_stride, i64 delta_stride, i64 bc_stride, i64 z_stride, int channels, int state_dim, int lanes, const T* delta_w, int rank) \
    { mg_after_previous_grid(); \
        ScanArgs a = {u_stride, delta_stride, bc_stride, z_stride, channels, state_dim, lanes}; \
        selective_update<T, S>(u, delta, a_log, B, C, D, z, delta_bias, states, block_stride, slots, y, rows, softplus, a, delta_w, rank); \
    } \
    extern "C" __global__ void MG_LAUNCH_BOUNDS(128, 5) selective_update_channels_##sfx(const T* u, const T* delta, const T* a_log, const T* B, const T* C, \
        const T* D, const T* z, const T* delta_bias, S* states, i64 block_stride, const i64* slots, T* y, int rows, int softplus, \
        i64 u_stride, i64 delta_stride, i64 bc_stride, i64 z_stride, int channels, int state_dim, int lanes, const T* delta_w, int rank) \
    { mg_after_previous_grid(); \
        ScanArgs a = {u_stride, delta_stride, bc_stride, z_stride, channels, state_dim, 1}; \
        selective_update_channels<T, S>(u, delta, a_log, B, C, D, z, delta_bias, states, block_stride, slots, y, softplus, a, delta_w, rank); \
    } \
    extern "C" __global__ void selective_scan_varlen_##sfx(const T* u, const T* delta, const T* a_log, const T* B, const T* C, \
        const T* D, const T* z, const T* delta_bias, S* states, i64 block_stride, const i64* slots, const u8* has_initial, \
        const i64* query_start, T* y, int seqs, int softplus, i64 u_stride, i64 delta_stride, i64 bc_stride, i64 z_stride, \
        int channels, int state_dim, int lanes) \
    { mg_after_previous_grid(); \
        ScanArgs a = {u_stride, delta_stride, bc_stride, z_stride, channels, state_dim, lanes}; \
        selective_scan_varlen<T, S>(u, delta, a_log, B, C, D, z, delta_bias, states, block_stride, slots, has_initial, query_start, y, seqs, softplus, a); \
    } \
    extern "C" __global__ void selective_scan_channels_##sfx(const T* u, const T* delta, const T* a_log, const T* B, const T* C, \
        const T* D, const T* z, const T* delta_bias, S* states, i64 block_stride, const i64* slots, const u8* has_initial, \
        const i64* query_start, T* y, int seqs, int softplus, i64 u_stride, i64 delta_stride, i64 bc_stride, i64 z_stride, \
        int channels, int state_dim) \
    { mg_after_previous_grid(); \
        ScanArgs a = {u_stride, delta_stride, bc_stride, z_stride, channels, state_dim, 1}; \
        selective_scan_channels<T, S, 0>(u, delta, a_log, B, C, D, z, delta_bias, states, block_stride, slots, has_initial, query_start, y, seqs, softplus, a); \
    } \
    extern "C" __global__ void MG_LAUNCH_BOUNDS(BLOCK_SCAN_THREADS, 3) selective_scan_block_##sfx(const T* u, const T* delta, const T* a_log, const T* B, const T* C, \
        const T* D, const T* z, const T* delta_bias, S* states, i64 block_stride, const i64* slots, const u8* has_initial, \
        const i64* query_start, T* y, int seqs, int softplus, i64 u_stride, i64 delta_stride, i64 bc_stride, i64 z_stride, \
        int channels, int state_dim) \
    { mg_after_previous_grid(); \
        ScanArgs a = {u_stride, delta_stride, bc_stride, z_stride, channels, state_dim, 1}; \
        selective_scan_block<T, S, BLOCK_SCAN_ITEMS>(u, delta, a_log, B, C, D, z, delta_bias, states, block_stride, slots, has_initial, query_start, y, seqs, softplus, a); \
    } \
    extern "C" __global__ void selective_scan_chunk_##sfx(const T* u, const T* delta, const T* a_log, const T* B, const T* C, \
        const T* D, const T* z, const T* delta_bias, S* states, i64 block_stride, const i64* slots, const u8* has_initial, \
        const i64* query_start, T* y, int seqs, int softplus, i64 u_stride, i64 delta_stride, i64 bc_stride, i64 z_stride, \
        int channels, int state_dim, int chunk_len, const i64* chunk_table, float* carry, float* dt_sum, int outputs) \
    { mg_after_previous_grid(); \
        ScanArgs a = {u_stride, delta_stride, bc_stride, z_stride, channels, state_dim, 1}; \
        if (outputs) selective_scan_channels<T, S, 2>(u, delta, a_log, B, C, D, z, delta_bias, states, block_stride, slots, has_initial, query_start, y, seqs, softplus, a, chunk_len, chunk_table, carry, dt_sum); \
        else selective_scan_channels<T, S, 1>(u, delta, a_log, B, C, D, z, delta_bias, states, block_stride, slots, has_initial, query_start, y, seqs, softplus, a, chunk_len, chunk_table, carry, dt_sum); \
    } \
    extern "C" __global__ void selective_scan_chunk_carry_##sfx(const T* a_log, S* states, i64 block_stride, const i64* slots, \
        const u8* has_initial, const i64* chunk_table, int seqs, int channels, int state_dim, float* carry, const float* dt_sum) \
    { mg_after_previous_grid(); \
        selective_scan_chunk_carry<T, S>(a_log, states, block_stride, slots, has_initial, chunk_table, seqs, channels, state_dim, carry, dt_sum); \
    }

MG_FOR_T_S(SCAN_KERNELS)
