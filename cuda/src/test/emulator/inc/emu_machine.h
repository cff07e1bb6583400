// The emulated machine of emu_cuda.h (include once per program, after the kernel sources): thread and block
// indices, barriers, warp shuffles through a per-warp staging area, mma.sync m16n8k16 from the documented fragment
// layouts (dmma_f64.cuh), and launch(): every CTA of a grid in turn, 256 std::threads each.
#pragma once
#include <thread>

// ---- the emulated machine --------------------------------------------------------------------------------------
thread_local uint3e threadIdx, blockIdx;
uint3e gridDim, blockDim;
unsigned char* emu_smem;
static std::unique_ptr<std::barrier<>> ctaBar;
static std::vector<std::unique_ptr<std::barrier<>>> warpBar, namedBar;
struct Stage {  // one warp's mma operands, lane by lane
    double a[32][8], b[32][4], c[32][4];
};
static Stage stage[32];
static long long mmaCount;

void __syncthreads() { ctaBar->arrive_and_wait(); }
static unsigned char shflStage[32][32][8];  // [warp][lane] one value of up to 8 bytes
template <typename T>
T __shfl_xor_sync(unsigned, T x, int o) {
    static_assert(sizeof(T) <= 8, "shuffle of at most 8 bytes");
    const int w = threadIdx.x / 32, lane = threadIdx.x % 32;
    memcpy(shflStage[w][lane], &x, sizeof(T));
    warpBar[w]->arrive_and_wait();
    T y;
    memcpy(&y, shflStage[w][lane ^ o], sizeof(T));
    warpBar[w]->arrive_and_wait();  // the staging area is free again
    return y;
}
void __syncwarp() { warpBar[threadIdx.x / 32]->arrive_and_wait(); }
void emu_bar_arrive(int id) { (void)namedBar[id]->arrive(); }
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

// Runs body() as every thread of every block of the grid, blocks one at a time, shared memory poisoned (NaN).
template <typename F>
static void launch(int gx, int gy, int gz, int sharedBytes, F body) {
    std::vector<unsigned char> sm(sharedBytes + 64);
    gridDim = {(unsigned)gx, (unsigned)gy, (unsigned)gz};
    for (unsigned bz = 0; bz < (unsigned)gz; bz++)
        for (unsigned by = 0; by < (unsigned)gy; by++)
            for (unsigned bx = 0; bx < (unsigned)gx; bx++) {
                std::fill(sm.begin(), sm.end(), 0xFF);
                emu_smem = sm.data();
                ctaBar = std::make_unique<std::barrier<>>(256);
                warpBar.clear();
                namedBar.clear();
                for (int i = 0; i < 8; i++) warpBar.push_back(std::make_unique<std::barrier<>>(32));
                for (int i = 0; i < 16; i++) namedBar.push_back(std::make_unique<std::barrier<>>(64));
                std::vector<std::thread> threads;
                for (unsigned t = 0; t < 256; t++)
                    threads.emplace_back([=] {
                        threadIdx = {t, 0, 0};
                        blockIdx = {bx, by, bz};
                        body();
                    });
                for (auto& t : threads) t.join();
            }
}

