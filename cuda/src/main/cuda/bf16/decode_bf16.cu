// Routed decode in bf16 on tensor cores: the split kernel of the split-KV decode (math, work list, outputs and
// merge: ../decode.cuh), with the mma.sync operand patterns of attn_fwd_bf16.cuh.
//
// One block = one work item {pair = b*Hkv + g, piece, kLo, kHi}: the G query heads of kv head g (GQA packed: 16 rows = heads
// g*G + h0 .. +15, rows past G zero) against keys kLo..kHi-1 of row b. Keys stream through a STAGES-deep cp.async
// ring of 64-key tiles (K and V, XOR-swizzled); warp w takes keys 16w..16w+15 of every tile:
//   S  = Q K^T   [16 x 16]  2 n-tiles x D/16 k-steps, Q fragments held in registers
//   online softmax per row in log2 units (keys past kHi masked)
//   O += P V     [16 x D]   P straight from the S accumulators (one k16 step), V via ldmatrix.trans
// then the 4 warps' (m, l, O) are merged in shared memory and emitted: o and lse of a one-piece pair, else the
// item's partial o (fp32, normalised) and lse (fp32, natural log), merged by the pair's last piece (decode.cuh).
// Memory-bound by design: K and V are read once per kv head, for all G heads.
//   swi_decode_split_mma_bf16_d<D>(const bf16* q [B,1,Hq,D], const bf16* k, v [B,Sk,Hkv,D], const int4* items,
//        const int* rowStart, rowCount [B*Hkv], int* counters [B*Hkv], float* oPart [pieces,G,D],
//        float* lsePart [pieces,G], bf16* o [B,1,Hq,D], float* lse [B,1,Hq], int Sk, int Hq, int Hkv, float scale_log2)
//   grid (items), 128 threads, dynamic shared bytes = swi_decode_mma_bf16_d<D>_cfg[3] ({BM=16, BN, threads, bytes}).
#include "attn_fwd_bf16.cuh"
#include "decode.cuh"

namespace swi_bf16 {

// STAGES: the depth of the K/V ring (3: two tiles in flight, 2 blocks per SM at D = 128).
template <int D, int STAGES>
constexpr int decode_smem_bytes() {
    return 16 * D * 2 + STAGES * 2 * BN * D * 2;  // Q tile, STAGES x (K tile, V tile); the 4-warp merge reuses the ring
}

template <int D, int STAGES>
__device__ __forceinline__ void decode_split_mma(const __nv_bfloat16* __restrict__ Q,
                                                 const __nv_bfloat16* __restrict__ K,
                                                 const __nv_bfloat16* __restrict__ V, const int4* __restrict__ items,
                                                 const int* __restrict__ rowStart, const int* __restrict__ rowCount,
                                                 int* counters, float* __restrict__ oPart,
                                                 float* __restrict__ lsePart, __nv_bfloat16* __restrict__ O,
                                                 float* __restrict__ lse, int Sk, int Hq, int Hkv, float scale_log2) {
    constexpr int NT = 128, CH = D / 8, KD = D / 16, ND = D / 8, TILE = BN * D * 2;
    static_assert(4 * 16 * (D + 2) * 4 + 2 * 4 * 16 * 4 <= STAGES * 2 * TILE, "the merge fits the ring");
    extern __shared__ __align__(128) uint8_t smem[];
    const uint32_t aQ = swi_smem_addr(smem), aK = aQ + 16 * D * 2, aV = aK + STAGES * TILE;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, grp = lane >> 2, c = lane & 3;
    const int4 it = items[blockIdx.x];
    const int pair = it.x, kLo = it.z, kHi = it.w, b = pair / Hkv, g = pair % Hkv, G = Hq / Hkv;
    const int nTiles = (kHi - kLo + BN - 1) / BN;
    const size_t kvRow = (size_t)Hkv * D;
    const __nv_bfloat16* Kb = K + (size_t)b * Sk * kvRow + (size_t)g * D;
    const __nv_bfloat16* Vb = V + (size_t)b * Sk * kvRow + (size_t)g * D;

    auto load_kv = [&](int t) {  // tile t: keys kLo + 64t .. (zero rows past kHi)
        const uint32_t dK = aK + (t % STAGES) * TILE, dV = aV + (t % STAGES) * TILE;
#pragma unroll
        for (int u = 0; u < BN * CH / NT; u++) {
            const int n = tid + u * NT, r = n / CH, ch = n % CH, j = kLo + t * BN + r;
            const bool ok = j < kHi;
            const size_t off = (size_t)(ok ? j : kLo) * kvRow + ch * 8;
            swi_cp_async16(dK + swz<CH>(r, ch), Kb + off, ok ? 16 : 0);
            swi_cp_async16(dV + swz<CH>(r, ch), Vb + off, ok ? 16 : 0);
        }
    };

    for (int h0 = 0; h0 < G; h0 += 16) {
        // 1. Q rows (heads) of this pass, the first tiles in flight
        for (int n = tid; n < 16 * CH; n += NT) {
            const int r = n / CH, ch = n % CH;
            const bool ok = h0 + r < G;
            swi_cp_async16(aQ + swz<CH>(r, ch), Q + ((size_t)b * Hq + g * G + (ok ? h0 + r : 0)) * D + ch * 8,
                           ok ? 16 : 0);
        }
        ring_prologue<STAGES - 1>(nTiles, load_kv);
        float acc[ND][4];
#pragma unroll
        for (int nd = 0; nd < ND; nd++) acc[nd][0] = acc[nd][1] = acc[nd][2] = acc[nd][3] = 0.f;
        float m0 = -INFINITY, m1 = -INFINITY, l0 = 0.f, l1 = 0.f;
        uint32_t qf[KD][4];

        // 2. key tiles: wait for tile t, prefetch tile t + STAGES - 1, this warp's 16 keys
        for (int t = 0; t < nTiles; t++) {
            swi_cp_async_wait<STAGES - 2>();
            __syncthreads();
            if (t == 0) {
#pragma unroll
                for (int kk = 0; kk < KD; kk++)
                    ldsm_x4(qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3], aQ + swz<CH>(lane & 15, kk * 2 + (lane >> 4)));
            }
            if (t + STAGES - 1 < nTiles) load_kv(t + STAGES - 1);
            swi_cp_async_commit();
            const int j0 = kLo + t * BN + warp * 16;  // this warp's first key
            if (j0 >= kHi) continue;
            const uint32_t tK = aK + (t % STAGES) * TILE, tV = aV + (t % STAGES) * TILE;
            // 2a. S = Q K^T, 16 rows x 16 keys
            float sc[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
#pragma unroll
            for (int kk = 0; kk < KD; kk++) {
                uint32_t b0, b1, b2, b3;
                ldsm_x4(b0, b1, b2, b3, tK + swz<CH>(warp * 16 + (lane >> 4) * 8 + (lane & 7), kk * 2 + ((lane >> 3) & 1)));
                mma16816(sc[0], qf[kk], b0, b1);
                mma16816(sc[1], qf[kk], b2, b3);
            }
            // 2b. mask keys past kHi, online softmax (log2 units) for rows grp and grp + 8
            float alpha[2];
#pragma unroll
            for (int hr = 0; hr < 2; hr++)
                alpha[hr] = softmax_step<2>(&sc[0][0], hr, hr ? m1 : m0, hr ? l1 : l0, scale_log2, true,
                                            [&](int n, int e) { return j0 + n * 8 + 2 * c + e < kHi; });
#pragma unroll
            for (int nd = 0; nd < ND; nd++) {
                acc[nd][0] *= alpha[0];
                acc[nd][1] *= alpha[0];
                acc[nd][2] *= alpha[1];
                acc[nd][3] *= alpha[1];
            }
            // 2c. O += P V (P: the C layout of the two n8 score tiles = the A layout of one k16 step)
            uint32_t pa[4] = {pack_bf16(sc[0][0], sc[0][1]), pack_bf16(sc[0][2], sc[0][3]),
                              pack_bf16(sc[1][0], sc[1][1]), pack_bf16(sc[1][2], sc[1][3])};
#pragma unroll
            for (int dp = 0; dp < ND / 2; dp++) {
                uint32_t b0, b1, b2, b3;
                ldsm_x4_t(b0, b1, b2, b3, tV + swz<CH>(warp * 16 + ((lane >> 3) & 1) * 8 + (lane & 7), dp * 2 + (lane >> 4)));
                mma16816(acc[2 * dp], pa, b0, b1);
                mma16816(acc[2 * dp + 1], pa, b2, b3);
            }
        }
        swi_cp_async_wait<0>();
        __syncthreads();  // every warp is done with the ring: the merge reuses it

        // 3. merge the 4 warps: per warp m (log2), l (row sums), O [16 x D] (fp32), in shared memory
        float* sO = reinterpret_cast<float*>(smem + 16 * D * 2);  // [4][16][D + 2]
        float* sM = sO + 4 * 16 * (D + 2);                        // [4][16]
        float* sL = sM + 4 * 16;                                  // [4][16]
        l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
        l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
        l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
        l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
        if (c == 0) {
            sM[warp * 16 + grp] = m0;
            sM[warp * 16 + grp + 8] = m1;
            sL[warp * 16 + grp] = l0;
            sL[warp * 16 + grp + 8] = l1;
        }
#pragma unroll
        for (int nd = 0; nd < ND; nd++)
#pragma unroll
            for (int e = 0; e < 4; e++)
                sO[(warp * 16 + grp + 8 * (e >> 1)) * (D + 2) + nd * 8 + 2 * c + (e & 1)] = acc[nd][e];
        __syncthreads();
        const int rows = min(16, G - h0);
        const int s0 = rowStart[pair], pieces = rowCount[pair];  // read here: read at the top, they cost 87 registers
        for (int n = tid; n < rows * D; n += NT) {
            const int r = n / D, col = n % D;
            float M = -INFINITY;
            for (int w = 0; w < 4; w++) M = fmaxf(M, sM[w * 16 + r]);
            float L = 0.f, o = 0.f;
            for (int w = 0; w < 4; w++) {
                const float mw = sM[w * 16 + r];
                const float e = mw == -INFINITY ? 0.f : exp2f(mw - M);
                L += sL[w * 16 + r] * e;
                o += sO[(w * 16 + r) * (D + 2) + col] * e;
            }
            decode_emit(pieces, (i64)(s0 + it.y) * G + h0 + r, (i64)b * Hq + g * G + h0 + r, D, col, o / L,
                        (M + log2f(L)) * 0.69314718055994530942f, oPart, lsePart, O, lse);
        }
        __syncthreads();  // the next pass refills Q and the ring
    }
    if (rowCount[pair] > 1)  // the ring is free: it holds the merge's weights
        decode_merge_last(oPart, lsePart, rowStart[pair], rowCount[pair], counters + pair, O, lse, (i64)b * Hq + g * G,
                          G, D, reinterpret_cast<float*>(smem), STAGES * 2 * TILE / 4);
}

}  // namespace swi_bf16

#define SWI_DECODE_MMA_BF16(D, STAGES, NAME)                                                                    \
    extern "C" {                                                                                                     \
    __constant__ int swi_decode_mma_bf16_##NAME##_cfg[4] = {16, swi_bf16::BN, 128,                                  \
                                                          swi_bf16::decode_smem_bytes<D, STAGES>()};                \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(128) swi_decode_split_mma_bf16_##NAME(                             \
        const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K,                                    \
        const __nv_bfloat16* __restrict__ V, const int4* __restrict__ items, const int* __restrict__ rowStart,      \
        const int* __restrict__ rowCount, int* counters, float* __restrict__ oPart, float* __restrict__ lsePart,     \
        __nv_bfloat16* __restrict__ O, float* __restrict__ lse, int Sk, int Hq, int Hkv, float scale_log2) {         \
        swi_bf16::decode_split_mma<D, STAGES>(Q, K, V, items, rowStart, rowCount, counters, oPart, lsePart, O,   \
                                                  lse, Sk, Hq, Hkv, scale_log2);                                     \
    }

// 3 stages at D = 64 and 128 (a 2-stage ring, 3 blocks per SM, and the L2 256-byte prefetch hint on the K/V copies
// were measured 1-9% slower at D = 128: bench/results/2026-12-02-cuda-decode.md).
SWI_DECODE_MMA_BF16(64, 3, d64)
SWI_DECODE_MMA_BF16(128, 3, d128)
