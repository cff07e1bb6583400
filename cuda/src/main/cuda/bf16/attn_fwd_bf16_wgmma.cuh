// Routed attention forward, bf16, version 3: Hopper warpgroup MMA (wgmma, sm_90a), cp.async ring, compacted
// routes. Same math, layouts, lists, tile schedule and outputs as version 1 (attn_fwd_bf16.cuh: read it first);
// what changes is how the two products are computed:
//
//   S [64 x 64] = Q_wg [64 x D] K_tile^T       wgmma m64n64k16, A = Q (smem), B = K (smem), D/16 steps
//   O [64 x D] += P [64 x 64] V_tile [64 x D]   wgmma m64nDk16,  A = P (registers), B = V (smem), 4 steps
//
// One warpgroup (4 warps, 128 threads) owns 64 query rows of the block's BM = 64*NWG rows; warp w of the
// warpgroup owns rows 16w..16w+15, and the accumulator fragments have the mma.sync C layout, so the masking and
// online softmax are version 1's. Key tiles a whole warpgroup cannot see are skipped.
//
// Per key tile the warpgroup runs one of two bodies: the masked one where some of its rows miss some key of the tile
// (the diagonal and window-edge tiles), the unmasked one elsewhere; and each wgmma descriptor is formed once (Q per
// block, K and V per tile), a k-step advancing it by one add (wg_desc_add). ncu counted 173.7 M executed instructions
// at 4K full causal when every score took the visibility test as a select and every k-step rebuilt its descriptors,
// 122.9 M now, for the same products and arithmetic in the same order (bench/results/2026-12-02-bf16-forward-trim.md).
//
// Shared-memory operands use the wgmma "K-major, 128-byte swizzle" canonical layout: rows of 64 bf16 (128 B),
// 8-row atoms of 1024 B (1024-aligned), 16-byte chunk c of row r stored at chunk c ^ (r & 7). A D-wide operand is
// split into D/64 column halves stored one after the other. The B operand of the second product is V itself,
// staged exactly as K ([D/64 halves][64 key rows][128 B]) and read as an MN-major B (wgmma's transposed-B
// immediate): no V^T copy, and version 1's arguments, so segment tables (SEG, kernels <name>_seg) run on it as on
// version 1. (Version 2 read a V^T copy written by a transpose pass each call; version 3 was 7-12% faster at every
// point measured and version 2 lives in git history: bench/results/2026-12-02-bf16-v3-pipe.md.)
// MN-major descriptor (128-byte swizzle): the 8-row groups along K (keys) SBO = 1024 B apart, the 64-wide column
// halves along N (D) LBO = 64 rows * 128 B apart; k-step kk of a key tile starts 16 rows (2048 B) further.
// A version that overlapped P V of tile t with the softmax of tile t+1 was slower (ptxas serializes it, C7514) and
// lives in git history (until commit 8836669).
#pragma once
#include <type_traits>
#include "attn_fwd_bf16.cuh"
#include "wgmma_ops.cuh"

namespace swi_bf16 {

template <int D, int NWG, int STAGES>
constexpr int wg_smem_bytes() {
    return 1024 /*alignment slack*/ + 64 * NWG * D * 2 /*Q*/ + STAGES * 2 * 64 * D * 2 /*K, V*/ + 64 * NWG * 4;
}

// Q [B,S,Hq,D], K, V [B,S,Hkv,D] bf16, not modified; O [B,S,Hq,D] bf16, LSE [B,S,Hq]: written at the listed rows;
// listF, nF, listW, nW: the compaction, not modified. SEG: entry b is segment b of the table seg (../common.cuh,
// swi_rows), Q, O, LSE flat query rows, K, V flat key rows, S the longest segment's key count.
template <int D, int NWG, int STAGES, bool SEG = false>
__device__ __forceinline__ void routed_fwd_wgmma_body(const __nv_bfloat16* __restrict__ Q,
                                                      const __nv_bfloat16* __restrict__ K,
                                                      const __nv_bfloat16* __restrict__ V,
                                                      __nv_bfloat16* __restrict__ O, float* __restrict__ LSE,
                                                      const int* __restrict__ listF, const int* __restrict__ nF,
                                                      const int* __restrict__ listW, const int* __restrict__ nW,
                                                      int B, int S, int Hq, int Hkv, int window,
                                                      float scale_log2, const int* __restrict__ seg = nullptr) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    constexpr int BM = 64 * NWG;   // queries per block
    constexpr int NT = 128 * NWG;  // threads per block
    constexpr int CH = D / 8;      // 16-byte chunks per Q/K row
    constexpr int ND = D / 8;      // n8 tiles of the output accumulator
    constexpr int NK = BN / 8;     // n8 tiles of the score accumulator
    constexpr int TILE = 64 * D * 2;  // bytes of one K tile (= one V tile)
    static_assert(D == 64 || D == 128, "wgmma version: D in {64, 128}");

    extern __shared__ uint8_t smem_raw[];
    const uint32_t base = (swi_smem_addr(smem_raw) + 1023u) & ~1023u;
    uint8_t* sbase = smem_raw + (base - swi_smem_addr(smem_raw));
    const uint32_t aQ = base, aK = aQ + BM * D * 2, aV = aK + STAGES * TILE;
    int* sIdx = reinterpret_cast<int*>(sbase + BM * D * 2 + STAGES * 2 * TILE);

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, wg = warp >> 2;
    const int grp = lane >> 2, c = lane & 3;

    // 1. the work slot (swi_pick_tile, as version 1)
    SwiTile tile;
    if (!swi_pick_tile<SEG>(BM, Hq, B, S, listF, nF, listW, nW, tile, seg)) return;
    const int h = tile.h, cnt = tile.count;
    const SwiRows R = tile.rows;  // where the entry's rows live (../common.cuh)
    const bool full = tile.full;
    const int* ord = tile.list + tile.start;
    for (int r = tid; r < BM; r += NT) sIdx[r] = ord[min(r, cnt - 1)];
    __syncthreads();

    // 2. key-tile ranges of the block and of this warpgroup
    // (values that steer wgmma control flow are broadcast with __shfl_sync so that ptxas can prove them
    //  warp-uniform; otherwise it serializes every wgmma, warning C7520)
    const int pFirst = sIdx[0], pLast = sIdx[BM - 1];
    const int lo = full ? 0 : max(0, pFirst - window + 1);
    const int ktHi = __shfl_sync(0xffffffffu, pLast / BN, 0), ktLo = lo / BN;
    const int nTiles = __shfl_sync(0xffffffffu, ktHi - ktLo + 1, 0);
    const int gRow0 = __shfl_sync(0xffffffffu, wg, 0) * 64;
    const int gFirst = sIdx[gRow0];
    const int gLast = __shfl_sync(0xffffffffu, sIdx[gRow0 + 63], 0);
    const int gLo = __shfl_sync(0xffffffffu, full ? 0 : max(0, gFirst - window + 1), 0);
    const int wRow0 = gRow0 + (warp & 3) * 16;
    const int pos0 = sIdx[wRow0 + grp], pos1 = sIdx[wRow0 + grp + 8];

    const int g = h / (Hq / Hkv);
    const size_t kvRow = (size_t)Hkv * D;
    const int kvRowI = Hkv * D;
    const __nv_bfloat16* Kb = K + (size_t)R.k * kvRow + (size_t)g * D;
    const __nv_bfloat16* Vb = V + (size_t)R.k * kvRow + (size_t)g * D;

    // 3. async loads: Q tile (gathered rows), K tile and V tile into a STAGES-deep ring
    auto load_kv = [&](int it) {
        const int kt = ktHi - it;
        const int stage = it % STAGES;
        const uint32_t dK = aK + stage * TILE, dV = aV + stage * TILE;
#pragma unroll
        for (int u = 0; u < (64 * CH + NT - 1) / NT; u++) {
            const int n = tid + u * NT;
            if (n < 64 * CH) {
                const int r = n / CH, ch = n % CH;  // K: key row r, chunk ch of D
                const int j = kt * BN + r;
                const bool ok = j < R.keys;
                // (32-bit element offsets: a segment's S*Hkv*D is below 2^31 for every shape Java can hold)
                swi_cp_async16(dK + wg_off(r, ch, 64), Kb + ((ok ? j : 0) * kvRowI + ch * 8), ok ? 16 : 0);
                // V: key row r, chunk ch, the layout of K
                swi_cp_async16(dV + wg_off(r, ch, 64), Vb + ((ok ? j : 0) * kvRowI + ch * 8), ok ? 16 : 0);
            }
        }
    };
    {
        const __nv_bfloat16* Qb = Q + (size_t)R.q * Hq * D + (size_t)h * D;
#pragma unroll
        for (int u = 0; u < BM * CH / NT; u++) {
            const int n = tid + u * NT;
            const int r = n / CH, ch = n % CH;
            swi_cp_async16(aQ + wg_off(r, ch, BM), Qb + (size_t)sIdx[r] * Hq * D + ch * 8, 16);
        }
    }
    // Ring schedule: prefetch distance PF = STAGES-1.
    constexpr int PF = STAGES - 1;
    ring_prologue<PF>(nTiles, load_kv);

    // 4. running state (rows grp and grp+8 of this warp's 16); P in the A-fragment layout
    float acc[ND * 4];
#pragma unroll
    for (int n = 0; n < ND * 4; n++) acc[n] = 0.f;
    float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;
    uint32_t pa[4][4];

    const uint64_t dQ0 = wg_desc(aQ + gRow0 * 128);  // this warpgroup's rows of Q
    auto issue_pv = [&](uint32_t tV) {
        const uint64_t dV0 = wg_desc(tV, 64 * 128);
#pragma unroll
        for (int kk = 0; kk < 4; kk++) {
            // the V tile: MN-major, k-step kk 16 rows further
            const uint64_t dv = wg_desc_add(dV0, kk * 2048);
            if (D == 128) wgmma_rs_m64n128(acc, pa[kk], dv);
            else wgmma_rs_m64n64(acc, pa[kk], dv);
        }
        wg_commit();
    };
    auto fence_acc = [&]() {
#pragma unroll
        for (int n = 0; n < ND * 4; n++) reg_fence(acc[n]);
    };

    // 5a-5c, one key tile (ks; its K, V at shared tK, tV), in two bodies: MASKED where some row of the warpgroup
    // misses some key of the tile (the mask is one branch per warpgroup and tile; applied to every score of every
    // tile, as a select, it was a quarter of the loop's instructions, ncu 2026-12-02).
    auto tile_step = [&](int ks, uint32_t tK, uint32_t tV, auto maskedTag) {
        constexpr bool MASKED = decltype(maskedTag)::value;
        // 5a. S = Q K^T (64 x 64 per warpgroup)
        float sc[NK * 4];
#pragma unroll
        for (int n = 0; n < NK * 4; n++) sc[n] = 0.f;
        wg_fence();
        const uint64_t dK0 = wg_desc(tK);
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) {
            const uint32_t half = kk >> 2, koff = (kk & 3) * 32;
            wgmma_ss_m64n64(sc, wg_desc_add(dQ0, half * BM * 128 + koff), wg_desc_add(dK0, half * 64 * 128 + koff));
        }
        wg_commit();
        wg_wait0();
#pragma unroll
        for (int n = 0; n < NK * 4; n++) reg_fence(sc[n]);

        // 5b. mask (MASKED) + online softmax (version 1's, per warp)
        float alpha[2];
        if constexpr (MASKED) {  // the scores a row does not see become -inf first
#pragma unroll
            for (int hr = 0; hr < 2; hr++) {
                const int p = hr ? pos1 : pos0;
                mask_scores<NK>(sc, hr, [&](int n, int e) { return swi_visible(p, ks + n * 8 + 2 * c + e, full, window); });
            }
        }
#pragma unroll
        for (int hr = 0; hr < 2; hr++)
            alpha[hr] = softmax_step<NK>(sc, hr, hr ? m1 : m0, hr ? l1 : l0, scale_log2, false, [](int, int) { return true; });
#pragma unroll
        for (int nd = 0; nd < ND; nd++) {
            acc[nd * 4 + 0] *= alpha[0];
            acc[nd * 4 + 1] *= alpha[0];
            acc[nd * 4 + 2] *= alpha[1];
            acc[nd * 4 + 3] *= alpha[1];
        }

        // 5c. P (A layout: two n8 score tiles = one k16 step); O += P V
#pragma unroll
        for (int kk = 0; kk < 4; kk++) {
            pa[kk][0] = pack_bf16(sc[(2 * kk) * 4 + 0], sc[(2 * kk) * 4 + 1]);
            pa[kk][1] = pack_bf16(sc[(2 * kk) * 4 + 2], sc[(2 * kk) * 4 + 3]);
            pa[kk][2] = pack_bf16(sc[(2 * kk + 1) * 4 + 0], sc[(2 * kk + 1) * 4 + 1]);
            pa[kk][3] = pack_bf16(sc[(2 * kk + 1) * 4 + 2], sc[(2 * kk + 1) * 4 + 3]);
        }
        fence_acc();
        wg_fence();
        issue_pv(tV);
        wg_wait0();
        fence_acc();
    };

    // 5. main loop over key tiles (descending), pass it: wait tile it, prefetch tile it+PF, S, softmax, P V
    for (int it = 0; it < nTiles; it++) {
        swi_cp_async_wait<PF - 1>();
        fence_proxy_async();  // cp.async (generic proxy) writes -> wgmma (async proxy) reads
        __syncthreads();
        if (it + PF < nTiles) load_kv(it + PF);
        swi_cp_async_commit();

        const int ks = (ktHi - it) * BN;
        const int stage = it % STAGES;
        const uint32_t tK = aK + stage * TILE, tV = aV + stage * TILE;
        if (ks > gLast || ks + BN - 1 < gLo) continue;  // the whole warpgroup skips this key tile
        const bool maskWG = __shfl_sync(0xffffffffu, (ks + BN - 1 > gFirst) || (!full && ks < gLast - window + 1), 0);
        if (maskWG) tile_step(ks, tK, tV, std::true_type{});
        else tile_step(ks, tK, tV, std::false_type{});
    }
    swi_cp_async_wait<0>();

    // 6. epilogue (as version 1)
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
        float l = hr ? l1 : l0;
        l += __shfl_xor_sync(0xffffffffu, l, 1);
        l += __shfl_xor_sync(0xffffffffu, l, 2);
        const int r = wRow0 + grp + 8 * hr;
        if (r >= cnt) continue;
        const float inv = 1.f / l;
        const size_t row = (size_t)R.q + (hr ? pos1 : pos0);
        __nv_bfloat16* out = O + (row * Hq + h) * D;
#pragma unroll
        for (int nd = 0; nd < ND; nd++)
            *reinterpret_cast<uint32_t*>(out + nd * 8 + 2 * c) =
                pack_bf16(acc[nd * 4 + hr * 2] * inv, acc[nd * 4 + hr * 2 + 1] * inv);
        if (c == 0) LSE[row * Hq + h] = ((hr ? m1 : m0) + __log2f(l)) * 0.69314718055994530942f;
    }
#else
    asm volatile("trap;");  // built without sm_90a (PTX for other GPUs): callers must pick a version-1 kernel
#endif
}

}  // namespace swi_bf16
