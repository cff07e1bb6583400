// Routed (Switch) attention backward in bf16 on tensor cores: dQ, dK, dV (bf16 out), deterministic (no atomics:
// every output element is written by exactly one thread, which sums its terms in a fixed order).
//
//   version "mma2" (this file, Java MMA, the tensor-core backward): mma.sync m16n8k16 (bf16 x bf16 -> fp32),
//     ldmatrix from XOR-swizzled tiles (the operand patterns of attn_fwd_bf16.cuh): all five products run on tensor
//     cores with bf16 operands and fp32 accumulation; P and dS are rounded to bf16 for their products (as
//     FlashAttention does); masks, exp, dS = P (dP - delta), the final scale and the bf16 rounding run on the CUDA
//     cores. Staging uses cp.async double buffering (the next query chunk of dK/dV, the next key tile of dQ copied
//     while the current one computes; one barrier per step) and the mask test is skipped on fully visible 16 x 16
//     blocks. Version "mma" (the same without the buffering; bit-identical and slower) remains in git history only.
//   version "simt": the fp32 tiled backward templates of ../attention_backward.cuh (dkdv_v2 / dq_v2) with bf16
//     storage (In = bf16, T = float), instantiated in attn_bwd_bf16.cu: every product in fp32 on the CUDA cores.
// Both take the compacted route of every precision (listF/nF/listW/nW, ../common.cuh) and its tile schedule.
// Segment tables (spec 2.0; SEG = true, kernels <name>_seg): entry b is segment b of the table seg [5][B]
// (../common.cuh, swi_rows), S the longest segment's key count; positions are the segment's own, so visibility, key
// tiles and list chunks are those of self-attention and only the row addresses differ: query rows (Q, dO, dQ, lse,
// delta, coef) at rows.q + pos, key rows (K, V, dK, dV) at rows.k + j for j < rows.keys. dK, dV rows that lie in no
// segment are not written (the caller zeroes them).
//
// Math of one branch X in {F, W} for query i, head h, kv head g = h / G, visible key j, branch coefficient c_i
// (routed: c = 1 for the selected branch only; SOFT: c = p for F, 1 - p for W on every token):
//   p_ij  = exp(s_ij - lse_i),  s_ij = scale <q_i, k_j>          (lse_i of branch X, from the bf16 forward, fp32)
//   delta_i = c_i <dO_i, o_i>                                     (o_i of branch X: the bf16 forward output)
//   dp_ij = c_i <dO_i, v_j>,   ds_ij = p_ij (dp_ij - delta_i)
//   dv_j += c_i p_ij dO_i      dk_j += scale ds_ij q_i           dq_i += scale ds_ij k_j
// dK, dV sum over the G query heads of the group and over both branches.
//
// Shape legend: B batch, S sequence, Hq query heads, Hkv kv heads (G = Hq/Hkv), D head dim (64 or 128: the Java
// side zero-pads other D), w window. Q, dO, dQ [B,S,Hq,D] bf16; K, V, dK, dV [B,S,Hkv,D] bf16;
// lse, delta [B,S,Hq] fp32; coef [B,S] fp32 (null = 1). Visibility: full keys 0..i, window keys max(0,i-w+1)..i.
#pragma once
#include <type_traits>
#include "attn_fwd_bf16.cuh"
#include "wgmma_ops.cuh"

namespace swi_bf16 {

//
// Both kernels: 4 warps (128 threads), tiles of 64 rows x D bf16 in shared memory, XOR-swizzled (swz<CH>), loaded
// with 16-byte cp.async copies (rows past S or padding rows are zero). Operand patterns (attn_fwd_bf16.cuh, step 5):
//   A from a row-major [m][k] tile           ldsm_x4   at swz(row0 + (lane & 15), kk*2 + (lane >> 4))
//   B (two n8 tiles) from [n][k] rows        ldsm_x4   at swz(n0 + (lane >> 4)*8 + (lane & 7), kk*2 + ((lane >> 3) & 1))
//   B (two n8 tiles) from [k][n] rows        ldsm_x4_t at swz(k0 + ((lane >> 3) & 1)*8 + (lane & 7), dp*2 + (lane >> 4))
//   A from fp32 accumulators (C layout of two n8 tiles = A layout of one k16 step), rounded to bf16 (pack_bf16)
// C fragment element e of n-tile n for lane (grp = lane >> 2, c4 = lane & 3): row grp + 8*(e >> 1),
// column n*8 + 2*c4 + (e & 1).

constexpr int BWD_T = 64;     // rows per tile (keys of a dK/dV block, queries of a dQ block, chunk sizes)
constexpr int BWD_NT = 128;   // threads per block (4 warps x 16 rows)

// A view of the dynamic shared memory (bwd_mma2_tiles): four swizzled [64][D] bf16 tiles K, V, Q, dO, then per row
// of the staged query chunk its position (-1 = padding), lse, delta and branch coefficient.
struct BwdMmaTiles {
    uint8_t *sK, *sV, *sQ, *sdO;
    uint32_t aK, aV, aQ, adO;  // their shared-memory addresses (ldmatrix)
    int* sPos;
    float *sLse, *sDelta, *sCoef;
};
// Row r of the staged query tile (position pos, -1 = padding) of head h: its lse times log2 e, delta and branch
// coefficient (coef null = 1) into sm.sLse, sm.sDelta, sm.sCoef (zeros for padding). qRow: the flat query row of
// position 0 (rows.q of swi_rows).
//   lse, delta [B,S,Hq], coef [B,S] or null   not modified
__device__ __forceinline__ void bwd_row_stats(const BwdMmaTiles& sm, int r, int pos, const float* lse,
                                              const float* delta, const float* coef, i64 qRow, int Hq, int h) {
    const i64 rh = (qRow + max(pos, 0)) * Hq + h;
    sm.sLse[r] = pos >= 0 ? lse[rh] * 1.4426950408889634f : 0.f;
    sm.sDelta[r] = pos >= 0 ? delta[rh] : 0.f;
    sm.sCoef[r] = pos >= 0 ? (coef ? coef[qRow + pos] : 1.f) : 0.f;
}

// Stages 64 rows of a [rows,H,D] bf16 tensor (row r at flat row row0 + pos[r], head hh; pos < 0 or >= limit: zeros)
// into a swizzled tile at shared address dst, as 16-byte asynchronous copies (rows out of range zero-filled, nothing
// read); the caller commits the group and waits for it. rowsFrom(r) returns the position of row r; row0 is rows.q or
// rows.k of swi_rows, limit the entry's key count rows.keys (every query position is below it). WG: the wgmma
// layout (wg_off, wgmma_ops.cuh: [D/64 halves][64 rows][128 B], 1024-aligned tile) instead of swz<CH>.
template <int D, bool WG = false, typename Rows>
__device__ __forceinline__ void bwd_stage_async(uint32_t dst, const __nv_bfloat16* __restrict__ X, i64 row0, int H,
                                                int hh, int limit, Rows rowsFrom) {
    constexpr int CH = D / 8;
    // one 64-bit base per call and 32-bit row offsets (an entry's rows x H x D elements are below 2^31: every buffer
    // Java can hold); the chunk of a thread is the same in every sweep
    const int ch = threadIdx.x % CH, r0 = threadIdx.x / CH;
    const __nv_bfloat16* base = X + (row0 * H + hh) * D + ch * 8;
    const int stride = H * D;
#pragma unroll
    for (int u = 0; u < BWD_T * CH / BWD_NT; u++) {
        const int r = r0 + u * (BWD_NT / CH);
        const int pos = rowsFrom(r);
        const bool ok = pos >= 0 && pos < limit;
        const uint32_t off = WG ? wg_off(r, ch, BWD_T) : swz<CH>(r, ch);
        swi_cp_async16(dst + off, ok ? base + pos * stride : X, ok ? 16 : 0);
    }
}

// The cp.async flavour of bwd_row_stats (dK/dV): row r's RAW lse (the reader multiplies by log2 e), delta and
// branch coefficient, zeros for padding (pos < 0); coef null: 1 stored directly.
//   lse, delta [B,S,Hq], coef [B,S] or null   not modified
__device__ __forceinline__ void bwd_row_stats_async(const BwdMmaTiles& sm, int r, int pos, const float* lse,
                                                    const float* delta, const float* coef, i64 qRow, int Hq, int h) {
    const bool ok = pos >= 0;
    const i64 rh = (qRow + max(pos, 0)) * Hq + h;
    swi_cp_async4(sm.sLse + r, lse + rh, ok ? 4 : 0);
    swi_cp_async4(sm.sDelta + r, delta + rh, ok ? 4 : 0);
    if (coef) swi_cp_async4(sm.sCoef + r, coef + qRow + max(pos, 0), ok ? 4 : 0);
    else sm.sCoef[r] = ok ? 1.f : 0.f;
}

// The dynamic shared memory of both kernels: six swizzled [64][D] bf16 tiles, a fixed pair and two
// buffered pairs, then 3 slots of 64 positions and 2 slots of 64 x (lse, delta, coef):
//   dK/dV: tiles K, V | Q, dO (buffer 0) | Q, dO (buffer 1);  positions of 3 consecutive chunks, stats of 2
//   dQ:    tiles Q, dO | K, V (buffer 0) | K, V (buffer 1);  positions of the query tile, stats of the 2 passes
// At D = 128: 6 * 16 KB + 2304 B = 100608 B (two blocks per SM); D = 64: 51456 B.
template <int D>
constexpr int bwd_mma2_smem_bytes() {
    return 6 * BWD_T * D * 2 + (3 + 2 * 3) * BWD_T * 4;
}

// A BwdMmaTiles view of that layout: K, V at tiles kv, kv + 1; Q, dO at tiles qd, qd + 1 (tile numbers 0, 2, 4);
// positions of slot p (0..2), stats of slot st (0..1).
template <int D>
__device__ __forceinline__ BwdMmaTiles bwd_mma2_tiles(uint8_t* smem, int kv, int qd, int p, int st) {
    constexpr int TILE = BWD_T * D * 2;
    BwdMmaTiles t;
    t.sK = smem + kv * TILE;
    t.sV = t.sK + TILE;
    t.sQ = smem + qd * TILE;
    t.sdO = t.sQ + TILE;
    t.sPos = reinterpret_cast<int*>(smem + 6 * TILE) + p * BWD_T;
    t.sLse = reinterpret_cast<float*>(smem + 6 * TILE) + 3 * BWD_T + st * 3 * BWD_T;
    t.sDelta = t.sLse + BWD_T;
    t.sCoef = t.sDelta + BWD_T;
    t.aK = swi_smem_addr(t.sK);
    t.aV = swi_smem_addr(t.sV);
    t.aQ = swi_smem_addr(t.sQ);
    t.adO = swi_smem_addr(t.sdO);
    return t;
}

// The two score products of one warp's 16 rows against 16 columns, both on tensor cores (one k16 step per kk):
//   x = A_X B_X^T, y = A_Y B_Y^T  [16 x 16], two n8 accumulator tiles each (fp32)     x, y [2][4] written
// A_X, A_Y: swizzled row-major [m][k] tiles at shared addresses aX, aY, rows aRow .. aRow+15; B_X, B_Y: swizzled
// [n][k] tiles at bX, bY, rows bRow .. bRow+15 (the operand patterns above); tiles not modified.
// dK/dV: x = S^T (A = K, B = Q), y = dP^T (A = V, B = dO);  dQ: x = S (A = Q, B = K), y = dP (A = dO, B = V).
template <int D>
__device__ __forceinline__ void bwd_mma_pair(float (&x)[2][4], float (&y)[2][4], uint32_t aX, uint32_t aY,
                                             uint32_t bX, uint32_t bY, int aRow, int bRow, int lane) {
    constexpr int CH = D / 8, KD = D / 16;
#pragma unroll
    for (int n = 0; n < 2; n++)
#pragma unroll
        for (int e = 0; e < 4; e++) x[n][e] = y[n][e] = 0.f;
#pragma unroll 2
    for (int kk = 0; kk < KD; kk++) {
        uint32_t fa[4], fb[4], b0, b1, b2, b3;
        ldsm_x4(fa[0], fa[1], fa[2], fa[3], aX + swz<CH>(aRow + (lane & 15), kk * 2 + (lane >> 4)));
        ldsm_x4(fb[0], fb[1], fb[2], fb[3], aY + swz<CH>(aRow + (lane & 15), kk * 2 + (lane >> 4)));
        const uint32_t off = swz<CH>(bRow + (lane >> 4) * 8 + (lane & 7), kk * 2 + ((lane >> 3) & 1));
        ldsm_x4(b0, b1, b2, b3, bX + off);
        mma16816(x[0], fa, b0, b1);
        mma16816(x[1], fa, b2, b3);
        ldsm_x4(b0, b1, b2, b3, bY + off);
        mma16816(y[0], fb, b0, b1);
        mma16816(y[1], fb, b2, b3);
    }
}

// Two n8 accumulator tiles (C layout, fp32) as the A fragment of one k16 step, rounded to bf16.
//   x [2][4] not modified;  a [4] written
__device__ __forceinline__ void bwd_pack_a(const float (&x)[2][4], uint32_t (&a)[4]) {
    a[0] = pack_bf16(x[0][0], x[0][1]);
    a[1] = pack_bf16(x[0][2], x[0][3]);
    a[2] = pack_bf16(x[1][0], x[1][1]);
    a[3] = pack_bf16(x[1][2], x[1][3]);
}

// P^T and dS^T of one warp's 16 keys (j0 + kw0 ..) against the 16 queries kq*16 .. of the staged chunk (rows n..
// padding), in place: st = S^T -> P^T c, dpt = dP^T -> dS^T = P^T (c dP^T - delta), masked pairs 0. P^T =
// exp2(S^T scale log2e - lse log2e); the coefficient goes on P^T (dV); dS^T carries it through c dP. A 16 x 16
// block of valid queries whose every pair is visible (its corner pairs are: positions ascend along the chunk) skips
// the per-element test (the same values in the same order).
//   st, dpt [2][4] (C fragments of two n8 tiles) modified;  sm not modified
__device__ __forceinline__ void bwd_dkdv_elems(float (&st)[2][4], float (&dpt)[2][4], const BwdMmaTiles& sm, int kq,
                                               int j0, int kw0, int n, bool full, int window, float sl2, int lane) {
    const int grp = lane >> 2, c4 = lane & 3;
    auto elems = [&](auto test) {
#pragma unroll
        for (int nq = 0; nq < 2; nq++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int qc = kq * 16 + nq * 8 + 2 * c4 + (e & 1);
                const float cf = sm.sCoef[qc];
                const float lse2 = sm.sLse[qc] * 1.4426950408889634f;
                bool vis = true;
                if constexpr (decltype(test)::value) {
                    const int j = j0 + kw0 + grp + 8 * (e >> 1);
                    const int pos = qc >= n ? -1 : sm.sPos[qc];
                    vis = swi_visible(pos, j, full, window);
                }
                const float p = vis ? exp2f(fmaf(st[nq][e], sl2, -lse2)) : 0.f;
                dpt[nq][e] = p * (cf * dpt[nq][e] - sm.sDelta[qc]);
                st[nq][e] = p * cf;
            }
    };
    if (kq * 16 + 15 < n && swi_visible(sm.sPos[kq * 16], j0 + kw0 + 15, full, window) &&
        swi_visible(sm.sPos[kq * 16 + 15], j0 + kw0, full, window))
        elems(std::false_type{});
    else
        elems(std::true_type{});
}

// One staged chunk of 64 queries (rows 0 .. n-1 valid) against this warp's 16 keys j0 + kw0 .. +15 of the tile (the
// dK/dV kernels' steps 2b-2d), per group of 16 queries (kq): S^T, dP^T [16 keys x 16 queries] (bwd_mma_pair), P^T,
// dS^T, then dV += P^T dO and dK += dS^T Q over those 16 queries (one k16 step). K and V fragments are re-read per
// group: holding S^T, dP^T for all 64 queries next to the dK, dV accumulators spills at D = 128.
//   sm: K, V, the chunk's Q, dO, positions and row stats, not modified;  accK, accV [D/8][4] modified
// Rows n.. are padding whatever sPos holds; sLse holds the raw lse (multiplied by log2 e in bwd_dkdv_elems).
template <int D>
__device__ __forceinline__ void bwd_dkdv_chunk(const BwdMmaTiles& sm, float (&accK)[D / 8][4], float (&accV)[D / 8][4],
                                               int j0, int kw0, int n, bool full, int window, float sl2, int lane) {
    constexpr int CH = D / 8, ND = D / 8;
#pragma unroll 1
    for (int kq = 0; kq < BWD_T / 16; kq++) {
        float st[2][4], dpt[2][4];
        bwd_mma_pair<D>(st, dpt, sm.aK, sm.aV, sm.aQ, sm.adO, kw0, kq * 16, lane);
        bwd_dkdv_elems(st, dpt, sm, kq, j0, kw0, n, full, window, sl2, lane);
        uint32_t pa[4], da[4];
        bwd_pack_a(st, pa);
        bwd_pack_a(dpt, da);
#pragma unroll
        for (int dp = 0; dp < ND / 2; dp++) {
            uint32_t b0, b1, b2, b3;
            const uint32_t off = swz<CH>(kq * 16 + ((lane >> 3) & 1) * 8 + (lane & 7), dp * 2 + (lane >> 4));
            ldsm_x4_t(b0, b1, b2, b3, sm.adO + off);
            mma16816(accV[2 * dp], pa, b0, b1);
            mma16816(accV[2 * dp + 1], pa, b2, b3);
            ldsm_x4_t(b0, b1, b2, b3, sm.aQ + off);
            mma16816(accK[2 * dp], da, b0, b1);
            mma16816(accK[2 * dp + 1], da, b2, b3);
        }
    }
}

// The two rows grp, grp + 8 of a dQ warp's 16 (lane's C fragment rows) in one branch pass: positions (-1 = padding),
// lse times log2 e, delta, branch coefficient.
struct BwdDqRows {
    int pos0, pos1;
    float lse0, lse1, del0, del1, cf0, cf1;
};

// dS of one dQ warp's 16 rows against the 16 keys jb .. jb+15 of the staged tile, in place: sc = S -> P = exp2(S
// scale log2e - lse log2e) on visible pairs (0 elsewhere), dp = dP -> dS = P (c dP - delta). allLo, allHi: the
// warp's first and last position when all 16 rows are valid (else allHi = -1): a 16 x 16 block whose corner pairs
// (allLo, last key) and (allHi, first key) are visible has every pair visible and skips the per-element test (the
// same values in the same order).   sc, dp [2][4] (C fragments of two n8 tiles): sc modified, dp not modified
__device__ __forceinline__ void bwd_dq_elems(float (&sc)[2][4], const float (&dp)[2][4], int jb, const BwdDqRows& rw,
                                             bool full, int window, float sl2, int c4, int allLo, int allHi) {
    auto elems = [&](auto test) {
#pragma unroll
        for (int n = 0; n < 2; n++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int hr = e >> 1;
                bool vis = true;
                if constexpr (decltype(test)::value) {
                    const int j = jb + n * 8 + 2 * c4 + (e & 1);
                    vis = swi_visible(hr ? rw.pos1 : rw.pos0, j, full, window);
                }
                const float p = vis ? exp2f(fmaf(sc[n][e], sl2, -(hr ? rw.lse1 : rw.lse0))) : 0.f;
                sc[n][e] = p * ((hr ? rw.cf1 : rw.cf0) * dp[n][e] - (hr ? rw.del1 : rw.del0));
            }
    };
    if (allHi >= 0 && swi_visible(allLo, jb + 15, full, window) && swi_visible(allHi, jb, full, window))
        elems(std::false_type{});
    else
        elems(std::true_type{});
}

// One staged key tile (keys ks .. ks+63) against a dQ warp's 16 rows wr0 .. wr0+15 (the dQ kernels' steps 2b-2d),
// per group of 16 keys (kk): S, dP [16 rows x 16 keys] (bwd_mma_pair), dS = P (c dP - delta) on visible pairs, then
// dQ += dS K over those keys (one k16 step); Q and dO fragments are re-read per group (registers).
//   sm: Q, dO, the tile's K, V, not modified;  acc [D/8][4] modified
// allLo, allHi: as bwd_dq_elems.
template <int D>
__device__ __forceinline__ void bwd_dq_tile(const BwdMmaTiles& sm, float (&acc)[D / 8][4], int ks, int wr0,
                                            const BwdDqRows& rw, bool full, int window, float sl2, int lane, int allLo,
                                            int allHi) {
    constexpr int CH = D / 8, ND = D / 8;
    const int c4 = lane & 3;
#pragma unroll 1
    for (int kk = 0; kk < BWD_T / 16; kk++) {
        float sc[2][4], dp[2][4];
        bwd_mma_pair<D>(sc, dp, sm.aQ, sm.adO, sm.aK, sm.aV, wr0, kk * 16, lane);
        bwd_dq_elems(sc, dp, ks + kk * 16, rw, full, window, sl2, c4, allLo, allHi);
        uint32_t da[4];
        bwd_pack_a(sc, da);
#pragma unroll
        for (int dpi = 0; dpi < ND / 2; dpi++) {
            uint32_t b0, b1, b2, b3;
            ldsm_x4_t(b0, b1, b2, b3, sm.aK + swz<CH>(kk * 16 + ((lane >> 3) & 1) * 8 + (lane & 7), dpi * 2 + (lane >> 4)));
            mma16816(acc[2 * dpi], da, b0, b1);
            mma16816(acc[2 * dpi + 1], da, b2, b3);
        }
    }
}

// The last step of the dK/dV kernels: a warp's 16 key rows jw .. jw+15 (keys past rows.keys not stored), dK =
// scale * accK, dV = accV, rounded once to bf16 (C fragment rows grp, grp + 8 of the lane).
//   accK, accV [D/8][4] not modified;  dK, dV [rows,Hkv,D] those rows of kv head g written
template <int D>
__device__ __forceinline__ void bwd_store_dkdv(const float (&accK)[D / 8][4], const float (&accV)[D / 8][4],
                                               __nv_bfloat16* __restrict__ dK, __nv_bfloat16* __restrict__ dV,
                                               const SwiRows& R, int jw, int Hkv, int g, float scale, int lane) {
    const int grp = lane >> 2, c4 = lane & 3;
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
        const int j = jw + grp + 8 * hr;
        if (j >= R.keys) continue;
        const i64 row = ((R.k + j) * Hkv + g) * D;
#pragma unroll
        for (int nd = 0; nd < D / 8; nd++) {
            *reinterpret_cast<uint32_t*>(dK + row + nd * 8 + 2 * c4) =
                pack_bf16(accK[nd][2 * hr] * scale, accK[nd][2 * hr + 1] * scale);
            *reinterpret_cast<uint32_t*>(dV + row + nd * 8 + 2 * c4) =
                pack_bf16(accV[nd][2 * hr], accV[nd][2 * hr + 1]);
        }
    }
}

// The last step of the dQ kernels: the lane's two rows (positions pos0, pos1; -1 = padding, not stored) of head h,
// dQ = scale * acc rounded once to bf16.   acc [D/8][4] not modified;  dQ [rows,Hq,D] those rows written
template <int D>
__device__ __forceinline__ void bwd_store_dq(const float (&acc)[D / 8][4], __nv_bfloat16* __restrict__ dQ,
                                             const SwiRows& R, int pos0, int pos1, int Hq, int h, float scale,
                                             int lane) {
    const int c4 = lane & 3;
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
        const int pos = hr ? pos1 : pos0;
        if (pos < 0) continue;
        const i64 row = ((R.q + pos) * Hq + h) * D;
#pragma unroll
        for (int nd = 0; nd < D / 8; nd++)
            *reinterpret_cast<uint32_t*>(dQ + row + nd * 8 + 2 * c4) =
                pack_bf16(acc[nd][2 * hr] * scale, acc[nd][2 * hr + 1] * scale);
    }
}

// ---- dK, dV --------------------------------------------------------------------------------------------------
// Block = (key tile kt of 64 keys, kv head g, batch b); blockIdx.x = (kt * B + b) * Hkv + g (key tile 0, the one
// seen by the most queries, first). Warp w owns keys j0 + 16w .. +15 and accumulates their dK, dV rows [16 x D] in
// registers over: branch F then W (a null count skips the branch); the G query heads of the group; chunks of 64
// list entries whose positions can see the tile (full: pos >= j0; window: j0 <= pos < jmax + w). Per chunk, with
// Q, dO of the chunk staged:
//   S^T  = K Q^T   [16 x 64]   A = K rows,  B = Q rows ([n][k])
//   dP^T = V dO^T  [16 x 64]   A = V rows,  B = dO rows
//   P^T  = exp2(S^T scale log2e - lse log2e) on visible pairs, dS^T = P^T (c dP^T - delta); P^T *= c
//   dV  += P^T dO  [16 x D]    A = P^T (accumulators), B = dO ([k][n] = query-major rows, .trans)
//   dK  += dS^T Q  [16 x D]    A = dS^T,               B = Q
// Finally dK *= scale, both rounded once to bf16. Grid: ceil(S/64) * Hkv * B blocks, 128 threads,
// bwd_mma2_smem_bytes<D>() dynamic shared bytes. SEG: entry b is segment b (B segments, S their largest kLen); a key
// tile past the segment's keys returns.

// The chunk sequence of one dK/dV block flattened, so prefetch runs across branch and head changes: branch F then W,
// per branch the G heads of the group, per head nc chunks of 64 list entries lo, lo + 64, .. < hi (those that see the
// tile, swi_key_branch). Step t -> (branch, head, first entry c0, rows n <= 64).
struct BwdChunkSteps {
    int lo0, hi0, nc0, lo1, hi1, nc1;  // per branch; nc = 0: branch skipped (null count or no entry sees the tile)
    int h0, split, total;               // the group's first head; steps of branch F (G * nc0); all steps
    struct Step {
        int br, h, c0, n;
    };
    __device__ __forceinline__ Step at(int t) const {
        const int br = t >= split ? 1 : 0;
        const int u = br ? t - split : t, nc = br ? nc1 : nc0;
        const int hq = u / nc;
        const int c0 = (br ? lo1 : lo0) + (u - hq * nc) * BWD_T;
        return {br, h0 + hq, c0, min(BWD_T, (br ? hi1 : hi0) - c0)};
    }
};

}  // namespace swi_bf16
