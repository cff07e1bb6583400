// The emulated primitives (inc/emu_cuda.h, inc/emu_machine.h) against their definitions, written out here from the
// PTX ISA independently of the emulation's own index arithmetic: bf16 conversions, ldmatrix x4 (.trans),
// mma.sync m16n8k16 bf16 (the element-numbered fragment tables of the ISA), shuffles, cp.async zero fill and its
// deferred completion, wgmma m64n64k16 (A, B from 128-byte-swizzled shared memory, K-major), m64n64k16 and
// m64n128k16 (A from registers, B MN-major). Exit code 1 on any mismatch.
#include "emu_cuda.h"
#include <random>
#include "emu_machine.h"

static int failures;
#define CHECK(cond, ...)                                    \
    do {                                                    \
        if (!(cond)) {                                      \
            if (failures++ < 10) fprintf(stderr, __VA_ARGS__); \
        }                                                   \
    } while (0)

static void conversions() {
    struct { double d; unsigned short want; } t[] = {
        {1.0 + 0x1p-8, 0x3F80},             // tie: to even (down)
        {1.0 + 3 * 0x1p-8, 0x3F82},         // tie: to even (up)
        {1.0 + 0x1p-8 + 0x1p-40, 0x3F81},   // just above a tie: up (a float detour would round to the tie, then down)
        {-1.0 - 0x1p-8 - 0x1p-40, 0xBF81},
        {1.0 + 0x1p-8 - 0x1p-40, 0x3F80},
        {3.0e38, 0x7F62}, {0.0, 0x0000}, {-0.0, 0x8000}, {1e-45, 0x0000}, {INFINITY, 0x7F80}};
    for (auto& x : t) CHECK(__double2bfloat16(x.d).x == x.want, "double->bf16 %.17g: %04x, want %04x\n", x.d,
                            __double2bfloat16(x.d).x, x.want);
    CHECK(__float2bfloat16_rn(1.0f + 0x1p-8f).x == 0x3F80, "float->bf16 tie\n");
    CHECK(__float2bfloat16_rn(1.0f + 0x1p-8f + 0x1p-20f).x == 0x3F81, "float->bf16 above a tie\n");
    CHECK(__float2bfloat16_rn(-2.0f - 3 * 0x1p-7f).x == 0xC002, "float->bf16 negative tie to even\n");
    CHECK(std::isnan(__bfloat162float(__float2bfloat16_rn(NAN))), "NaN stays NaN\n");
    CHECK(__bfloat162float({0x3FC0}) == 1.5f && __bfloat162float({0x0001}) == 0x1p-133f, "bf16->float exact\n");
    const __nv_bfloat162 p = __floats2bfloat162_rn(1.0f, -2.0f);
    uint32_t u;
    memcpy(&u, &p, 4);
    CHECK(u == 0xC0003F80u, "pack: .x in the low half, got %08x\n", u);
}

// element (i, r, c) of matrix i, an integer < 256 (exact in bf16)
static float id(int i, int r, int c) { return (float)(i * 64 + r * 8 + c); }
static uint32_t half(uint32_t reg, int h) { return h ? reg >> 16 : reg & 0xffff; }

static void ldmatrix() {
    // the 32 rows (matrix i, row r) at scattered 16-byte-aligned places of a 1 KiB block: row (i, r) at slot perm
    int perm[32];
    for (int s = 0; s < 32; s++) perm[s] = (s * 13 + 5) % 64;
    for (int trans = 0; trans < 2; trans++) {
        std::vector<uint32_t> got(32 * 4);
        launch(1, 1, 1, 1024, [&] {
            const int t = threadIdx.x;
            if (t == 0)
                for (int s = 0; s < 32; s++)
                    for (int c = 0; c < 8; c++) {
                        const __nv_bfloat16 h = __float2bfloat16_rn(id(s / 8, s % 8, c));
                        memcpy(emu_smem + perm[s] * 16 + 2 * c, &h, 2);
                    }
            __syncthreads();
            uint32_t r[4];
            emu_ldsm_x4(r[0], r[1], r[2], r[3], perm[t] * 16, trans);  // lane 8i + r gives row r of matrix i
            for (int i = 0; i < 4; i++) got[t * 4 + i] = r[i];
        }, 32);
        for (int t = 0; t < 32; t++)
            for (int i = 0; i < 4; i++)
                for (int h = 0; h < 2; h++) {
                    // thread t holds row t/4, columns 2(t%4) + h of matrix i (.trans: of its transpose)
                    const int row = t / 4, col = 2 * (t % 4) + h;
                    const float want = trans ? id(i, col, row) : id(i, row, col);
                    const float g = __bfloat162float({(unsigned short)half(got[t * 4 + i], h)});
                    CHECK(g == want, "ldmatrix%s lane %d reg %d half %d: %g, want %g\n", trans ? ".trans" : "", t, i,
                          h, g, want);
                }
    }
}

static void mma() {
    std::mt19937 rng(1);
    std::normal_distribution<float> normal;
    float A[16][16], Bm[16][8], C[16][8];
    for (auto& r : A) for (float& x : r) x = __bfloat162float(__float2bfloat16_rn(normal(rng)));
    for (auto& r : Bm) for (float& x : r) x = __bfloat162float(__float2bfloat16_rn(normal(rng)));
    for (auto& r : C) for (float& x : r) x = normal(rng);
    std::vector<float> D(32 * 4);
    launch(1, 1, 1, 0, [&] {
        const int lane = threadIdx.x, groupID = lane >> 2, tig = lane % 4;
        // PTX ISA, m16n8k16 .bf16: A elements a0..a7 (two per .b32 register, low half first)
        //   row = groupID for a_i, 0 <= i < 2 || 4 <= i < 6, else groupID + 8
        //   col = tig * 2 + (i & 1) for i < 4, else tig * 2 + (i & 1) + 8
        // B elements b0..b3: row = tig * 2 + (i & 1) for i < 2, else tig * 2 + (i & 1) + 8; col = groupID
        // C elements c0..c3: row = groupID for i < 2, else groupID + 8; col = tig * 2 + (i & 1)
        auto bits = [](float x) { return (uint32_t)__float2bfloat16_rn(x).x; };
        uint32_t a[4], b[2];
        for (int i = 0; i < 8; i += 2) {
            const int row = (i < 2 || (i >= 4 && i < 6)) ? groupID : groupID + 8;
            const int col = tig * 2 + (i < 4 ? 0 : 8);
            a[i / 2] = bits(A[row][col]) | bits(A[row][col + 1]) << 16;
        }
        for (int i = 0; i < 4; i += 2) {
            const int row = tig * 2 + (i < 2 ? 0 : 8);
            b[i / 2] = bits(Bm[row][groupID]) | bits(Bm[row + 1][groupID]) << 16;
        }
        float c[4];
        for (int i = 0; i < 4; i++) c[i] = C[i < 2 ? groupID : groupID + 8][tig * 2 + (i & 1)];
        emu_mma16816(c, a, b[0], b[1]);
        for (int i = 0; i < 4; i++) D[lane * 4 + i] = c[i];
    }, 32);
    for (int lane = 0; lane < 32; lane++)
        for (int i = 0; i < 4; i++) {
            const int m = i < 2 ? lane / 4 : lane / 4 + 8, n = (lane % 4) * 2 + (i & 1);
            double want = C[m][n];
            for (int k = 0; k < 16; k++) want += (double)A[m][k] * Bm[k][n];
            CHECK(std::fabs(D[lane * 4 + i] - want) <= 1e-5 * (1 + std::fabs(want)), "mma lane %d c%d: %g, want %g\n",
                  lane, i, D[lane * 4 + i], want);
        }
}

static void shuffles() {
    std::vector<int> x(64 * 5);
    launch(1, 1, 1, 0, [&] {
        const int t = threadIdx.x, l = t % 32;
        x[t * 5 + 0] = __shfl_xor_sync(~0u, 100 + l, 5);
        x[t * 5 + 1] = __shfl_sync(~0u, 100 + l, 7);
        x[t * 5 + 2] = __shfl_up_sync(~0u, 100 + l, 3);
        x[t * 5 + 3] = __shfl_down_sync(~0u, 100 + l, 3, 16);
        x[t * 5 + 4] = (int)__ballot_sync(~0u, l % 3 == 0);
    }, 64);
    unsigned ballot = 0;
    for (int l = 0; l < 32; l += 3) ballot |= 1u << l;
    for (int t = 0; t < 64; t++) {
        const int l = t % 32;
        CHECK(x[t * 5 + 0] == 100 + (l ^ 5), "shfl_xor lane %d\n", t);
        CHECK(x[t * 5 + 1] == 107, "shfl lane %d\n", t);
        CHECK(x[t * 5 + 2] == 100 + (l >= 3 ? l - 3 : l), "shfl_up lane %d\n", t);
        CHECK(x[t * 5 + 3] == 100 + (l % 16 + 3 < 16 ? l + 3 : l), "shfl_down width 16 lane %d\n", t);
        CHECK((unsigned)x[t * 5 + 4] == ballot, "ballot lane %d\n", t);
    }
}

static void cpAsync() {
    unsigned char src[32];
    for (int i = 0; i < 32; i++) src[i] = (unsigned char)(i + 1);
    std::vector<unsigned char> seen(4 * 16);
    launch(1, 1, 1, 64, [&] {
        if (threadIdx.x == 0) {
            emu_cp_async(0, src, 16, 16);
            emu_cp_async(16, src + 16, 16, 0);  // zero fill
            emu_cp_async_commit();
            emu_cp_async(32, src, 16, 8);  // 8 bytes, 8 zeros
            emu_cp_async_commit();
            memcpy(&seen[0], emu_smem + 32, 16);  // before any wait
            emu_cp_async_wait(1);                 // the first group complete
            memcpy(&seen[16], emu_smem, 16);
            memcpy(&seen[32], emu_smem + 16, 16);
            emu_cp_async_wait(0);
            memcpy(&seen[48], emu_smem + 32, 16);
        }
    }, 32);
    for (int i = 0; i < 16; i++) {
        CHECK(seen[16 + i] == i + 1, "cp.async copy byte %d\n", i);
        CHECK(seen[32 + i] == 0, "cp.async zero fill byte %d\n", i);
        CHECK(seen[48 + i] == (i < 8 ? i + 1 : 0), "cp.async partial byte %d\n", i);
        if (asyncDeferred) CHECK(seen[i] == 0xFF, "deferred cp.async landed before its wait (byte %d)\n", i);
    }
}

// wgmma m64n<N>k16 bf16 (emu_wgmma) against a plain matrix product, its operands placed here from the PTX ISA's
// description of the 128-byte swizzle: shared memory is cut into swizzle atoms of 8 rows of 128 B (1024 B,
// 1024-aligned), the 16-byte chunk c of a row stored at chunk c ^ (the row's index within its atom), and the canonical
// layouts place the rows:
//   K-major operand, rows i (along M or N) x 64 k: row i at (i / 8) SBO + (i % 8) 128 B, element k in chunk k / 8; a
//     k16 step kk starts 32 B into the rows (descriptor start + 32 kk), as the kernels address it
//   MN-major operand, K rows x N: row k of column block n / 64 at (n / 64) LBO + (k / 8) SBO + (k % 8) 128 B, element
//     n % 64 in chunk (n % 64) / 8; a k16 step kk starts 16 rows further (start + 2 SBO kk)
// Four chained k16 steps (K = 64: fence, 4 wgmma, commit, wait, as the kernels issue them), two warpgroups with their
// own A and accumulators, LBO and SBO other than the kernels' values (SBO 2048, the n128 halves 17664 B apart), and
// operands whose rows start inside an atom (warpgroup 1's A 4 rows in, the second n128 half 2 rows in), where the
// swizzle follows the address, not the operand's own row numbers. Deferred mode: the accumulator reads NaN before
// the wait.
static void put_bf16(uint32_t addr, float x) {
    const __nv_bfloat16 h = __float2bfloat16_rn(x);
    memcpy(emu_smem + addr, &h, 2);
}
// byte e of the 128-byte row at address row (16-byte chunk e / 16), swizzled by the row's place in its atom
static uint32_t swizzled(uint32_t row, int e) { return row + (((e / 16) ^ (row % 1024 / 128)) * 16) + e % 16; }
static uint32_t kmajor_at(uint32_t base, uint32_t sbo, int i, int k) {
    return swizzled(base + (i / 8) * sbo + (i % 8) * 128, 2 * k);
}
static uint32_t mnmajor_at(uint32_t base, uint32_t lbo, uint32_t sbo, int k, int n) {
    return swizzled(base + (n / 64) * lbo + (k / 8) * sbo + (k % 8) * 128, 2 * (n % 64));
}
static uint64_t make_desc(uint32_t start, uint32_t lbo, uint32_t sbo) {  // 128-byte swizzle, base offset 0
    return (uint64_t)(start >> 4) | (uint64_t)(lbo >> 4) << 16 | (uint64_t)(sbo >> 4) << 32 | 1ull << 62;
}

// rs: A from registers, B MN-major (else A and B K-major from shared memory); n = 64 or 128
static void wgmma(bool rs, int n) {
    constexpr int K = 64;
    std::mt19937 rng(10 + n + rs);
    std::normal_distribution<float> normal;
    auto bfv = [&] { return __bfloat162float(__float2bfloat16_rn(normal(rng))); };
    std::vector<float> A(2 * 64 * K), Bm(K * n), C(2 * 64 * n);  // A[g][m][k], B[k][n], C[g][m][n]
    for (float& x : A) x = bfv();
    for (float& x : Bm) x = bfv();
    for (float& x : C) x = normal(rng);
    const uint32_t aBase[2] = {2048, 10240 + 512}, aSbo = 1024, bBase = 20480, bSbo = 2048;
    const uint32_t bLbo = rs && n == 128 ? 8 * 2048 + 1024 + 256 : 16;  // K-major, n64: unused
    std::vector<float> got(256 * n / 2), early(256 * n / 2);
    launch(1, 1, 1, 57344, [&] {
        const int tid = threadIdx.x, g = tid / 128, warp = (tid % 128) / 32, lane = tid % 32;
        const int groupID = lane >> 2, tig = lane % 4;
        if (tid == 0) {
            for (int gg = 0; gg < 2 && !rs; gg++)
                for (int m = 0; m < 64; m++)
                    for (int k = 0; k < K; k++) put_bf16(kmajor_at(aBase[gg], aSbo, m, k), A[(gg * 64 + m) * K + k]);
            for (int k = 0; k < K; k++)
                for (int j = 0; j < n; j++)
                    put_bf16(rs ? mnmajor_at(bBase, bLbo, bSbo, k, j) : kmajor_at(bBase, bSbo, j, k), Bm[k * n + j]);
        }
        __syncthreads();
        // accumulator: register i holds row 16 warp + groupID (i % 4 < 2) or + 8, column 8 (i / 4) + 2 tig + (i & 1)
        auto row = [&](int i) { return 16 * warp + groupID + (i % 4 < 2 ? 0 : 8); };
        auto col = [&](int i) { return 8 * (i / 4) + 2 * tig + (i & 1); };
        float d[64];
        for (int i = 0; i < n / 2; i++) d[i] = C[(g * 64 + row(i)) * n + col(i)];
        emu_wgmma_fence();
        for (int kk = 0; kk < K / 16; kk++) {
            const uint64_t bd = make_desc(rs ? bBase + kk * 2 * bSbo : bBase + kk * 32, bLbo, bSbo);
            if (rs) {
                // the m16n8k16 A elements a0..a7 of the warp's rows 16 warp.. (PTX ISA): row groupID for a0, a1, a4,
                // a5, else groupID + 8; column 2 tig + (i & 1), + 8 for a4..a7; two per register, low half first
                uint32_t a[4];
                for (int i = 0; i < 8; i += 2) {
                    const int r = 16 * warp + ((i < 2 || (i >= 4 && i < 6)) ? groupID : groupID + 8);
                    const int c = kk * 16 + tig * 2 + (i < 4 ? 0 : 8);
                    const float* src = &A[(g * 64 + r) * K + c];
                    a[i / 2] = (uint32_t)__float2bfloat16_rn(src[0]).x | (uint32_t)__float2bfloat16_rn(src[1]).x << 16;
                }
                emu_wgmma(d, n, a, 0, bd, true);
            } else {
                emu_wgmma(d, n, nullptr, make_desc(aBase[g] + kk * 32, 16, aSbo), bd, false);
            }
        }
        emu_wgmma_commit();
        for (int i = 0; i < n / 2; i++) early[tid * n / 2 + i] = d[i];
        emu_wgmma_wait(0);
        for (int i = 0; i < n / 2; i++) got[tid * n / 2 + i] = d[i];
    }, 256);
    for (int tid = 0; tid < 256; tid++)
        for (int i = 0; i < n / 2; i++) {
            const int g = tid / 128, warp = (tid % 128) / 32, lane = tid % 32;
            const int m = 16 * warp + (lane >> 2) + (i % 4 < 2 ? 0 : 8), j = 8 * (i / 4) + 2 * (lane % 4) + (i & 1);
            double want = C[(g * 64 + m) * n + j], mag = std::fabs(want);
            for (int k = 0; k < K; k++) {
                const double p = (double)A[(g * 64 + m) * K + k] * Bm[k * n + j];
                want += p, mag += std::fabs(p);
            }
            const double x = got[tid * n / 2 + i];
            // fp32 recursive summation of K exact products onto C: |error| <= K u (|C| + sum |a b|)
            CHECK(std::fabs(x - want) <= K * 0x1p-24 * mag, "wgmma %s m64n%dk16 thread %d d%d (row %d col %d): %g, "
                  "want %g\n", rs ? "rs" : "ss", n, tid, i, m, j, x, want);
            if (asyncDeferred)
                CHECK(std::isnan(early[tid * n / 2 + i]), "deferred wgmma: accumulator readable before its wait\n");
        }
}

int main() {
    conversions();
    ldmatrix();
    mma();
    shuffles();
    cpAsync();
    wgmma(false, 64);
    wgmma(true, 64);
    wgmma(true, 128);
    printf("primitives: %s (%d failures; cp.async and wgmma %s)\n", failures ? "FAILED" : "ok", failures,
           asyncDeferred ? "deferred" : "immediate");
    return failures ? 1 : 0;
}
