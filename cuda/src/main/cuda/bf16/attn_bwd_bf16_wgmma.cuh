// Routed attention backward, bf16, version "wgmma" (Java WGMMA): Hopper warpgroup MMA (sm_90a only; elsewhere the
// entry points trap). The math, lists, schedules, staging sequence (cp.async double buffering, one barrier per
// step), row stats and outputs are version mma2's (attn_bwd_bf16.cuh: read it first); what changes is how the five
// products run. The block's 4 warps are one warpgroup, and each product is one wgmma sequence for the whole block,
// its B operand read from shared memory once for the 4 warps (mma2 reads every B fragment once per warp, through
// ldmatrix into registers, and was bound by shared-memory bandwidth: L1/shared 70%, tensor pipe 29%, ncu 2026-12-02):
//
//   dK/dV block (64 keys j0 .., a chunk of 64 queries staged):
//     S^T  [64 x 64] = K Q^T      wgmma m64n64k16 SS   A = K tile, B = Q chunk (both K-major)   D/16 steps
//     dP^T [64 x 64] = V dO^T     wgmma m64n64k16 SS   A = V tile, B = dO chunk
//     dV   [64 x D] += P^T dO     wgmma m64nDk16  RS   A = P^T (registers), B = dO chunk (MN-major)   4 steps
//     dK   [64 x D] += dS^T Q     wgmma m64nDk16  RS   A = dS^T,            B = Q chunk (MN-major)
//   dQ block (64 query rows, a key tile of 64 staged):
//     S  = Q K^T, dP = dO V^T     SS   A = Q, dO (the block's rows), B = K, V tile (K-major)
//     dQ [64 x D] += dS K         RS   A = dS (registers), B = K tile (MN-major)
//
// Tiles use the wgmma layout of wgmma_ops.cuh ([D/64 halves][64 rows][128 B], 128-byte swizzle, 1024-aligned), in
// which one staged tile serves as a K-major operand (rows = M or N) and as an MN-major one (rows = K), as K and V do
// in attn_fwd_bf16_wgmma.cuh. The accumulators of an m64 wgmma give warp w rows 16w .. 16w+15 in the mma.sync C
// layout, so the element steps (bwd_dkdv_elems, bwd_dq_elems), the A packing (bwd_pack_a) and the stores are mma2's
// and run per warp. A dQ warp whose rows see none of a tile still joins the warpgroup's products: its masked pairs
// give P = dS = 0 exactly. Shared memory: mma2's layout on a 1024-aligned base (bwd_wgmma_smem_bytes).
#pragma once
#include "attn_bwd_bf16.cuh"

namespace swi_bf16 {

// mma2's shared layout plus the alignment slack of the swizzled tiles.
template <int D>
constexpr int bwd_wgmma_smem_bytes() {
    return 1024 + bwd_mma2_smem_bytes<D>();
}

// The dynamic shared memory rounded up to 1024 bytes (the 128-byte swizzle is a function of the address).
__device__ __forceinline__ uint8_t* bwd_wg_base(uint8_t* smem_raw) {
    const uint32_t a = swi_smem_addr(smem_raw);
    return smem_raw + (((a + 1023u) & ~1023u) - a);
}

// The two score products of the warpgroup, issued together and waited for:
//   x = A_X B_X^T, y = A_Y B_Y^T  [64 x 64] (fp32; x[kq][nq][e] = n8 tile 2 kq + nq, C element e)   written
// A_X, A_Y, B_X, B_Y: 64-row tiles at shared addresses aX, aY, bX, bY (wgmma layout, K-major), not modified.
// dK/dV: x = S^T (A = K, B = Q), y = dP^T (A = V, B = dO);  dQ: x = S (A = Q, B = K), y = dP (A = dO, B = V).
template <int D>
__device__ __forceinline__ void bwd_wg_pair(float (&x)[4][2][4], float (&y)[4][2][4], uint32_t aX, uint32_t aY,
                                            uint32_t bX, uint32_t bY) {
    float* xf = &x[0][0][0];
    float* yf = &y[0][0][0];
#pragma unroll
    for (int i = 0; i < 32; i++) xf[i] = yf[i] = 0.f;
    reg_fence_all<32>(xf);  // the zeros before the fence (else ptxas injects a warpgroup.arrive, C7519)
    reg_fence_all<32>(yf);
    wg_fence();
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        const uint32_t off = (kk >> 2) * BWD_T * 128 + (kk & 3) * 32;  // column half, 16-column step within it
        wgmma_ss_m64n64(xf, wg_desc(aX + off), wg_desc(bX + off));
    }
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        const uint32_t off = (kk >> 2) * BWD_T * 128 + (kk & 3) * 32;
        wgmma_ss_m64n64(yf, wg_desc(aY + off), wg_desc(bY + off));
    }
    wg_commit();
    wg_wait0();
    reg_fence_all<32>(xf);
    reg_fence_all<32>(yf);
}

// acc [64 x D] += A [64 x 64] B: A in registers (a[kk] = k16 step kk, bwd_pack_a), B the 64-row tile at shared
// address b read MN-major (rows = the k index; its two 64-column halves 64 rows apart). Issued only: the caller
// fences, commits and waits.   a, the tile not modified;  acc [D/8][4] modified (asynchronously)
template <int D>
__device__ __forceinline__ void bwd_wg_rs(float (&acc)[D / 8][4], const uint32_t (&a)[4][4], uint32_t b) {
#pragma unroll
    for (int kk = 0; kk < 4; kk++) {
        const uint64_t desc = wg_desc(b + kk * 16 * 128, BWD_T * 128);
        if constexpr (D == 128) wgmma_rs_m64n128(&acc[0][0], a[kk], desc);
        else wgmma_rs_m64n64(&acc[0][0], a[kk], desc);
    }
}

// ---- dK, dV --------------------------------------------------------------------------------------------------
// mma2_dkdv_body's block, grid, chunk sequence and staging; per step the products above on the warpgroup. Grid:
// ceil(S/64) * Hkv * B blocks (SEG: as mma2), 128 threads, bwd_wgmma_smem_bytes<D>() dynamic shared bytes.
template <int D, bool SEG = false>
__device__ __forceinline__ void wgmma_dkdv_body(const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K,
                                                const __nv_bfloat16* __restrict__ V,
                                                const __nv_bfloat16* __restrict__ dO, const int* __restrict__ listF,
                                                const int* __restrict__ nF, const int* __restrict__ listW,
                                                const int* __restrict__ nW, const float* __restrict__ lseF,
                                                const float* __restrict__ lseW, const float* __restrict__ deltaF,
                                                const float* __restrict__ deltaW, const float* __restrict__ coefF,
                                                const float* __restrict__ coefW, __nv_bfloat16* __restrict__ dK,
                                                __nv_bfloat16* __restrict__ dV, int B, int S, int Hq, int Hkv,
                                                int window, float scale, const int* __restrict__ seg = nullptr) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    constexpr int ND = D / 8;
    extern __shared__ __align__(128) uint8_t smem[];
    uint8_t* const base = bwd_wg_base(smem);

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = blockIdx.x % Hkv;
    const int b = (blockIdx.x / Hkv) % B;
    const int kt = blockIdx.x / (Hkv * B);
    const int j0 = kt * BWD_T;
    const SwiRows R = swi_rows<SEG>(seg, B, S, b);
    if (j0 >= R.keys) return;
    const int jmax = min(j0 + BWD_T, R.keys) - 1;
    const int G = Hq / Hkv;
    const float sl2 = scale * 1.4426950408889634f;
    const int kw0 = warp * 16;  // this warp's first key row in the tile (= its accumulator rows)

    // 1. the flat chunk sequence (as mma2)
    BwdChunkSteps steps;
    {
        SwiKeyBranch<float> X;
        const bool f = swi_key_branch(0, listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF, coefW, b, R.list,
                                      j0, jmax, window, X);
        steps.lo0 = f ? X.lo : 0, steps.hi0 = f ? X.hi : 0;
        const bool w = swi_key_branch(1, listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF, coefW, b, R.list,
                                      j0, jmax, window, X);
        steps.lo1 = w ? X.lo : 0, steps.hi1 = w ? X.hi : 0;
        steps.nc0 = max(0, steps.hi0 - steps.lo0 + BWD_T - 1) / BWD_T;
        steps.nc1 = max(0, steps.hi1 - steps.lo1 + BWD_T - 1) / BWD_T;
        steps.h0 = g * G, steps.split = G * steps.nc0, steps.total = G * (steps.nc0 + steps.nc1);
    }
    // (the step count steers the wgmma loop: broadcast so that ptxas can prove it warp-uniform, else it serializes
    //  every wgmma, warning C7520)
    const int T = __shfl_sync(0xffffffffu, steps.total, 0);
    auto stagePos = [&](int t) {
        if (tid >= BWD_T) return;
        const BwdChunkSteps::Step s = steps.at(t);
        const int* list = (s.br ? listW : listF) + R.list;
        swi_cp_async4(bwd_mma2_tiles<D>(base, 0, 2, t % 3, 0).sPos + tid, list + s.c0 + (tid < s.n ? tid : 0),
                      tid < s.n ? 4 : 0);
    };
    auto stageRows = [&](int t) {
        const BwdChunkSteps::Step s = steps.at(t);
        const BwdMmaTiles v = bwd_mma2_tiles<D>(base, 0, 2 + 2 * (t & 1), t % 3, t & 1);
        auto rowPos = [&](int r) { return r < s.n ? v.sPos[r] : -1; };
        bwd_stage_async<D, true>(v.aQ, Q, R.q, Hq, s.h, R.keys, rowPos);
        bwd_stage_async<D, true>(v.adO, dO, R.q, Hq, s.h, R.keys, rowPos);
        if (tid < BWD_T)
            bwd_row_stats_async(v, tid, rowPos(tid), s.br ? lseW : lseF, s.br ? deltaW : deltaF,
                                s.br ? coefW : coefF, R.q, Hq, s.h);
    };

    // 2. prologue (as mma2): the key tile and the positions of steps 0, 1; then step 0's rows
    {
        const BwdMmaTiles v = bwd_mma2_tiles<D>(base, 0, 2, 0, 0);
        bwd_stage_async<D, true>(v.aK, K, R.k, Hkv, g, R.keys, [&](int r) { return j0 + r; });
        bwd_stage_async<D, true>(v.aV, V, R.k, Hkv, g, R.keys, [&](int r) { return j0 + r; });
    }
    if (T > 0) stagePos(0);
    if (T > 1) stagePos(1);
    swi_cp_async_commit();
    swi_cp_async_wait<0>();
    __syncthreads();
    if (T > 0) stageRows(0);
    swi_cp_async_commit();

    float accK[ND][4], accV[ND][4];
#pragma unroll
    for (int nd = 0; nd < ND; nd++)
#pragma unroll
        for (int e = 0; e < 4; e++) accK[nd][e] = accV[nd][e] = 0.f;

    // 3. the steps: wait, make the copies visible to the async proxy, barrier, stage the next, compute this one
#pragma unroll 1
    for (int t = 0; t < T; t++) {
        swi_cp_async_wait<0>();
        fence_proxy_async();  // cp.async (generic proxy) writes -> wgmma (async proxy) reads
        __syncthreads();
        if (t + 1 < T) stageRows(t + 1);
        if (t + 2 < T) stagePos(t + 2);
        swi_cp_async_commit();
        const BwdChunkSteps::Step s = steps.at(t);
        const BwdMmaTiles v = bwd_mma2_tiles<D>(base, 0, 2 + 2 * (t & 1), t % 3, t & 1);
        float st[4][2][4], dpt[4][2][4];
        bwd_wg_pair<D>(st, dpt, v.aK, v.aV, v.aQ, v.adO);
        uint32_t pa[4][4], da[4][4];
#pragma unroll
        for (int kq = 0; kq < 4; kq++) {
            bwd_dkdv_elems(st[kq], dpt[kq], v, kq, j0, kw0, s.n, s.br == 0, window, sl2, lane);
            bwd_pack_a(st[kq], pa[kq]);
            bwd_pack_a(dpt[kq], da[kq]);
        }
        reg_fence_all<ND * 4>(&accV[0][0]);
        reg_fence_all<ND * 4>(&accK[0][0]);
        wg_fence();
        bwd_wg_rs<D>(accV, pa, v.adO);
        bwd_wg_rs<D>(accK, da, v.aQ);
        wg_commit();
        wg_wait0();  // before the next barrier: the step after next stages into this buffer
        reg_fence_all<ND * 4>(&accV[0][0]);
        reg_fence_all<ND * 4>(&accK[0][0]);
    }

    // 4. store this warp's 16 key rows (as mma2)
    bwd_store_dkdv<D>(accK, accV, dK, dV, R, j0 + kw0, Hkv, g, scale, lane);
#else
    asm volatile("trap;");  // built without sm_90a (PTX for other GPUs): callers must pick the mma2 kernels
#endif
}

// ---- dQ ------------------------------------------------------------------------------------------------------
// mma2_dq_body's block, tile schedule, passes and staging; per key tile the products above on the warpgroup. Grid:
// (ceil(S/64) + 1) * Hq * B blocks (SEG: as mma2), 128 threads, bwd_wgmma_smem_bytes<D>() dynamic shared bytes.
template <int D, bool SEG = false>
__device__ __forceinline__ void wgmma_dq_body(const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K,
                                              const __nv_bfloat16* __restrict__ V,
                                              const __nv_bfloat16* __restrict__ dO, const int* __restrict__ listF,
                                              const int* __restrict__ nF, const int* __restrict__ listW,
                                              const int* __restrict__ nW, const float* __restrict__ lseF,
                                              const float* __restrict__ lseW, const float* __restrict__ deltaF,
                                              const float* __restrict__ deltaW, const float* __restrict__ coefF,
                                              const float* __restrict__ coefW, __nv_bfloat16* __restrict__ dQ, int B,
                                              int S, int Hq, int Hkv, int window, float scale, int both,
                                              const int* __restrict__ seg = nullptr) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    constexpr int ND = D / 8;
    extern __shared__ __align__(128) uint8_t smem[];
    uint8_t* const base = bwd_wg_base(smem);
    const BwdMmaTiles sq = bwd_mma2_tiles<D>(base, 2, 0, 0, 0);  // Q, dO (tiles 0, 1), the tile's positions

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int grp = lane >> 2, c4 = lane & 3;

    // 1. the work slot, the positions and the row stats of every pass (as mma2)
    SwiTile tile;
    if (!swi_pick_tile<SEG>(BWD_T, Hq, B, S, listF, nF, listW, nW, tile, seg)) return;
    const int h = tile.h, cnt = tile.count;
    const SwiRows R = tile.rows;
    const int passLo = both || tile.full ? 0 : 1, passHi = both || !tile.full ? 2 : 1;
    if (tid < BWD_T) {
        const int pos = tid < cnt ? tile.list[tile.start + tid] : -1;
        sq.sPos[tid] = pos;
        for (int pass = passLo; pass < passHi; pass++)
            bwd_row_stats(bwd_mma2_tiles<D>(base, 2, 0, 0, pass), tid, pos, pass ? lseW : lseF,
                          pass ? deltaW : deltaF, pass ? coefW : coefF, R.q, Hq, h);
    }
    __syncthreads();
    bwd_stage_async<D, true>(sq.aQ, Q, R.q, Hq, h, R.keys, [&](int r) { return sq.sPos[r]; });
    bwd_stage_async<D, true>(sq.adO, dO, R.q, Hq, h, R.keys, [&](int r) { return sq.sPos[r]; });

    const int g = h / (Hq / Hkv);
    const int wr0 = warp * 16;
    const int pos0 = sq.sPos[wr0 + grp], pos1 = sq.sPos[wr0 + grp + 8];
    const int pFirst = sq.sPos[0], pLast = sq.sPos[cnt - 1];
    const int wFirst = sq.sPos[wr0], wLast = wr0 < cnt ? sq.sPos[min(wr0 + 15, cnt - 1)] : -1;
    const int allHi = wr0 + 15 < cnt ? wLast : -1;
    const float sl2 = scale * 1.4426950408889634f;

    // 2. the key tiles of the passes (as mma2); the count broadcast for ptxas (see the dK/dV body)
    const int ksW = (max(0, pFirst - window + 1) / BWD_T) * BWD_T;
    const int ksA = passLo == 0 ? 0 : ksW;
    const int nA = (pLast - ksA) / BWD_T + 1;
    const int T = __shfl_sync(0xffffffffu, nA + (passHi - passLo == 2 ? (pLast - ksW) / BWD_T + 1 : 0), 0);
    auto keyTile = [&](int t) { return t < nA ? ksA + t * BWD_T : ksW + (t - nA) * BWD_T; };
    auto stageKV = [&](int t) {
        const BwdMmaTiles v = bwd_mma2_tiles<D>(base, 2 + 2 * (t & 1), 0, 0, 0);
        const int ks = keyTile(t);
        bwd_stage_async<D, true>(v.aK, K, R.k, Hkv, g, R.keys, [&](int r) { return ks + r; });
        bwd_stage_async<D, true>(v.aV, V, R.k, Hkv, g, R.keys, [&](int r) { return ks + r; });
    };
    stageKV(0);
    swi_cp_async_commit();

    float acc[ND][4];
#pragma unroll
    for (int nd = 0; nd < ND; nd++)
#pragma unroll
        for (int e = 0; e < 4; e++) acc[nd][e] = 0.f;

#pragma unroll 1
    for (int t = 0; t < T; t++) {
        swi_cp_async_wait<0>();
        fence_proxy_async();
        __syncthreads();
        if (t + 1 < T) stageKV(t + 1);
        swi_cp_async_commit();
        const int pass = t < nA ? passLo : 1;
        const bool full = pass == 0;
        const int ks = keyTile(t);
        const BwdMmaTiles v = bwd_mma2_tiles<D>(base, 2 + 2 * (t & 1), 0, 0, pass);
        const BwdDqRows rw{pos0, pos1, v.sLse[wr0 + grp], v.sLse[wr0 + grp + 8], v.sDelta[wr0 + grp],
                           v.sDelta[wr0 + grp + 8], v.sCoef[wr0 + grp], v.sCoef[wr0 + grp + 8]};
        float sc[4][2][4], dp[4][2][4];
        bwd_wg_pair<D>(sc, dp, v.aQ, v.adO, v.aK, v.aV);
        uint32_t da[4][4];
#pragma unroll
        for (int kk = 0; kk < 4; kk++) {
            bwd_dq_elems(sc[kk], dp[kk], ks + kk * 16, rw, full, window, sl2, c4, wFirst, allHi);
            bwd_pack_a(sc[kk], da[kk]);
        }
        reg_fence_all<ND * 4>(&acc[0][0]);
        wg_fence();
        bwd_wg_rs<D>(acc, da, v.aK);
        wg_commit();
        wg_wait0();  // before the next barrier: the step after next stages into this buffer
        reg_fence_all<ND * 4>(&acc[0][0]);
    }

    // 3. store the warp's rows (as mma2)
    bwd_store_dq<D>(acc, dQ, R, pos0, pos1, Hq, h, scale, lane);
#else
    asm volatile("trap;");
#endif
}

}  // namespace swi_bf16
