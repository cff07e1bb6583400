// Routed attention backward, bf16, version "wgmma" (Java WGMMA): the step computations of Hopper warpgroup MMA
// (sm_90a only; elsewhere the entry points trap), run by the bodies of attn_bwd_bf16_tc.cuh with WG = true. The math,
// lists, schedules, staging sequence (cp.async double buffering, one barrier per step), row stats and outputs are
// version mma2's (attn_bwd_bf16.cuh: read it first); what changes is how the five products run. The block's 4 warps
// are one warpgroup, and each product is one wgmma sequence for the whole block, its B operand read from shared
// memory once for the 4 warps (mma2 reads every B fragment once per warp, through ldmatrix into registers, and was
// bound by shared-memory bandwidth: L1/shared 70%, tensor pipe 29%, ncu 2026-12-02):
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
    // the descriptors formed once, each k-step one add (wg_desc_add)
    const uint64_t dAX = wg_desc(aX), dBX = wg_desc(bX), dAY = wg_desc(aY), dBY = wg_desc(bY);
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        const uint32_t off = (kk >> 2) * BWD_T * 128 + (kk & 3) * 32;  // column half, 16-column step within it
        wgmma_ss_m64n64(xf, wg_desc_add(dAX, off), wg_desc_add(dBX, off));
    }
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
        const uint32_t off = (kk >> 2) * BWD_T * 128 + (kk & 3) * 32;
        wgmma_ss_m64n64(yf, wg_desc_add(dAY, off), wg_desc_add(dBY, off));
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
    const uint64_t d0 = wg_desc(b, BWD_T * 128);
#pragma unroll
    for (int kk = 0; kk < 4; kk++) {
        const uint64_t desc = wg_desc_add(d0, kk * 16 * 128);
        if constexpr (D == 128) wgmma_rs_m64n128(&acc[0][0], a[kk], desc);
        else wgmma_rs_m64n64(&acc[0][0], a[kk], desc);
    }
}

// One dK/dV step of version wgmma (the step compute of tc_dkdv_body): the staged chunk of 64 queries (rows n..
// padding) against the block's 64 keys j0 ..; warp w's accumulator rows are keys kw0 = 16 w ...:
//   S^T, dP^T (bwd_wg_pair), P^T and dS^T per warp (bwd_dkdv_elems), dV += P^T dO and dK += dS^T Q (bwd_wg_rs),
//   waited for before returning (the step after next stages into this buffer).
//   v: K, V, the chunk's Q, dO, positions and row stats, not modified;  accK, accV [D/8][4] modified
template <int D>
__device__ __forceinline__ void bwd_wg_dkdv_step(const BwdMmaTiles& v, float (&accK)[D / 8][4],
                                                 float (&accV)[D / 8][4], int j0, int kw0, int n, bool full,
                                                 int window, float sl2, int lane) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    constexpr int ND = D / 8;
    float st[4][2][4], dpt[4][2][4];
    bwd_wg_pair<D>(st, dpt, v.aK, v.aV, v.aQ, v.adO);
    uint32_t pa[4][4], da[4][4];
#pragma unroll
    for (int kq = 0; kq < 4; kq++) {
        bwd_dkdv_elems(st[kq], dpt[kq], v, kq, j0, kw0, n, full, window, sl2, lane);
        bwd_pack_a(st[kq], pa[kq]);
        bwd_pack_a(dpt[kq], da[kq]);
    }
    reg_fence_all<ND * 4>(&accV[0][0]);
    reg_fence_all<ND * 4>(&accK[0][0]);
    wg_fence();
    bwd_wg_rs<D>(accV, pa, v.adO);
    bwd_wg_rs<D>(accK, da, v.aQ);
    wg_commit();
    wg_wait0();
    reg_fence_all<ND * 4>(&accV[0][0]);
    reg_fence_all<ND * 4>(&accK[0][0]);
#endif
}

// One dQ step of version wgmma (the step compute of tc_dq_body): the staged key tile ks .. ks+63 against the block's
// 64 rows: S, dP (bwd_wg_pair), dS per warp (bwd_dq_elems; rw, allLo, allHi: the warp's rows as there), dQ += dS K
// (bwd_wg_rs), waited for before returning.   v: Q, dO, the tile's K, V, not modified;  acc [D/8][4] modified
template <int D>
__device__ __forceinline__ void bwd_wg_dq_step(const BwdMmaTiles& v, float (&acc)[D / 8][4], int ks,
                                               const BwdDqRows& rw, bool full, int window, float sl2, int lane,
                                               int allLo, int allHi) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    constexpr int ND = D / 8;
    const int c4 = lane & 3;
    float sc[4][2][4], dp[4][2][4];
    bwd_wg_pair<D>(sc, dp, v.aQ, v.adO, v.aK, v.aV);
    uint32_t da[4][4];
#pragma unroll
    for (int kk = 0; kk < 4; kk++) {
        bwd_dq_elems(sc[kk], dp[kk], ks + kk * 16, rw, full, window, sl2, c4, allLo, allHi);
        bwd_pack_a(sc[kk], da[kk]);
    }
    reg_fence_all<ND * 4>(&acc[0][0]);
    wg_fence();
    bwd_wg_rs<D>(acc, da, v.aK);
    wg_commit();
    wg_wait0();
    reg_fence_all<ND * 4>(&acc[0][0]);
#endif
}

}  // namespace swi_bf16
