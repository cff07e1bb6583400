// Routed (Switch) attention forward in bf16 on tensor cores: mma.sync m16n8k16, ldmatrix, cp.async,
// FlashAttention-2 style online softmax, queries compacted by route.
//
// What it computes (SPEC: "Forward"), for every batch b, token i, query head h (kv head g = h / (Hq/Hkv)):
//   visible(i) = { j : j <= i }                   if z[b,i] = 1 (full branch)
//              = { j : i-w+1 <= j <= i }          if z[b,i] = 0 (window branch)
//   s_ij   = scale * <q_ih, k_jg>                 (bf16 inputs, fp32 accumulation)
//   LSE_ih = ln sum_{j in visible(i)} exp(s_ij)   (fp32, natural log)
//   O_ih   = sum_j exp(s_ij - LSE_ih) v_jg        (fp32 accumulation, rounded once to bf16)
//
// Shape legend: B batch, S sequence, Hq query heads, Hkv key/value heads, D head dim, w window,
// BM queries per block (tile), BN = 64 keys per key tile, MT m16 tiles per warp (16*MT query rows per warp).
// Layouts (row-major "BSHD"):
//   Q, O [B,S,Hq,D] bf16      K, V [B,S,Hkv,D] bf16      LSE [B,S,Hq] fp32
//   listF, listW [B,S], nF, nW [B] int32: the compacted route of ../route_compact.cu (../common.cuh)
//   SEG (kernels ending in _seg): entry b is segment b of the table seg [5][B] (../common.cuh, swi_rows); Q, O, LSE
//   hold the flat query rows, K, V the flat key rows
//
// Because the route is shared by all heads, BM consecutive entries of one list form a dense query tile for every
// head: a full tile of queries p_0 < ... < p_{BM-1} visits key tiles 0..p_{BM-1}/BN; a window tile visits key
// tiles max(0, p_0-w+1)/BN .. p_{BM-1}/BN. Each warp further skips key tiles none of its 16*MT rows can see.
//
// Work list: the tile schedule of every precision (swi_pick_tile, ../common.cuh): blockIdx.x = (t*B + b)*Hq + h,
// t in [0, ceil(S/BM) + 1); full tiles first, heaviest (highest positions) first and aligned to the end of the
// list so the partial tile holds the lowest positions, then window tiles; the rest exit at once. Heads are
// innermost so the Hq/Hkv heads that share K/V run side by side (L2 reuse).
#pragma once
#include "../common.cuh"

namespace swi_bf16 {

constexpr int BN = 64;  // keys per key tile

// ---- small PTX wrappers -------------------------------------------------------------------------------------

__device__ __forceinline__ void ldsm_x4(uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3, uint32_t addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(addr));
}
__device__ __forceinline__ void ldsm_x4_t(uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3, uint32_t addr) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r0), "=r"(r1), "=r"(r2), "=r"(r3)
                 : "r"(addr));
}

// c[16x8] += a[16x16] * b[16x8], bf16 inputs, fp32 accumulators (fragment layouts of the PTX ISA).
__device__ __forceinline__ void mma16816(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
    __nv_bfloat162 t = __floats2bfloat162_rn(lo, hi);  // .x = lo (lower 16 bits)
    return *reinterpret_cast<uint32_t*>(&t);
}

__device__ __forceinline__ float fast_exp2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

// Byte offset of 16-byte chunk `ch` of row `r` in a [rows][D] bf16 tile with CH = D/8 chunks per row,
// XOR-swizzled so that the 8 rows one ldmatrix reads at the same logical chunk hit 8 different bank groups.
template <int CH>
__device__ __forceinline__ uint32_t swz(int r, int ch) {
    return static_cast<uint32_t>((r * CH + (ch ^ (r & 7))) * 16);
}

// The first groups of a cp.async ring of key tiles: tile 0 in one commit group (with whatever the caller queued
// before it, such as the Q tile), then tiles 1 .. AHEAD-1 in one group each where they exist (an empty group where
// not, so that every wait count stays the same). load(t) queues the copies of tile t.
template <int AHEAD, typename Load>
__device__ __forceinline__ void ring_prologue(int nTiles, Load load) {
    load(0);
    swi_cp_async_commit();
#pragma unroll
    for (int s = 1; s < AHEAD; s++) {
        if (s < nTiles) load(s);
        swi_cp_async_commit();
    }
}

// The keys j0 + t that query position i sees, as one interval of offsets t: lo <= t <= hi, which is
// swi_visible(i, j0 + t, full, w) (j <= i, and j > i - w unless full). Two compares per score, against constants t.
struct VisibleSpan {
    int lo, hi;
    __device__ __forceinline__ bool sees(int t) const { return t >= lo && t <= hi; }
};
__device__ __forceinline__ VisibleSpan visible_span(int i, int j0, bool full, int w) {
    return {full ? INT_MIN : i - w + 1 - j0, i - j0};
}

// The mask of one accumulator row half hr (row grp or grp + 8 of the m16 tile) of this thread's scores of NK n8 tiles,
// sc[n*4 + hr*2 + e] (the mma C layout): a score whose keep(n, e) is false becomes -inf.   sc modified
template <int NK, typename Keep>
__device__ __forceinline__ void mask_scores(float* sc, int hr, Keep keep) {
#pragma unroll
    for (int n = 0; n < NK; n++)
#pragma unroll
        for (int e = 0; e < 2; e++)
            if (!keep(n, e)) sc[n * 4 + hr * 2 + e] = -INFINITY;
}

// The online-softmax step of one accumulator row half hr (row grp or grp + 8 of the m16 tile) over this thread's
// scores of NK n8 tiles, sc[n*4 + hr*2 + e] (the mma C layout), in log2 units; when mask, a score whose keep(n, e)
// is false becomes -inf first (as mask_scores does):
//   m' = max(m, scale_log2 max_j s_j)  (the quad's 4 lanes hold the row),  p_j = 2^(s_j scale_log2 - m'),
//   l' = l 2^(m - m') + sum_j p_j      (a row that has seen no key keeps m' = -inf: its p_j are 0, alpha 1)
// sc modified (scores -> p), m, l modified; returns alpha = 2^(m - m'), the rescale of the row's O accumulators.
template <int NK, typename Keep>
__device__ __forceinline__ float softmax_step(float* sc, int hr, float& m, float& l, float scale_log2, bool mask,
                                              Keep keep) {
    float mx = -INFINITY;
#pragma unroll
    for (int n = 0; n < NK; n++)
#pragma unroll
        for (int e = 0; e < 2; e++) {
            float x = sc[n * 4 + hr * 2 + e];
            if (mask) {
                x = keep(n, e) ? x : -INFINITY;
                sc[n * 4 + hr * 2 + e] = x;
            }
            mx = fmaxf(mx, x);
        }
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float mNew = fmaxf(m, mx * scale_log2);
    const float mUse = mNew == -INFINITY ? 0.f : mNew;
    const float alpha = fast_exp2(m - mUse);
    m = mNew;
    float sum = 0.f;
#pragma unroll
    for (int n = 0; n < NK; n++)
#pragma unroll
        for (int e = 0; e < 2; e++) {
            const float pj = fast_exp2(fmaf(sc[n * 4 + hr * 2 + e], scale_log2, -mUse));
            sc[n * 4 + hr * 2 + e] = pj;
            sum += pj;
        }
    l = l * alpha + sum;
    return alpha;
}

// Dynamic shared memory of one block: positions, Q tile, STAGES x (K tile, V tile) (exported as <kernel>_cfg).
template <int D, int BM, int STAGES>
constexpr int smem_bytes() {
    return BM * 4 + BM * D * 2 + STAGES * 2 * BN * D * 2;
}

// ---- the forward kernel body ----------------------------------------------------------------------------------
//
// Q, K, V [B,S,H*,D] bf16, not modified; O [B,S,Hq,D] bf16, LSE [B,S,Hq] fp32: written at the listed rows;
// listF, nF, listW, nW: the compaction (a null count switches a branch off), not modified. scale_log2 = scale *
// log2(e). Q fragments stay in registers for the whole key loop.
template <int D, int BM, int MT, int STAGES, bool SEG = false>
__device__ __forceinline__ void routed_fwd_body(const __nv_bfloat16* __restrict__ Q,
                                                const __nv_bfloat16* __restrict__ K,
                                                const __nv_bfloat16* __restrict__ V, __nv_bfloat16* __restrict__ O,
                                                float* __restrict__ LSE, const int* __restrict__ listF,
                                                const int* __restrict__ nF, const int* __restrict__ listW,
                                                const int* __restrict__ nW, int B, int S, int Hq, int Hkv,
                                                int window, float scale_log2, const int* seg = nullptr) {
    constexpr int NW = BM / (16 * MT);  // warps per block
    constexpr int NT = NW * 32;         // threads per block
    constexpr int CH = D / 8;           // 16-byte chunks per row
    constexpr int KD = D / 16;          // k-steps of 16 over D (S = Q K^T)
    constexpr int ND = D / 8;           // n-tiles of 8 over D (O = P V)
    constexpr int NK = BN / 8;          // n-tiles of 8 keys per key tile
    static_assert(BM % (16 * MT) == 0, "BM must be a multiple of 16*MT");
    static_assert(D % 16 == 0 && D >= 32, "D must be a multiple of 16");

    extern __shared__ __align__(128) uint8_t smem[];
    int* sIdx = reinterpret_cast<int*>(smem);
    uint8_t* sQ = smem + BM * 4;
    uint8_t* sK = sQ + BM * D * 2;
    uint8_t* sV = sK + STAGES * BN * D * 2;
    const uint32_t aQ = swi_smem_addr(sQ), aK = swi_smem_addr(sK), aV = swi_smem_addr(sV);

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int grp = lane >> 2, c = lane & 3;  // fragment row group and column pair

    // 1. the work slot (swi_pick_tile): batch b, head h, branch and range of the compacted list
    SwiTile tile;
    if (!swi_pick_tile<SEG>(BM, Hq, B, S, listF, nF, listW, nW, tile, seg)) return;
    const int h = tile.h, cnt = tile.count;
    const SwiRows R = tile.rows;  // where entry tile.b's rows live (../common.cuh)
    const bool full = tile.full;
    const int* ord = tile.list + tile.start;
    for (int r = tid; r < BM; r += NT) sIdx[r] = ord[min(r, cnt - 1)];  // pad with the last row (not stored)
    __syncthreads();

    // 2. key-tile range of the block and of this warp
    const int pFirst = sIdx[0], pLast = sIdx[BM - 1];
    const int lo = full ? 0 : max(0, pFirst - window + 1);
    const int ktHi = pLast / BN, ktLo = lo / BN;
    const int nTiles = ktHi - ktLo + 1;
    const int wRow0 = warp * 16 * MT;
    const int wFirst = sIdx[wRow0], wLast = sIdx[wRow0 + 16 * MT - 1];
    const int wLo = full ? 0 : max(0, wFirst - window + 1);
    int pos[MT][2];  // positions of this thread's two fragment rows per m-tile
#pragma unroll
    for (int mi = 0; mi < MT; mi++) {
        pos[mi][0] = sIdx[wRow0 + mi * 16 + grp];
        pos[mi][1] = sIdx[wRow0 + mi * 16 + grp + 8];
    }

    const int g = h / (Hq / Hkv);
    const size_t kvRow = (size_t)Hkv * D;  // elements between consecutive key rows
    const __nv_bfloat16* Kb = K + (size_t)R.k * kvRow + (size_t)g * D;
    const __nv_bfloat16* Vb = V + (size_t)R.k * kvRow + (size_t)g * D;

    // 3. async loads: the Q tile (gathered rows) and key tiles (K and V) into a STAGES-deep ring
    auto load_kv = [&](int it) {
        const int kt = ktHi - it;  // descending key tiles
        const int stage = it % STAGES;
        const uint32_t dK = aK + stage * BN * D * 2, dV = aV + stage * BN * D * 2;
        static_assert((BN * CH) % NT == 0, "key tile chunks must divide among threads");
#pragma unroll
        for (int u = 0; u < BN * CH / NT; u++) {
            const int n = tid + u * NT;
            const int r = n / CH, ch = n % CH;
            const int j = kt * BN + r;
            const bool ok = j < R.keys;
            const size_t off = (size_t)(ok ? j : 0) * kvRow + ch * 8;
            swi_cp_async16(dK + swz<CH>(r, ch), Kb + off, ok ? 16 : 0);
            swi_cp_async16(dV + swz<CH>(r, ch), Vb + off, ok ? 16 : 0);
        }
    };
    {
        const __nv_bfloat16* Qh = Q + (size_t)h * D;
        static_assert((BM * CH) % NT == 0, "query tile chunks must divide among threads");
#pragma unroll
        for (int u = 0; u < BM * CH / NT; u++) {
            const int n = tid + u * NT;
            const int r = n / CH, ch = n % CH;
            swi_cp_async16(aQ + swz<CH>(r, ch), Qh + (size_t)(R.q + sIdx[r]) * Hq * D + ch * 8, 16);
        }
    }
    ring_prologue<STAGES - 1>(nTiles, load_kv);

    // 4. running state: O accumulators, row max m (log2 units), partial row sums l (per thread)
    float acc[MT][ND][4];
    float mrow[MT][2], lrow[MT][2];
#pragma unroll
    for (int mi = 0; mi < MT; mi++) {
#pragma unroll
        for (int nd = 0; nd < ND; nd++)
#pragma unroll
            for (int e = 0; e < 4; e++) acc[mi][nd][e] = 0.f;
        mrow[mi][0] = mrow[mi][1] = -INFINITY;
        lrow[mi][0] = lrow[mi][1] = 0.f;
    }
    uint32_t qf[MT][KD][4];  // Q fragments, loaded once (pass 0)

    // 5. main loop over key tiles (descending), pass it: wait for tile it, prefetch tile it+STAGES-1, compute it
    for (int it = 0; it < nTiles; it++) {
        swi_cp_async_wait<STAGES - 2>();
        __syncthreads();
        if (it == 0) {
#pragma unroll
            for (int mi = 0; mi < MT; mi++)
#pragma unroll
                for (int kk = 0; kk < KD; kk++)
                    ldsm_x4(qf[mi][kk][0], qf[mi][kk][1], qf[mi][kk][2], qf[mi][kk][3],
                            aQ + swz<CH>(wRow0 + mi * 16 + (lane & 15), kk * 2 + (lane >> 4)));
        }
        if (it + STAGES - 1 < nTiles) load_kv(it + STAGES - 1);
        swi_cp_async_commit();

        const int ks = (ktHi - it) * BN;
        if (ks > wLast || ks + BN - 1 < wLo) continue;  // no row of this warp sees this key tile
        const bool needMask = (ks + BN - 1 > wFirst) || (!full && ks < wLast - window + 1);
        const int stage = it % STAGES;
        const uint32_t tK = aK + stage * BN * D * 2, tV = aV + stage * BN * D * 2;

        // 5a. S = Q K^T  [16*MT x 64] per warp
        float sc[MT][NK][4];
#pragma unroll
        for (int mi = 0; mi < MT; mi++)
#pragma unroll
            for (int n = 0; n < NK; n++)
#pragma unroll
                for (int e = 0; e < 4; e++) sc[mi][n][e] = 0.f;
#pragma unroll
        for (int kk = 0; kk < KD; kk++) {
            uint32_t qa[MT][4];
#pragma unroll
            for (int mi = 0; mi < MT; mi++)
#pragma unroll
                for (int e = 0; e < 4; e++) qa[mi][e] = qf[mi][kk][e];
#pragma unroll
            for (int np = 0; np < NK / 2; np++) {
                uint32_t b0, b1, b2, b3;
                ldsm_x4(b0, b1, b2, b3, tK + swz<CH>(np * 16 + (lane >> 4) * 8 + (lane & 7), kk * 2 + ((lane >> 3) & 1)));
#pragma unroll
                for (int mi = 0; mi < MT; mi++) {
                    mma16816(sc[mi][2 * np], qa[mi], b0, b1);
                    mma16816(sc[mi][2 * np + 1], qa[mi], b2, b3);
                }
            }
        }

        // 5b. mask, online softmax in log2 units: m' = max(m, max_j s_j*scale*log2e), p_j = 2^(s_j*c - m')
#pragma unroll
        for (int mi = 0; mi < MT; mi++) {
#pragma unroll
            for (int hr = 0; hr < 2; hr++) {
                const int p = pos[mi][hr];
                const float alpha = softmax_step<NK>(&sc[mi][0][0], hr, mrow[mi][hr], lrow[mi][hr], scale_log2,
                    needMask, [&](int n, int e) { return swi_visible(p, ks + n * 8 + 2 * c + e, full, window); });
#pragma unroll
                for (int nd = 0; nd < ND; nd++) {
                    acc[mi][nd][hr * 2] *= alpha;
                    acc[mi][nd][hr * 2 + 1] *= alpha;
                }
            }
        }

        // 5c. O += P V: P from the S accumulators (C layout of two n8 tiles = A layout of one k16 step)
#pragma unroll
        for (int kk = 0; kk < BN / 16; kk++) {
            uint32_t pa[MT][4];
#pragma unroll
            for (int mi = 0; mi < MT; mi++) {
                pa[mi][0] = pack_bf16(sc[mi][2 * kk][0], sc[mi][2 * kk][1]);
                pa[mi][1] = pack_bf16(sc[mi][2 * kk][2], sc[mi][2 * kk][3]);
                pa[mi][2] = pack_bf16(sc[mi][2 * kk + 1][0], sc[mi][2 * kk + 1][1]);
                pa[mi][3] = pack_bf16(sc[mi][2 * kk + 1][2], sc[mi][2 * kk + 1][3]);
            }
#pragma unroll
            for (int dp = 0; dp < ND / 2; dp++) {
                uint32_t b0, b1, b2, b3;
                ldsm_x4_t(b0, b1, b2, b3, tV + swz<CH>(kk * 16 + ((lane >> 3) & 1) * 8 + (lane & 7), dp * 2 + (lane >> 4)));
#pragma unroll
                for (int mi = 0; mi < MT; mi++) {
                    mma16816(acc[mi][2 * dp], pa[mi], b0, b1);
                    mma16816(acc[mi][2 * dp + 1], pa[mi], b2, b3);
                }
            }
        }
    }
    swi_cp_async_wait<0>();

    // 6. epilogue: O = acc / l (bf16), LSE = ln2 * (m + log2 l); padded rows (r >= cnt) are not stored
#pragma unroll
    for (int mi = 0; mi < MT; mi++)
#pragma unroll
        for (int hr = 0; hr < 2; hr++) {
            float l = lrow[mi][hr];
            l += __shfl_xor_sync(0xffffffffu, l, 1);
            l += __shfl_xor_sync(0xffffffffu, l, 2);
            const int r = wRow0 + mi * 16 + grp + 8 * hr;
            if (r >= cnt) continue;
            const float inv = 1.f / l;
            const size_t row = (size_t)(R.q + pos[mi][hr]);
            __nv_bfloat16* out = O + (row * Hq + h) * D;
#pragma unroll
            for (int nd = 0; nd < ND; nd++) {
                const uint32_t v = pack_bf16(acc[mi][nd][hr * 2] * inv, acc[mi][nd][hr * 2 + 1] * inv);
                *reinterpret_cast<uint32_t*>(out + nd * 8 + 2 * c) = v;
            }
            if (c == 0) LSE[row * Hq + h] = (mrow[mi][hr] + __log2f(l)) * 0.69314718055994530942f;
        }
}

}  // namespace swi_bf16
