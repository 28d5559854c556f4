// A CPU emulator of CUDA's execution model for the runtime's kernels, so the test suite runs them on machines with no
// GPU: each block's threads are coroutines on one host thread (their own stacks, switched with _setjmp/_longjmp), a
// block barrier releases when every live thread of the block reaches it, a warp shuffle when all 32 lanes have written
// their value. Blocks run one after another. It checks what the hardware would not forgive: a barrier some threads of
// a block never reach, or a warp whose lanes wait at different barriers, is reported as a deadlock, not hung on. Threads
// run between barriers in index order, or in reverse (mg_emu_set_reverse): a kernel whose threads read what another
// writes without a barrier between gives different results in the two orders. A thread that ends without calling
// mg_after_previous_grid() is reported too: launched as a programmatic dependent on a GPU, it could read its inputs
// before the kernel that writes them has finished.
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

struct mg_dim3 { unsigned x, y, z; };
extern "C" { mg_dim3 threadIdx, blockIdx, blockDim, gridDim; }
// Every kernel's __shared__ variables (prelude.cuh puts them in this section; the linker names its bounds).
extern "C" char __start_mg_shared[] __attribute__((weak));
extern "C" char __stop_mg_shared[] __attribute__((weak));

namespace {

enum State { Runnable, AtBlockBarrier, AtWarpBarrier, Finished };

struct Thread
{
    jmp_buf context;
    ucontext_t boot;
    State state;
    bool started;
    bool waited;  // called mg_after_previous_grid()
    unsigned parity;  // which half of the shuffle slots this lane writes next (lanes of a warp shuffle in step)
    mg_dim3 index;
};

const size_t StackBytes = 128 * 1024;
const unsigned MaxThreads = 1024;

Thread threads[MaxThreads];
char* stacks = nullptr;
unsigned current = 0;
unsigned shuffle_slots[2][MaxThreads];
unsigned mma_slots[2][MaxThreads][6];
jmp_buf scheduler;
bool reverse_order = false;
bool poison_shared = false;
int unwaited = -1;  // the first thread of the block that ended without mg_after_previous_grid()
void (*entry_function)(void**) = nullptr;
void** entry_args = nullptr;
char error[512];

void yield(State state)
{
    Thread& t = threads[current];
    t.state = state;
    if (_setjmp(t.context) == 0)
    {
        _longjmp(scheduler, 1);
    }
}

void boot()
{
    entry_function(entry_args);
    if (!threads[current].waited && unwaited < 0) unwaited = (int)current;
    threads[current].state = Finished;
    _longjmp(scheduler, 1);
}

// Runs every runnable thread until it blocks; then releases the barriers that are complete. False on a deadlock.
bool run_block(unsigned count)
{
    // All ones: NaN as fp32 and bf16, -1 as integers.
    if (poison_shared && __start_mg_shared != nullptr) memset(__start_mg_shared, 0xff, (size_t)(__stop_mg_shared - __start_mg_shared));
    for (unsigned i = 0; i < count; i++)
    {
        Thread& t = threads[i];
        t.state = Runnable;
        t.started = false;
        t.waited = false;
        t.parity = 0;
        t.index = {i % blockDim.x, (i / blockDim.x) % blockDim.y, i / (blockDim.x * blockDim.y)};
    }

    unwaited = -1;
    for (;;)
    {
        for (unsigned k = 0; k < count; k++)
        {
            unsigned i = reverse_order ? count - 1 - k : k;
            if (threads[i].state != Runnable) continue;
            current = i;
            threadIdx = threads[i].index;
            if (_setjmp(scheduler) == 0)
            {
                Thread& t = threads[i];
                if (!t.started)
                {
                    t.started = true;
                    getcontext(&t.boot);
                    t.boot.uc_stack.ss_sp = stacks + (size_t)i * StackBytes;
                    t.boot.uc_stack.ss_size = StackBytes;
                    t.boot.uc_link = nullptr;
                    makecontext(&t.boot, boot, 0);
                    setcontext(&t.boot);
                }
                _longjmp(t.context, 1);
            }
        }

        bool released = false, all_finished = true;
        // A warp whose every live lane waits at a shuffle goes on.
        for (unsigned w = 0; w * 32 < count; w++)
        {
            unsigned end = (w + 1) * 32 < count ? (w + 1) * 32 : count, waiting = 0, live = 0;
            for (unsigned i = w * 32; i < end; i++)
            {
                if (threads[i].state != Finished) live++;
                if (threads[i].state == AtWarpBarrier) waiting++;
            }
            if (live > 0 && waiting == live)
            {
                for (unsigned i = w * 32; i < end; i++) if (threads[i].state == AtWarpBarrier) threads[i].state = Runnable;
                released = true;
            }
        }
        if (released) continue;
        unsigned at_barrier = 0, live = 0;
        for (unsigned i = 0; i < count; i++)
        {
            if (threads[i].state != Finished) { live++; all_finished = false; }
            if (threads[i].state == AtBlockBarrier) at_barrier++;
        }
        if (all_finished && unwaited >= 0)
        {
            snprintf(error, sizeof error, "thread %d of block (%u, %u, %u) ended without calling mg_after_previous_grid(): launched as a programmatic dependent, it would not wait for the kernel before it",
                     unwaited, blockIdx.x, blockIdx.y, blockIdx.z);
            return false;
        }
        if (all_finished) return true;
        if (at_barrier == live)
        {
            for (unsigned i = 0; i < count; i++) if (threads[i].state == AtBlockBarrier) threads[i].state = Runnable;
            continue;
        }
        snprintf(error, sizeof error, "deadlock in block (%u, %u, %u): %u of %u live threads wait at __syncthreads, the others at a warp shuffle",
                 blockIdx.x, blockIdx.y, blockIdx.z, at_barrier, live);
        return false;
    }
}

}  // namespace

extern "C" void mg_emu_sync() { yield(AtBlockBarrier); }

extern "C" void mg_emu_after_previous_grid() { threads[current].waited = true; }

extern "C" void mg_emu_set_reverse(int on) { reverse_order = on != 0; }

// Fills every block's shared memory with all-ones bytes before it runs, so what a block reads before writing is NaN.
extern "C" void mg_emu_set_poison(int on) { poison_shared = on != 0; }

extern "C" unsigned mg_emu_shfl_xor(unsigned bits, int lane_mask)
{
    unsigned self = current, parity = threads[self].parity;
    threads[self].parity ^= 1u;
    shuffle_slots[parity][self] = bits;
    yield(AtWarpBarrier);
    unsigned partner = (self & ~31u) | ((self & 31u) ^ ((unsigned)lane_mask & 31u));
    return shuffle_slots[parity][partner];
}

static float bf16_to_float(unsigned bits16)
{
    unsigned u = bits16 << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// mma.sync m16n8k16 (bf16 in, fp32 sums) for the warp: each lane leaves its fragments, and once all 32 have, each
// rebuilds A (16 x 16) and B (16 x 8) from them by the PTX ISA's fragment layout and adds its four elements of A * B.
extern "C" void mg_emu_mma_bf16(float* d, const unsigned* a, const unsigned* b)
{
    unsigned self = current, parity = threads[self].parity;
    threads[self].parity ^= 1u;
    unsigned* mine = mma_slots[parity][self];
    for (int i = 0; i < 4; i++) mine[i] = a[i];
    mine[4] = b[0];
    mine[5] = b[1];
    yield(AtWarpBarrier);
    float A[16][16], B[16][8];
    unsigned base = self & ~31u;
    for (unsigned l = 0; l < 32; l++)
    {
        const unsigned* r = mma_slots[parity][base + l];
        unsigned g = l >> 2, q = l & 3;
        for (unsigned half = 0; half < 2; half++)
        {
            A[g][2 * q + half] = bf16_to_float((r[0] >> (16 * half)) & 0xffffu);
            A[g + 8][2 * q + half] = bf16_to_float((r[1] >> (16 * half)) & 0xffffu);
            A[g][2 * q + 8 + half] = bf16_to_float((r[2] >> (16 * half)) & 0xffffu);
            A[g + 8][2 * q + 8 + half] = bf16_to_float((r[3] >> (16 * half)) & 0xffffu);
            B[2 * q + half][g] = bf16_to_float((r[4] >> (16 * half)) & 0xffffu);
            B[2 * q + 8 + half][g] = bf16_to_float((r[5] >> (16 * half)) & 0xffffu);
        }
    }
    unsigned lane = self & 31u, group = lane >> 2, quad = lane & 3;
    for (int e = 0; e < 4; e++)
    {
        unsigned row = group + (e >= 2 ? 8 : 0), col = 2 * quad + (e & 1);
        float sum = 0.0f;
        for (int k = 0; k < 16; k++) sum += A[row][k] * B[k][col];
        d[e] += sum;
    }
}

// Runs `entry(args)` as a kernel over the grid; 0 on success, else 1 with the reason in mg_emu_error().
extern "C" int mg_emu_launch(void (*entry)(void**), void** args, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz)
{
    unsigned count = bx * by * bz;
    error[0] = 0;
    if (count == 0 || count > MaxThreads)
    {
        snprintf(error, sizeof error, "block of %u x %u x %u threads: the emulator takes 1 to %u", bx, by, bz, MaxThreads);
        return 1;
    }
    if (stacks == nullptr && (stacks = (char*)malloc(StackBytes * MaxThreads)) == nullptr)
    {
        snprintf(error, sizeof error, "no memory for the emulator's thread stacks");
        return 1;
    }
    entry_function = entry;
    entry_args = args;
    gridDim = {gx, gy, gz};
    blockDim = {bx, by, bz};
    for (unsigned z = 0; z < gz; z++)
        for (unsigned y = 0; y < gy; y++)
            for (unsigned x = 0; x < gx; x++)
            {
                blockIdx = {x, y, z};
                if (!run_block(count)) return 1;
            }
    return 0;
}

extern "C" const char* mg_emu_error() { return error; }
