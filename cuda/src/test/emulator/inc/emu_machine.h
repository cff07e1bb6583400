// The emulated machine of emu_cuda.h (include once per program, after the kernel sources): thread and block
// indices, barriers, warp collectives (shuffles, ldmatrix, mma.sync) through a per-warp staging area, mma.sync
// m16n8k16 f64 (dmma_f64.cuh) and bf16 (PTX ISA fragment layouts), the warpgroup collective wgmma (bf16, 128-byte
// swizzled shared operands, PTX ISA descriptor and canonical layouts), and launch(): every CTA of a grid in turn,
// blockDim threads each (256 unless told).
//
// The threads of a block are fibers on one OS thread (x86-64 context switches, emu_swap): a thread runs until it
// waits at a barrier (__syncthreads, a warp collective, a named barrier) or exits, then the next one that can go on
// runs, in thread order, or in a random order per round with EMU_SCHED_SEED=<n> in the environment (run.sh
// --shuffle N), which moves writes and reads of shared memory that no barrier orders past each other. When no
// thread can go on, the program stops naming where each waits (a deadlock: a barrier not every thread reaches).
#pragma once
#include <functional>
#include <random>
#include <sys/mman.h>

// ---- fibers -------------------------------------------------------------------------------------------------------
// emu_swap(save, next): saves the callee-saved registers on the current stack, stores its stack pointer in *save,
// switches to the stack next (saved by an earlier emu_swap, or prepared by launch()) and returns there.
extern "C" void emu_swap(void** save, void* next);
asm(R"(
    .text
    .globl emu_swap
    .type emu_swap, @function
emu_swap:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_swap, .-emu_swap
)");

struct EmuBarrier;
struct AsyncCopy {
    uint32_t smem;
    int bytes;
    unsigned char data[16];
};
struct WgPending {  // a wgmma in flight (deferred mode): its accumulator and the values it will hold
    float* d;
    int regs;
    float v[128];
};
struct Fiber {  // one CUDA thread
    void* sp;
    unsigned tid;
    bool done;
    EmuBarrier* waitOn;  // the barrier it waits at (null: it can go on)
    unsigned waitPhase;
    unsigned xchgCount;                               // warp collectives so far (emu_machine.h, xchg_put)
    std::vector<AsyncCopy> asyncOpen;                 // cp.async issued, not committed
    std::vector<std::vector<AsyncCopy>> asyncGroups;  // committed, oldest first
    std::vector<uint32_t> unfencedChunks;             // shared 16-byte chunks its cp.async wrote, not yet fenced
    unsigned wgCount = 0;                             // wgmma so far (emu_wgmma: staging buffer n % 2)
    bool wgFenced = false;                            // a wgmma.fence since its last wgmma.wait_group
    std::vector<WgPending> wgOpen;                    // wgmma issued, not committed (deferred mode)
    std::vector<std::vector<WgPending>> wgGroups;     // committed, oldest first
};
static Fiber* cur;     // the running thread
static void* schedSp;  // the scheduler's stack while a thread runs

// A barrier of `expected` threads: the last arrival of a phase releases the waiters of that phase.
struct EmuBarrier {
    const char* kind;
    int index, expected, arrived = 0;
    unsigned phase = 0;
    EmuBarrier(const char* k, int i, int n) : kind(k), index(i), expected(n) {}
    void arrive() {
        if (++arrived >= expected) arrived = 0, phase++;
    }
    void arrive_and_wait() {
        const unsigned p = phase;
        arrive();
        if (phase == p) {
            cur->waitOn = this, cur->waitPhase = p;
            emu_swap(&cur->sp, schedSp);
        }
    }
    void arrive_and_drop() {  // an exited thread: it counts as arrived, now and in every later phase
        expected--;
        if (arrived >= expected) arrived = 0, phase++;
    }
};

// ---- the emulated machine --------------------------------------------------------------------------------------
uint3e threadIdx, blockIdx;  // threadIdx: the running thread's (set at every switch)
uint3e gridDim, blockDim;
unsigned char* emu_smem;
static std::unique_ptr<EmuBarrier> ctaBar;
static std::vector<std::unique_ptr<EmuBarrier>> warpBar, namedBar;
struct Stage {  // one warp's mma operands, lane by lane
    double a[32][8], b[32][4], c[32][4];
};
static Stage stage[32];
static long long mmaCount;

void __syncthreads() { ctaBar->arrive_and_wait(); }
// Warp collectives (shuffle, ldmatrix, bf16 mma): every lane deposits its operands in one of two staging buffers
// of its warp, the warp meets at a barrier, every lane reads what it needs. The buffers alternate (a per-thread
// count of the warp's collectives, equal on every lane of a converged warp): collective n writes buffer n % 2 only
// after the barrier of collective n - 1, which every lane reaches after its reads of collective n - 2, the last
// ones of that buffer. One barrier per collective.
constexpr int XCHG_BYTES = 128;
static unsigned char xchg[32][2][32][XCHG_BYTES];  // [warp][buffer][lane]
static unsigned char (*xchg_put(const void* p, size_t n))[XCHG_BYTES] {
    const int w = threadIdx.x / 32, lane = threadIdx.x % 32;
    unsigned char (*buf)[XCHG_BYTES] = xchg[w][cur->xchgCount++ & 1];
    memcpy(buf[lane], p, n);
    warpBar[w]->arrive_and_wait();
    return buf;
}
template <typename T>
static T shfl_from(T x, int src) {  // every lane deposits x and reads lane src's (its own when src is out of range)
    static_assert(sizeof(T) <= 8, "shuffle of at most 8 bytes");
    unsigned char (*buf)[XCHG_BYTES] = xchg_put(&x, sizeof(T));
    T y;
    memcpy(&y, buf[src >= 0 && src < 32 ? src : threadIdx.x % 32], sizeof(T));
    return y;
}
// the shuffles of the CUDA programming guide (full mask), in segments of width lanes
template <typename T>
T __shfl_xor_sync(unsigned, T x, int o, int width) {
    const int lane = threadIdx.x % 32, src = lane ^ o;
    return shfl_from(x, src / width == lane / width ? src : lane);
}
template <typename T>
T __shfl_sync(unsigned, T x, int src, int width) {
    const int lane = threadIdx.x % 32;
    return shfl_from(x, lane / width * width + ((src % width) + width) % width);
}
template <typename T>
T __shfl_up_sync(unsigned, T x, unsigned d, int width) {
    const int lane = threadIdx.x % 32, src = lane - (int)d;
    return shfl_from(x, src >= lane / width * width ? src : lane);
}
template <typename T>
T __shfl_down_sync(unsigned, T x, unsigned d, int width) {
    const int lane = threadIdx.x % 32, src = lane + (int)d;
    return shfl_from(x, src < (lane / width + 1) * width ? src : lane);
}
unsigned __ballot_sync(unsigned, int p) {
    const int v = p != 0;
    unsigned char (*buf)[XCHG_BYTES] = xchg_put(&v, sizeof v);
    unsigned m = 0;
    for (int l = 0; l < 32; l++) {
        int x;
        memcpy(&x, buf[l], sizeof x);
        m |= (unsigned)x << l;
    }
    return m;
}
void __syncwarp() { warpBar[threadIdx.x / 32]->arrive_and_wait(); }
void emu_bar_arrive(int id) { namedBar[id]->arrive(); }
void emu_bar_sync(int id) { namedBar[id]->arrive_and_wait(); }

// mma.sync m16n8k16 f64: every lane deposits its fragments, lane 0 multiplies (fragment layouts of dmma_f64.cuh),
// every lane takes its C fragment back.
void emu_mma16x8x16(double (&c)[4], const double (&a)[8], const double (&b)[4]) {
    const int w = threadIdx.x / 32, lane = threadIdx.x % 32;
    Stage& s = stage[w];
    memcpy(s.a[lane], a, sizeof a);
    memcpy(s.b[lane], b, sizeof b);
    memcpy(s.c[lane], c, sizeof c);
    warpBar[w]->arrive_and_wait();
    if (lane == 0) {
        double A[16][16], Bm[16][8], C[16][8];
        for (int l = 0; l < 32; l++) {
            const int grp = l >> 2, t = l & 3;
            for (int v0 = 0; v0 < 2; v0++)
                for (int v1 = 0; v1 < 4; v1++) A[grp + 8 * v0][t + 4 * v1] = s.a[l][v0 + 2 * v1];
            for (int v = 0; v < 4; v++) Bm[t + 4 * v][grp] = s.b[l][v];
            for (int x = 0; x < 4; x++) C[grp + 8 * (x >> 1)][2 * t + (x & 1)] = s.c[l][x];
        }
        for (int m = 0; m < 16; m++)
            for (int n = 0; n < 8; n++)
                for (int k = 0; k < 16; k++) C[m][n] = fma(A[m][k], Bm[k][n], C[m][n]);
        for (int l = 0; l < 32; l++) {
            const int grp = l >> 2, t = l & 3;
            for (int x = 0; x < 4; x++) s.c[l][x] = C[grp + 8 * (x >> 1)][2 * t + (x & 1)];
        }
        __atomic_add_fetch(&mmaCount, 1, __ATOMIC_RELAXED);
    }
    warpBar[w]->arrive_and_wait();
    memcpy(c, s.c[lane], sizeof c);
    warpBar[w]->arrive_and_wait();  // the staging area is free again
}
void emu_mma16x8x4(double (&)[4], double, double, double) { abort(); }  // not used by v11

// ---- bf16 tensor-core operations ---------------------------------------------------------------------------------
static size_t emuSmemBytes;  // size of the emulated shared block of the running CTA
static unsigned char* smem_at(uint32_t addr, uint32_t bytes) {
    if ((size_t)addr + bytes > emuSmemBytes) {
        fprintf(stderr, "shared address %u + %u outside the block of %zu bytes (thread %u, block %u)\n", addr, bytes,
                emuSmemBytes, threadIdx.x, blockIdx.x);
        abort();
    }
    return emu_smem + addr;
}
static uint16_t smem16(uint32_t addr) {
    uint16_t h;
    memcpy(&h, smem_at(addr, 2), 2);
    return h;
}

// cp.async.cg.shared.global [smem], [gmem], bytes, srcBytes: srcBytes bytes copied, the rest of the bytes zero.
// Immediate by default (commit and wait are no-ops, so a missing wait is not seen). Deferred (EMU_ASYNC=deferred in
// the environment, run.sh --deferred-async): the source is read at issue, the shared bytes are written only when
// cp.async.wait_group lets its group complete (the latest moment the PTX ISA allows), never for groups that no wait
// covers, so a read of a tile before its wait sees the previous contents (or the NaN poison).
static bool asyncDeferred = [] {
    const char* e = getenv("EMU_ASYNC");
    return e && !strcmp(e, "deferred");
}();
// cp.async writes through the generic proxy; a wgmma (async proxy) may read them only after the writing thread has
// executed fence.proxy.async (then a barrier orders it before the wgmma). Every 16-byte chunk a cp.async writes is
// marked with its thread until that thread's next fence.proxy.async; a wgmma that reads a marked chunk stops the
// program. (Plain stores to shared memory are not seen.)
static std::vector<uint16_t> unfencedBy;  // per 16-byte chunk of the block: 1 + the writing thread, 0 when fenced
static void cp_async_landed(uint32_t smem, int bytes, unsigned tid, Fiber& f) {
    for (uint32_t ch = smem / 16; ch <= (smem + bytes - 1) / 16; ch++)
        unfencedBy[ch] = (uint16_t)(tid + 1), f.unfencedChunks.push_back(ch);
}
void emu_cp_async(uint32_t smem, const void* gmem, int bytes, int srcBytes) {
    if (smem % bytes) { fprintf(stderr, "cp.async to a misaligned shared address %u\n", smem); abort(); }
    unsigned char* d = smem_at(smem, bytes);
    if (!asyncDeferred) {
        if (srcBytes) memcpy(d, gmem, srcBytes);
        memset(d + srcBytes, 0, bytes - srcBytes);
        cp_async_landed(smem, bytes, cur->tid, *cur);
        return;
    }
    AsyncCopy c{smem, bytes, {}};
    if (srcBytes) memcpy(c.data, gmem, srcBytes);
    cur->asyncOpen.push_back(c);
}
void emu_cp_async_commit() {
    if (asyncDeferred) cur->asyncGroups.push_back(std::move(cur->asyncOpen)), cur->asyncOpen.clear();
}
void emu_cp_async_wait(int n) {  // cp.async.wait_group n: all but the n most recent committed groups complete
    auto& groups = cur->asyncGroups;
    while ((int)groups.size() > n) {
        for (const AsyncCopy& c : groups.front())
            memcpy(emu_smem + c.smem, c.data, c.bytes), cp_async_landed(c.smem, c.bytes, cur->tid, *cur);
        groups.erase(groups.begin());
    }
}
[[noreturn]] void emu_unemulated(const char* ptx) {
    fprintf(stderr, "inline PTX without an emulation reached (thread %u, block %u): %s\n", threadIdx.x, blockIdx.x,
            ptx);
    abort();
}

// ldmatrix.sync.aligned.m8n8.x4[.trans].shared.b16: lane 8i + r gives the address of row r of matrix i (16 bytes,
// 16-byte aligned); lane t receives in register i the 32-bit word at row t/4, columns 2(t%4), 2(t%4)+1 of matrix i
// (.trans: of its transpose, i.e. the elements (2(t%4), t/4) and (2(t%4)+1, t/4)), the lower column in the low half.
void emu_ldsm_x4(uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3, uint32_t addr, bool trans) {
    if (addr % 16) { fprintf(stderr, "ldmatrix row address %u not 16-byte aligned\n", addr); abort(); }
    unsigned char (*buf)[XCHG_BYTES] = xchg_put(&addr, 4);
    const int lane = threadIdx.x % 32, grp = lane >> 2, c = lane & 3;
    uint32_t* out[4] = {&r0, &r1, &r2, &r3};
    auto row = [&](int l) { uint32_t a; memcpy(&a, buf[l], 4); return a; };
    for (int i = 0; i < 4; i++) {
        uint16_t lo, hi;
        if (!trans) {
            const uint32_t a = row(8 * i + grp);
            lo = smem16(a + 4 * c), hi = smem16(a + 4 * c + 2);
        } else {
            lo = smem16(row(8 * i + 2 * c) + 2 * grp), hi = smem16(row(8 * i + 2 * c + 1) + 2 * grp);
        }
        *out[i] = (uint32_t)lo | (uint32_t)hi << 16;
    }
}

// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 d, a, b, c (d = c in place), PTX ISA fragment layouts,
// grp = lane >> 2, t = lane & 3, each .b32 register two bf16, the lower k in the low half:
//   A [16x16]: a0 (row grp, k 2t..2t+1), a1 (row grp+8, k 2t..), a2 (row grp, k 2t+8..), a3 (row grp+8, k 2t+8..)
//   B [16x8]:  b0 (k 2t..2t+1, col grp), b1 (k 2t+8.., col grp)
//   C [16x8]:  c0, c1 (row grp, cols 2t, 2t+1), c2, c3 (row grp+8, cols 2t, 2t+1)
// The hardware leaves the summation order open; here each element is d = fmaf(a_k, b_k, d) for k = 0..15 in turn,
// starting from c (bf16 products are exact in fp32, so each step rounds once); EMU_MMA_ORDER=reverse in the
// environment takes k = 15..0 instead, to see that a result does not hang on one order.
static bool mmaReverse = [] {
    const char* e = getenv("EMU_MMA_ORDER");
    return e && !strcmp(e, "reverse");
}();
void emu_mma16816(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
    uint32_t ops[6] = {a[0], a[1], a[2], a[3], b0, b1};
    unsigned char (*buf)[XCHG_BYTES] = xchg_put(ops, sizeof ops);
    const int lane = threadIdx.x % 32, grp = lane >> 2, t = lane & 3;
    auto elem = [&](int l, int reg, int half) {
        uint32_t r;
        memcpy(&r, buf[l] + 4 * reg, 4);
        return __bfloat162float({(unsigned short)(half ? r >> 16 : r & 0xffff)});
    };
    auto A = [&](int m, int k) { return elem((m & 7) * 4 + (k & 7) / 2, (m >> 3) + 2 * (k >> 3), k & 1); };
    auto B = [&](int k, int n) { return elem(n * 4 + (k & 7) / 2, 4 + (k >> 3), k & 1); };
    for (int x = 0; x < 4; x++) {
        const int m = grp + 8 * (x >> 1), n = 2 * t + (x & 1);
        float d = c[x];
        for (int i = 0; i < 16; i++) {
            const int k = mmaReverse ? 15 - i : i;
            d = fmaf(A(m, k), B(k, n), d);
        }
        c[x] = d;
    }
    if (lane == 0) __atomic_add_fetch(&mmaCount, 1, __ATOMIC_RELAXED);
}

// ---- wgmma (sm_90a warpgroup MMA) ------------------------------------------------------------------------------
// wgmma.mma_async.sync.aligned.m64n<N>k16.f32.bf16.bf16 {d}, a, b-desc, p, 1, 1[, 0], trans-b with p = 1 (the
// wrappers of bf16/wgmma_ops.cuh; host_sources.py ties each to its instruction text): D [64xN] += A [64x16] B [16xN]
// by the 128 threads of a warpgroup (warps 4g..4g+3 of the block). PTX ISA layouts, grp = lane >> 2, c = lane & 3,
// w the warp within the warpgroup:
//   D: thread (w, lane) register 4j + e holds row 16w + grp + 8 (e >> 1), column 8j + 2c + (e & 1)
//   A from registers: warp w holds rows 16w..16w+15 in the mma.sync m16n8k16 A layout (emu_mma16816)
//   A, B from shared memory: a matrix descriptor (start address bits 0-13, leading byte offset LBO bits 16-29,
//     stride byte offset SBO bits 32-45, each encoded >> 4; base offset bits 49-51; swizzle mode bits 62-63), only
//     the 128-byte swizzle with base offset 0 emulated, in the canonical layouts of the PTX ISA (T = 8 bf16 = 16 B):
//       K-major  ((8,m),(T,2k)):((8T,SBO),(1,T)): element (mn, k) at (mn / 8) SBO + (mn % 8) 128 B + 2k
//                (rows of 128 B along M or N, K contiguous in a row; LBO unused)
//       MN-major ((T,8,m),(8,k)):((1,T,LBO),(8T,SBO)): element (mn, k) at (mn / 64) LBO + (k / 8) SBO + (k % 8) 128 B
//                + 2 (mn % 64) (rows of 128 B along K, MN contiguous in a row, 64-wide MN blocks LBO apart)
//     counted from the start address, then swizzled as a function of the address: the 16-byte chunk (address bits
//     4-6) XOR the row within the 1024-byte atom (bits 7-9), the atoms 1024-aligned.
// A is K-major when it comes from shared memory (trans-a 0), B K-major or MN-major (trans-b). The summation model of
// emu_mma16816: each element d = fmaf(a_k, b_k, d) for k = 0..15 (EMU_MMA_ORDER=reverse: 15..0), from d.
//
// Every thread deposits its operands in one of two staging buffers of its warpgroup and arrives at the warpgroup's
// barrier; the last thread to arrive (the moment the whole warpgroup has issued) checks that all 128 issued the same
// instruction, reads the shared operands and computes every thread's result; after the barrier each thread takes
// its own (the buffers alternate as the warp staging of xchg_put does). Immediate by default: the accumulator holds
// the result when the instruction returns, so commit and wait are no-ops and a missing wait is not seen. Deferred
// (EMU_ASYNC=deferred, run.sh --deferred-async, as for cp.async): the shared operands are still read at issue, but
// the accumulator registers are NaN until a wgmma.wait_group completes the wgmma's group (a later wgmma on the same
// accumulator, the chaining the ISA allows, takes the value in flight), so an accumulator read before its wait shows
// NaN and one written before it is overwritten; and a wgmma that starts an accumulator (none in flight on it) needs a
// wgmma.fence since the thread's last wgmma.wait_group (the ISA asks for one between register accesses and the
// wgmma that uses those registers; the accesses themselves are not seen).
constexpr int WG_MAX_REGS = 128;  // n up to 256
struct WgStage {                  // one warpgroup's wgmma operands, thread by thread
    unsigned seq[128];
    int n[128];
    bool regsA[128], transB[128];
    uint64_t aDesc[128], bDesc[128];
    uint32_t a[128][4];
    float d[128][WG_MAX_REGS];
};
static WgStage wgStage[8][2];  // [warpgroup][buffer]
static std::vector<std::unique_ptr<EmuBarrier>> wgBar;
static long long wgmmaCount;

struct WgDesc {
    uint32_t start, lbo, sbo;
};
static WgDesc wg_decode(uint64_t desc, const char* which) {
    const unsigned mode = (unsigned)(desc >> 62), base = (unsigned)(desc >> 49) & 7;
    if (mode != 1 || base != 0) {
        fprintf(stderr, "wgmma %s descriptor %016llx: swizzle mode %u, base offset %u (only the 128-byte swizzle with "
                "base offset 0 is emulated; thread %u, block %u)\n", which, (unsigned long long)desc, mode, base,
                threadIdx.x, blockIdx.x);
        abort();
    }
    return {(uint32_t)(desc & 0x3FFF) << 4, (uint32_t)(desc >> 16 & 0x3FFF) << 4, (uint32_t)(desc >> 32 & 0x3FFF) << 4};
}
// element (mn, k) of a 128-byte-swizzled operand (see above), as a float
static float wg_elem(const WgDesc& d, bool mnMajor, int mn, int k) {
    const uint32_t off = mnMajor ? (mn / 64) * d.lbo + (k / 8) * d.sbo + (k % 8) * 128 + (mn % 64) * 2
                                 : (mn / 8) * d.sbo + (mn % 8) * 128 + k * 2;
    const uint32_t lin = d.start + off, addr = lin ^ (((lin >> 7) & 7) << 4);
    const uint16_t h = smem16(addr);
    if (unfencedBy[addr / 16]) {
        fprintf(stderr, "wgmma (thread %u, block %u) reads shared address %u, written by a cp.async of thread %u with "
                "no fence.proxy.async of that thread since\n", threadIdx.x, blockIdx.x, addr,
                unfencedBy[addr / 16] - 1u);
        abort();
    }
    return __bfloat162float({h});
}
[[noreturn]] static void wg_fail(const char* what, int wg) {
    fprintf(stderr, "wgmma, warpgroup %d of block %u: %s\n", wg, blockIdx.x, what);
    abort();
}
// the operation of one warpgroup, from its staged operands (the last thread to issue runs it)
static void wg_compute(WgStage& s, int wg) {
    if (wgBar[wg]->expected != 128) wg_fail("issued while threads of the warpgroup have exited", wg);
    for (int t = 1; t < 128; t++)
        if (s.seq[t] != s.seq[0] || s.n[t] != s.n[0] || s.regsA[t] != s.regsA[0] || s.transB[t] != s.transB[0] ||
            s.bDesc[t] != s.bDesc[0] || (!s.regsA[0] && s.aDesc[t] != s.aDesc[0]))
            wg_fail("its threads issued different wgmma (shape, operands or descriptors differ)", wg);
    const int n = s.n[0];
    static float A[64][16], Bm[16][256];
    if (s.regsA[0]) {
        for (int m = 0; m < 64; m++)
            for (int k = 0; k < 16; k++) {
                // row m: warp m / 16, its row r = m % 16 in the m16n8k16 A layout
                const int r = m % 16, t = (m / 16) * 32 + (r & 7) * 4 + (k & 7) / 2;
                const uint32_t reg = s.a[t][(r >> 3) + 2 * (k >> 3)];
                A[m][k] = __bfloat162float({(unsigned short)(k & 1 ? reg >> 16 : reg & 0xffff)});
            }
    } else {
        const WgDesc da = wg_decode(s.aDesc[0], "A");
        for (int m = 0; m < 64; m++)
            for (int k = 0; k < 16; k++) A[m][k] = wg_elem(da, false, m, k);
    }
    const WgDesc db = wg_decode(s.bDesc[0], "B");
    for (int k = 0; k < 16; k++)
        for (int j = 0; j < n; j++) Bm[k][j] = wg_elem(db, s.transB[0], j, k);
    for (int t = 0; t < 128; t++) {
        const int w = t / 32, grp = (t % 32) >> 2, c = t & 3;
        for (int i = 0; i < n / 2; i++) {
            const int row = 16 * w + grp + 8 * ((i & 3) >> 1), col = 8 * (i / 4) + 2 * c + (i & 1);
            float d = s.d[t][i];
            for (int x = 0; x < 16; x++) {
                const int k = mmaReverse ? 15 - x : x;
                d = fmaf(A[row][k], Bm[k][col], d);
            }
            s.d[t][i] = d;
        }
    }
    wgmmaCount++;
}
// the latest wgmma of the running thread in flight on accumulator d (deferred mode), or null
static WgPending* wg_in_flight(const float* d) {
    for (auto it = cur->wgOpen.rbegin(); it != cur->wgOpen.rend(); ++it)
        if (it->d == d) return &*it;
    for (auto g = cur->wgGroups.rbegin(); g != cur->wgGroups.rend(); ++g)
        for (auto it = g->rbegin(); it != g->rend(); ++it)
            if (it->d == d) return &*it;
    return nullptr;
}
void emu_wgmma(float* d, int n, const uint32_t* aRegs, uint64_t aDesc, uint64_t bDesc, bool transB) {
    const int wg = threadIdx.x / 128, t = threadIdx.x % 128, regs = n / 2;
    if (wg >= (int)wgBar.size()) wg_fail("issued outside a whole warpgroup (block size not a multiple of 128)", wg);
    if (n % 8 || n < 8 || n > 256) wg_fail("unsupported n", wg);
    WgStage& s = wgStage[wg][cur->wgCount & 1];
    s.seq[t] = cur->wgCount++;
    s.n[t] = n, s.regsA[t] = aRegs != nullptr, s.transB[t] = transB, s.aDesc[t] = aDesc, s.bDesc[t] = bDesc;
    if (aRegs) memcpy(s.a[t], aRegs, sizeof s.a[t]);
    const float* in = d;  // the accumulator going in
    if (asyncDeferred) {
        if (const WgPending* p = wg_in_flight(d)) {
            if (p->regs != regs) wg_fail("a wgmma in flight on the accumulator has another shape", wg);
            in = p->v;
        } else if (!cur->wgFenced) {
            fprintf(stderr, "wgmma (thread %u, block %u) starts an accumulator with no wgmma.fence since the thread's "
                    "last wgmma.wait_group\n", threadIdx.x, blockIdx.x);
            abort();
        }
    }
    memcpy(s.d[t], in, regs * sizeof(float));
    EmuBarrier& bar = *wgBar[wg];
    if (bar.arrived + 1 == bar.expected) wg_compute(s, wg);  // the last of the warpgroup to issue: it happens now
    bar.arrive_and_wait();
    if (!asyncDeferred) {
        memcpy(d, s.d[t], regs * sizeof(float));
        return;
    }
    WgPending p{d, regs, {}};
    memcpy(p.v, s.d[t], regs * sizeof(float));
    cur->wgOpen.push_back(p);
    std::fill(d, d + regs, NAN);  // in flight: not readable before its wait
}
void emu_wgmma_fence() { cur->wgFenced = true; }
void emu_wgmma_commit() {
    if (asyncDeferred) cur->wgGroups.push_back(std::move(cur->wgOpen)), cur->wgOpen.clear();
}
void emu_wgmma_wait(int n) {  // wgmma.wait_group n: all but the n most recent committed groups complete
    cur->wgFenced = false;
    auto& groups = cur->wgGroups;
    while ((int)groups.size() > n) {
        const std::vector<WgPending> done = std::move(groups.front());
        groups.erase(groups.begin());
        for (const WgPending& p : done)  // in issue order; an accumulator with a later wgmma in flight stays NaN
            if (!wg_in_flight(p.d)) memcpy(p.d, p.v, p.regs * sizeof(float));
    }
}
void emu_fence_proxy_async() {  // fence.proxy.async.shared::cta: this thread's cp.async writes are visible to wgmma
    for (uint32_t ch : cur->unfencedChunks)
        if (unfencedBy[ch] == cur->tid + 1) unfencedBy[ch] = 0;
    cur->unfencedChunks.clear();
}

// ---- launch -------------------------------------------------------------------------------------------------------
static std::function<void()> fiberJob;  // the kernel body of the running launch
static void fiber_main() {              // the first frame of every thread
    fiberJob();
    if (!cur->wgOpen.empty() || !cur->wgGroups.empty()) {  // deferred mode: its results would land in a dead frame
        fprintf(stderr, "thread %u of block %u exited with a wgmma in flight (no wgmma.wait_group after it)\n",
                cur->tid, blockIdx.x);
        abort();
    }
    warpBar[cur->tid / 32]->arrive_and_drop();  // an exited thread no longer holds up barriers (as on the hardware)
    ctaBar->arrive_and_drop();
    cur->done = true;
    emu_swap(&cur->sp, schedSp);  // never resumed
    abort();
}
constexpr size_t FIBER_STACK = 1 << 20;
static unsigned char* fiberStacks;  // [1024][FIBER_STACK], a guard page at the low end of each
static unsigned schedSeed = [] {
    const char* e = getenv("EMU_SCHED_SEED");
    return e ? (unsigned)strtoul(e, nullptr, 10) : 0u;
}();

static void deadlock(const std::vector<Fiber>& fs) {
    fprintf(stderr, "block (%u,%u,%u): deadlock, no thread can go on:\n", blockIdx.x, blockIdx.y, blockIdx.z);
    for (size_t i = 0; i < fs.size();) {  // runs of consecutive threads waiting at the same barrier
        size_t j = i;
        while (j + 1 < fs.size() && fs[j + 1].waitOn == fs[i].waitOn && fs[j + 1].done == fs[i].done) j++;
        if (fs[i].done) fprintf(stderr, "  threads %zu-%zu exited\n", i, j);
        else fprintf(stderr, "  threads %zu-%zu wait at %s barrier %d (%d of %d arrived)\n", i, j, fs[i].waitOn->kind,
                     fs[i].waitOn->index, fs[i].waitOn->arrived, fs[i].waitOn->expected);
        i = j + 1;
    }
    abort();
}

// Runs body() as every thread (threads per block, a multiple of 32) of every block of the grid, blocks one at a
// time, shared memory poisoned (NaN); a block that writes past its shared bytes stops the program.
template <typename F>
static void launch(int gx, int gy, int gz, int sharedBytes, F body, int threads = 256) {
    if (threads > 1024 || threads % 32) { fprintf(stderr, "launch: %d threads per block\n", threads); abort(); }
    if (!fiberStacks) {
        fiberStacks = (unsigned char*)mmap(nullptr, 1024 * FIBER_STACK, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (fiberStacks == MAP_FAILED) { perror("mmap"); abort(); }
        for (int t = 0; t < 1024; t++) mprotect(fiberStacks + t * FIBER_STACK, 4096, PROT_NONE);
    }
    std::vector<unsigned char> sm(sharedBytes + 64);
    gridDim = {(unsigned)gx, (unsigned)gy, (unsigned)gz};
    blockDim = {(unsigned)threads, 1, 1};
    emuSmemBytes = sharedBytes;
    fiberJob = body;
    std::mt19937 rng(schedSeed);
    std::vector<int> order(threads);
    for (unsigned bz = 0; bz < (unsigned)gz; bz++)
        for (unsigned by = 0; by < (unsigned)gy; by++)
            for (unsigned bx = 0; bx < (unsigned)gx; bx++) {
                std::fill(sm.begin(), sm.end(), 0xFF);
                emu_smem = sm.data();
                blockIdx = {bx, by, bz};
                ctaBar = std::make_unique<EmuBarrier>("__syncthreads", 0, threads);
                warpBar.clear();
                namedBar.clear();
                for (int i = 0; i < threads / 32; i++) warpBar.push_back(std::make_unique<EmuBarrier>("warp", i, 32));
                for (int i = 0; i < 16; i++) namedBar.push_back(std::make_unique<EmuBarrier>("named", i, 64));
                wgBar.clear();
                for (int i = 0; i < threads / 128; i++)
                    wgBar.push_back(std::make_unique<EmuBarrier>("warpgroup", i, 128));
                unfencedBy.assign(sharedBytes / 16 + 1, 0);
                std::vector<Fiber> fs(threads);
                for (int t = 0; t < threads; t++) {
                    uint64_t* top = (uint64_t*)(fiberStacks + (t + 1) * FIBER_STACK);
                    *--top = 0;                            // fiber_main's return address (it never returns)
                    *--top = (uint64_t)(void*)&fiber_main;  // where emu_swap's ret goes
                    for (int r = 0; r < 6; r++) *--top = 0;  // rbp rbx r12 r13 r14 r15
                    fs[t].sp = top, fs[t].tid = t, fs[t].done = false, fs[t].waitOn = nullptr, fs[t].xchgCount = 0;
                    order[t] = t;
                }
                for (int live = threads; live > 0;) {
                    if (schedSeed) std::shuffle(order.begin(), order.end(), rng);
                    bool ran = false;
                    for (int t : order) {
                        Fiber& f = fs[t];
                        if (f.done || (f.waitOn && f.waitOn->phase == f.waitPhase)) continue;
                        f.waitOn = nullptr;
                        cur = &f;
                        threadIdx = {f.tid, 0, 0};
                        emu_swap(&schedSp, f.sp);
                        ran = true;
                        live -= f.done;
                    }
                    if (!ran) deadlock(fs);
                }
                for (int i = sharedBytes; i < sharedBytes + 64; i++)
                    if (sm[i] != 0xFF) {
                        fprintf(stderr, "block (%u,%u,%u) wrote past its %d shared bytes\n", bx, by, bz, sharedBytes);
                        abort();
                    }
            }
}
