// The bodies of the tensor-core bf16 backward kernels, both versions (attn_bwd_bf16.cu instantiates them): version
// mma2 (WG = false, mma.sync: bwd_dkdv_chunk, bwd_dq_tile of attn_bwd_bf16.cuh) and version wgmma (WG = true,
// sm_90a: bwd_wg_dkdv_step, bwd_wg_dq_step of attn_bwd_bf16_wgmma.cuh). Blocks, grids, lists, the chunk sequence,
// the staging and the stores are one code for both; read attn_bwd_bf16.cuh first (math, layouts, shape legend).
#pragma once
#include "attn_bwd_bf16_wgmma.cuh"

namespace swi_bf16 {

// dK, dV: the staging off the critical path, one barrier per step. Per step t of BwdChunkSteps (buffers b = t & 1,
// position slots t % 3):
//   wait for this thread's copies; barrier (step t's tiles, stats and step t+1's positions visible; step t-1's reads
//   of buffer (t+1) & 1 and slot (t+2) % 3 done); issue step t+1's Q, dO rows and stats into buffer (t+1) & 1 (its
//   positions, staged a step earlier, give the row addresses) and step t+2's positions into slot (t+2) % 3; commit;
//   compute step t (S^T, dP^T, P^T, dS^T, dV += P^T dO, dK += dS^T Q: bwd_dkdv_chunk, or with WG bwd_wg_dkdv_step).
// WG (version wgmma, sm_90a): the tiles in the wgmma layout on a 1024-aligned base, the copies made visible to the
// async proxy before the barrier, the step count broadcast so that ptxas can prove it warp-uniform (else it
// serializes every wgmma, warning C7520).
template <int D, bool SEG = false, bool WG = false>
__device__ __forceinline__ void tc_dkdv_body(const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K,
                                             const __nv_bfloat16* __restrict__ V,
                                             const __nv_bfloat16* __restrict__ dO, const int* __restrict__ listF,
                                             const int* __restrict__ nF, const int* __restrict__ listW,
                                             const int* __restrict__ nW, const float* __restrict__ lseF,
                                             const float* __restrict__ lseW, const float* __restrict__ deltaF,
                                             const float* __restrict__ deltaW, const float* __restrict__ coefF,
                                             const float* __restrict__ coefW, __nv_bfloat16* __restrict__ dK,
                                             __nv_bfloat16* __restrict__ dV, int B, int S, int Hq, int Hkv,
                                             int window, float scale, const int* __restrict__ seg = nullptr) {
    constexpr int ND = D / 8;
    if constexpr (WG) {
#if !defined(__CUDA_ARCH_FEAT_SM90_ALL)
        asm volatile("trap;");  // built without sm_90a (PTX for other GPUs): callers must pick the mma2 kernels
#endif
    }
    extern __shared__ __align__(128) uint8_t smem[];
    uint8_t* const base = WG ? bwd_wg_base(smem) : smem;  // the tiles' base (WG: 1024-aligned)

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
    const int kw0 = warp * 16;  // this warp's first key row in the tile

    // 1. the flat chunk sequence (list entries of both branches that see the tile)
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
    const int T = WG ? __shfl_sync(0xffffffffu, steps.total, 0) : steps.total;
    // positions of step t into slot t % 3 (entries past its rows: zero-filled, read as padding)
    auto stagePos = [&](int t) {
        if (tid >= BWD_T) return;
        const BwdChunkSteps::Step s = steps.at(t);
        const int* list = (s.br ? listW : listF) + R.list;
        swi_cp_async4(bwd_mma2_tiles<D>(base, 0, 2, t % 3, 0).sPos + tid, list + s.c0 + (tid < s.n ? tid : 0),
                      tid < s.n ? 4 : 0);
    };
    // Q, dO rows and row stats of step t into buffer t & 1 (its positions: slot t % 3, already visible)
    auto stageRows = [&](int t) {
        const BwdChunkSteps::Step s = steps.at(t);
        const BwdMmaTiles v = bwd_mma2_tiles<D>(base, 0, 2 + 2 * (t & 1), t % 3, t & 1);
        auto rowPos = [&](int r) { return r < s.n ? v.sPos[r] : -1; };
        bwd_stage_async<D, WG>(v.aQ, Q, R.q, Hq, s.h, R.keys, rowPos);
        bwd_stage_async<D, WG>(v.adO, dO, R.q, Hq, s.h, R.keys, rowPos);
        if (tid < BWD_T)
            bwd_row_stats_async(v, tid, rowPos(tid), s.br ? lseW : lseF, s.br ? deltaW : deltaF,
                                s.br ? coefW : coefF, R.q, Hq, s.h);
    };

    // 2. prologue: the key tile (K, V of kv head g; keys past the entry's keys are zero and visible to nobody) and the
    // positions of steps 0, 1 in one group; then step 0's rows
    {
        const BwdMmaTiles v = bwd_mma2_tiles<D>(base, 0, 2, 0, 0);
        bwd_stage_async<D, WG>(v.aK, K, R.k, Hkv, g, R.keys, [&](int r) { return j0 + r; });
        bwd_stage_async<D, WG>(v.aV, V, R.k, Hkv, g, R.keys, [&](int r) { return j0 + r; });
    }
    if (T > 0) stagePos(0);
    if (T > 1) stagePos(1);
    swi_cp_async_commit();
    swi_cp_async_wait<0>();
    __syncthreads();  // positions of steps 0, 1 visible
    if (T > 0) stageRows(0);
    swi_cp_async_commit();

    float accK[ND][4], accV[ND][4];
#pragma unroll
    for (int nd = 0; nd < ND; nd++)
#pragma unroll
        for (int e = 0; e < 4; e++) accK[nd][e] = accV[nd][e] = 0.f;

    // 3. the steps: one barrier each, the next step's copies in flight during the products
#pragma unroll 1
    for (int t = 0; t < T; t++) {
        swi_cp_async_wait<0>();  // this thread's copies of step t (and of step t+1's positions) have landed
        if constexpr (WG) fence_proxy_async();  // cp.async (generic proxy) writes -> wgmma (async proxy) reads
        __syncthreads();         // everyone's; and step t-1's reads of buffer (t+1) & 1, slot (t+2) % 3 are done
        if (t + 1 < T) stageRows(t + 1);
        if (t + 2 < T) stagePos(t + 2);
        swi_cp_async_commit();
        const BwdChunkSteps::Step s = steps.at(t);
        const BwdMmaTiles v = bwd_mma2_tiles<D>(base, 0, 2 + 2 * (t & 1), t % 3, t & 1);
        if constexpr (WG) bwd_wg_dkdv_step<D>(v, accK, accV, j0, kw0, s.n, s.br == 0, window, sl2, lane);
        else bwd_dkdv_chunk<D>(v, accK, accV, j0, kw0, s.n, s.br == 0, window, sl2, lane);
    }

    // 4. store this warp's 16 key rows: dK = scale * accK, dV = accV, bf16
    bwd_store_dkdv<D>(accK, accV, dK, dV, R, j0 + kw0, Hkv, g, scale, lane);
}

// ---- dQ ------------------------------------------------------------------------------------------------------
// Block = (query tile, head h, batch b): the tile schedule of every precision (swi_pick_tile, ../common.cuh).
// Routed (both = 0): a full tile runs the full branch, a window tile the window branch. SOFT (both = 1, listF the
// identity list, nW null): each row of a tile through both branches (F then W, accumulated in the same registers).
// Warp w owns the tile's rows 16w..16w+15 and their dQ [16 x D]; per visible key tile (K, V staged):
//   S  = Q K^T   [16 x 64]   A = Q rows,  B = K rows
//   dP = dO V^T  [16 x 64]   A = dO rows, B = V rows
//   dS = P (c dP - delta), P = exp2(S scale log2e - lse log2e) on visible pairs
//   dQ += dS K   [16 x D]    A = dS (accumulators), B = K ([k][n] = key-major rows, .trans)
// Finally dQ *= scale, rounded once to bf16. Grid: (ceil(S/64) + 1) * Hq * B blocks, 128 threads,
// bwd_mma2_smem_bytes<D>() dynamic shared bytes. SEG: entry b is segment b (B segments, S their largest kLen; grid
// (ceil(max qLen/64) + 1) * Hq * B). The row stats of every pass are loaded once (stats slot = pass), Q, dO with key
// tile 0; the key tiles of the passes form one sequence (pass passLo's tiles, then the window pass's when SOFT), step
// t in buffer t & 1:
//   wait; barrier (step t's K, V visible; step t-1's reads of buffer (t+1) & 1 done); issue step t+1's K, V into
//   buffer (t+1) & 1; commit; compute step t (bwd_dq_tile: S, dP, dS, dQ += dS K) unless no row of the warp sees it.
// A 16 x 16 block whose pairs are all visible skips the per-element test (bwd_dq_tile). WG (version wgmma): as the
// dK/dV body, and a warp whose rows see none of a tile still joins the warpgroup's products (its masked pairs give
// P = dS = 0 exactly): bwd_wg_dq_step.
template <int D, bool SEG = false, bool WG = false>
__device__ __forceinline__ void tc_dq_body(const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K,
                                           const __nv_bfloat16* __restrict__ V, const __nv_bfloat16* __restrict__ dO,
                                           const int* __restrict__ listF, const int* __restrict__ nF,
                                           const int* __restrict__ listW, const int* __restrict__ nW,
                                           const float* __restrict__ lseF, const float* __restrict__ lseW,
                                           const float* __restrict__ deltaF, const float* __restrict__ deltaW,
                                           const float* __restrict__ coefF, const float* __restrict__ coefW,
                                           __nv_bfloat16* __restrict__ dQ, int B, int S, int Hq, int Hkv, int window,
                                           float scale, int both, const int* __restrict__ seg = nullptr) {
    constexpr int ND = D / 8;
    if constexpr (WG) {
#if !defined(__CUDA_ARCH_FEAT_SM90_ALL)
        asm volatile("trap;");
#endif
    }
    extern __shared__ __align__(128) uint8_t smem[];
    uint8_t* const base = WG ? bwd_wg_base(smem) : smem;  // the tiles' base (WG: 1024-aligned)
    const BwdMmaTiles sq = bwd_mma2_tiles<D>(base, 2, 0, 0, 0);  // Q, dO (tiles 0, 1), the tile's positions

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int grp = lane >> 2;

    // 1. the work slot -> rows tile.list[start .. start+cnt) and the branch passes (0 = full, 1 = window); the
    // positions and the row stats of every pass
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
    bwd_stage_async<D, WG>(sq.aQ, Q, R.q, Hq, h, R.keys, [&](int r) { return sq.sPos[r]; });
    bwd_stage_async<D, WG>(sq.adO, dO, R.q, Hq, h, R.keys, [&](int r) { return sq.sPos[r]; });

    const int g = h / (Hq / Hkv);
    const int wr0 = warp * 16;
    const int pos0 = sq.sPos[wr0 + grp], pos1 = sq.sPos[wr0 + grp + 8];
    const int pFirst = sq.sPos[0], pLast = sq.sPos[cnt - 1];
    // rows of this warp: positions ascending; wLast = the last valid one (-1: the warp has no rows)
    const int wFirst = sq.sPos[wr0], wLast = wr0 < cnt ? sq.sPos[min(wr0 + 15, cnt - 1)] : -1;
    const int allHi = wr0 + 15 < cnt ? wLast : -1;  // all 16 rows valid: the last position, else -1
    const float sl2 = scale * 1.4426950408889634f;

    // 2. the key tiles: pass passLo from ksA (nA tiles), then (SOFT) the window pass from ksW, up to pLast
    const int ksW = (max(0, pFirst - window + 1) / BWD_T) * BWD_T;
    const int ksA = passLo == 0 ? 0 : ksW;
    const int nA = (pLast - ksA) / BWD_T + 1;
    const int T0 = nA + (passHi - passLo == 2 ? (pLast - ksW) / BWD_T + 1 : 0);
    const int T = WG ? __shfl_sync(0xffffffffu, T0, 0) : T0;
    auto keyTile = [&](int t) { return t < nA ? ksA + t * BWD_T : ksW + (t - nA) * BWD_T; };
    auto stageKV = [&](int t) {
        const BwdMmaTiles v = bwd_mma2_tiles<D>(base, 2 + 2 * (t & 1), 0, 0, 0);
        const int ks = keyTile(t);
        bwd_stage_async<D, WG>(v.aK, K, R.k, Hkv, g, R.keys, [&](int r) { return ks + r; });
        bwd_stage_async<D, WG>(v.aV, V, R.k, Hkv, g, R.keys, [&](int r) { return ks + r; });
    };
    stageKV(0);
    swi_cp_async_commit();  // Q, dO and key tile 0

    float acc[ND][4];
#pragma unroll
    for (int nd = 0; nd < ND; nd++)
#pragma unroll
        for (int e = 0; e < 4; e++) acc[nd][e] = 0.f;

#pragma unroll 1
    for (int t = 0; t < T; t++) {
        swi_cp_async_wait<0>();  // this thread's copies of step t have landed
        if constexpr (WG) fence_proxy_async();
        __syncthreads();         // everyone's; and step t-1's reads of buffer (t+1) & 1 are done
        if (t + 1 < T) stageKV(t + 1);
        swi_cp_async_commit();
        const int pass = t < nA ? passLo : 1;
        const bool full = pass == 0;
        const int ks = keyTile(t);
        const int wLo = full ? 0 : max(0, wFirst - window + 1);
        if (!WG && (wLast < 0 || ks > wLast || ks + BWD_T - 1 < wLo)) continue;  // no row of this warp sees the tile
        const BwdMmaTiles v = bwd_mma2_tiles<D>(base, 2 + 2 * (t & 1), 0, 0, pass);
        const BwdDqRows rw{pos0, pos1, v.sLse[wr0 + grp], v.sLse[wr0 + grp + 8], v.sDelta[wr0 + grp],
                           v.sDelta[wr0 + grp + 8], v.sCoef[wr0 + grp], v.sCoef[wr0 + grp + 8]};
        if constexpr (WG) bwd_wg_dq_step<D>(v, acc, ks, rw, full, window, sl2, lane, wFirst, allHi);
        else bwd_dq_tile<D>(v, acc, ks, wr0, rw, full, window, sl2, lane, wFirst, allHi);
    }

    // 3. store the warp's rows (padding rows are not stored): dQ = scale * acc, bf16
    bwd_store_dq<D>(acc, dQ, R, pos0, pos1, Hq, h, scale, lane);
}

}  // namespace swi_bf16
