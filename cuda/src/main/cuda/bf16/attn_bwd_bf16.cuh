// Routed (Switch) attention backward in bf16: dQ, dK, dV (bf16 out), deterministic (no atomics: every output
// element is written by exactly one thread, which sums its terms in a fixed order). Two versions side by side:
//
//   version 1 "simt"  the tiled SIMT structure of the fp32 backward (../attention_backward.cu, dkdv_v2 / dq_v2),
//                     copied and adapted: bf16 inputs converted to fp32 when staged in shared memory, every product
//                     and sum in fp32 on the CUDA cores (no tensor cores), dK/dV rounded once to bf16, dQ kept in an
//                     fp32 scratch (SOFT adds two branch launches there) and rounded to bf16 by swiattn_bf16_f32_to_bf16.
//                     Lists: listF/nF/listW/nW of route_compact.cu (RouteCompaction on the Java side).
//   version 2 "mma"   tensor cores, mma.sync m16n8k16 (bf16 x bf16 -> fp32), ldmatrix from XOR-swizzled tiles (the
//                     operand patterns of attn_fwd_bf16.cuh): all five products run on tensor cores with bf16 operands
//                     and fp32 accumulation; P and dS are rounded to bf16 for their products (as FlashAttention does);
//                     masks, exp, dS = P (dP - delta), the final scale and the bf16 rounding run on the CUDA cores.
//                     Lists: the forward's compaction (order [B,S]: full positions then window positions, nfull [B]).
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
#include "attn_fwd_bf16.cuh"

namespace swiattn_bf16 {

typedef long long i64;

// Key j is visible to query position i on a branch (i < 0: a padding row, nothing visible). i - w cannot overflow
// (i >= 0, w >= 1).
__device__ __forceinline__ bool bwd_visible(int i, int j, bool full, int w) {
    return i >= 0 && j <= i && (full || j > i - w);
}

// First index n in [0, count) with list[n] >= x (count if none); list ascending; list == nullptr: the identity
// list 0..count-1.
__device__ __forceinline__ int bwd_lower_bound(const int* list, int count, int x) {
    if (!list) return min(max(x, 0), count);
    int lo = 0, hi = count;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (list[mid] < x) lo = mid + 1; else hi = mid;
    }
    return lo;
}

// Last key (exclusive bound) a window query may have to see key jmax: positions < jmax + w, clamped to S without
// overflow (w may be up to 2^31-1).
__device__ __forceinline__ int bwd_window_end(int jmax, int w, int S) {
    return w >= S ? S : min(S, jmax + w);
}

// ================================================================================================================
// Version 1: SIMT (copy of the fp32 tiled backward, adapted to bf16 storage)
// ================================================================================================================

// Shared-memory layout (floats, then ints), natural row-major tiles with 16-byte row padding:
//   Qs [BM][LD] queries   dOs [BM][LD] coefficient-scaled output gradients   Ks, Vs [BN][LD]
//   Ps [BM][LDP] probabilities (dkdv) / dSt [BN][LDQ] transposed score gradients (dq)   dSs [BM][LDP]
//   rowLse, rowDelta [BM];  rowPos [BM] (int, -1 = padding)
template <int DMAX, int BM, int BN>
struct SimtLayout {
    static constexpr int PAD = 4;
    static constexpr int LD = DMAX + PAD, LDP = BN + PAD, LDQ = BM + PAD;
    static constexpr int PSZ = (BM * LDP > BN * LDQ) ? BM * LDP : BN * LDQ;
    static constexpr int QS = 0, DOS = QS + BM * LD, KS = DOS + BM * LD, VS = KS + BN * LD, PS = VS + BN * LD,
                         DSS = PS + PSZ, RL = DSS + BM * LDP, RD = RL + BM, END = RD + BM;
    static constexpr int BYTES = END * 4 + BM * 4;
};

template <int N>
__device__ __forceinline__ void lds_f(const float* p, float* r) {
    if constexpr (N % 4 == 0) {
#pragma unroll
        for (int u = 0; u < N / 4; u++) {
            float4 t = reinterpret_cast<const float4*>(p)[u];
            r[4 * u] = t.x; r[4 * u + 1] = t.y; r[4 * u + 2] = t.z; r[4 * u + 3] = t.w;
        }
    } else {
#pragma unroll
        for (int u = 0; u < N; u++) r[u] = p[u];
    }
}

// Phase A of both SIMT kernels: for the BM x BN tile, S = scale Q K^T and dP = dOB V^T on an SR x SC micro-tile
// per thread, then P = exp(S - lse) on visible pairs (0 elsewhere) and dS = P (dP - delta). store(i, jj, p, ds).
template <int DMAX, int BM, int BN, int NT, int SR, int SC, typename Store>
__device__ __forceinline__ void simt_phase_a(const float* Qs, const float* dOs, const float* Ks, const float* Vs,
                                             const int* rowPos, const float* rowLse, const float* rowDelta, int j0,
                                             bool full, int w, float scale, Store store) {
    using L = SimtLayout<DMAX, BM, BN>;
    constexpr int VEC = 4, TX = BN / SC;
    static_assert((BM / SR) * TX == NT, "phase A micro-tiles must cover the tile");
    const int ty = threadIdx.x / TX, tx = threadIdx.x % TX;
    float s[SR][SC], dp[SR][SC];
#pragma unroll
    for (int r = 0; r < SR; r++)
#pragma unroll
        for (int c = 0; c < SC; c++) s[r][c] = dp[r][c] = 0.f;
#pragma unroll 2
    for (int kk = 0; kk < DMAX; kk += VEC) {
        float a[SR][VEC], o[SR][VEC], kb[SC][VEC], vb[SC][VEC];
#pragma unroll
        for (int r = 0; r < SR; r++) {
            lds_f<VEC>(Qs + (ty * SR + r) * L::LD + kk, a[r]);
            lds_f<VEC>(dOs + (ty * SR + r) * L::LD + kk, o[r]);
        }
#pragma unroll
        for (int c = 0; c < SC; c++) {
            lds_f<VEC>(Ks + (tx * SC + c) * L::LD + kk, kb[c]);
            lds_f<VEC>(Vs + (tx * SC + c) * L::LD + kk, vb[c]);
        }
#pragma unroll
        for (int r = 0; r < SR; r++)
#pragma unroll
            for (int c = 0; c < SC; c++)
#pragma unroll
                for (int u = 0; u < VEC; u++) {
                    s[r][c] += a[r][u] * kb[c][u];
                    dp[r][c] += o[r][u] * vb[c][u];
                }
    }
#pragma unroll
    for (int r = 0; r < SR; r++) {
        const int i = ty * SR + r, pos = rowPos[i];
        const float lse = rowLse[i], delta = rowDelta[i];
#pragma unroll
        for (int c = 0; c < SC; c++) {
            const int jj = tx * SC + c;
            float p = bwd_visible(pos, j0 + jj, full, w) ? expf(s[r][c] * scale - lse) : 0.f;
            store(i, jj, p, p * (dp[r][c] - delta));
        }
    }
}

// Stages BM query rows (positions rowPos) of head h as fp32: Qs, dOs (times the branch coefficient), lse, delta.
template <int DMAX, int BM, int BN, int NT>
__device__ __forceinline__ void simt_load_rows(float* Qs, float* dOs, float* rowLse, float* rowDelta,
                                               const int* rowPos, const __nv_bfloat16* q, const __nv_bfloat16* dO,
                                               const float* lse, const float* delta, const float* coef, int b, int S,
                                               int Hq, int h) {
    using L = SimtLayout<DMAX, BM, BN>;
    for (int u = threadIdx.x; u < BM * DMAX; u += NT) {
        const int r = u / DMAX, c = u % DMAX, pos = rowPos[r];
        float qv = 0.f, ov = 0.f;
        if (pos >= 0) {
            const i64 off = (((i64)b * S + pos) * Hq + h) * DMAX + c;
            qv = __bfloat162float(q[off]);
            ov = __bfloat162float(dO[off]) * (coef ? coef[(i64)b * S + pos] : 1.f);
        }
        Qs[r * L::LD + c] = qv;
        dOs[r * L::LD + c] = ov;
    }
    for (int r = threadIdx.x; r < BM; r += NT) {
        const int pos = rowPos[r];
        const i64 l = ((i64)b * S + (pos >= 0 ? pos : 0)) * Hq + h;
        rowLse[r] = pos >= 0 ? lse[l] : 0.f;
        rowDelta[r] = pos >= 0 ? delta[l] : 0.f;
    }
}

// Stages key/value rows j0..j0+BN-1 of kv head g as fp32 (zeros past S).
template <int DMAX, int BM, int BN, int NT>
__device__ __forceinline__ void simt_load_keys(float* Ks, float* Vs, const __nv_bfloat16* k, const __nv_bfloat16* v,
                                               int b, int S, int Hkv, int g, int j0) {
    using L = SimtLayout<DMAX, BM, BN>;
    for (int u = threadIdx.x; u < BN * DMAX; u += NT) {
        const int r = u / DMAX, c = u % DMAX, j = j0 + r;
        float kv = 0.f, vv = 0.f;
        if (j < S) {
            const i64 off = (((i64)b * S + j) * Hkv + g) * DMAX + c;
            kv = __bfloat162float(k[off]);
            vv = __bfloat162float(v[off]);
        }
        Ks[r * L::LD + c] = kv;
        Vs[r * L::LD + c] = vv;
    }
}

#define SIMT_BWD_ARGS                                                                                               \
    const __nv_bfloat16 *__restrict__ q, const __nv_bfloat16 *__restrict__ k, const __nv_bfloat16 *__restrict__ v, \
        const __nv_bfloat16 *__restrict__ dO, const int *__restrict__ listF, const int *__restrict__ nF,           \
        const int *__restrict__ listW, const int *__restrict__ nW, const float *__restrict__ lseF,                 \
        const float *__restrict__ lseW, const float *__restrict__ deltaF, const float *__restrict__ deltaW,        \
        const float *__restrict__ coefF, const float *__restrict__ coefW, int B, int S, int Hq, int Hkv, int w,    \
        float scale
#define SIMT_BWD_PASS q, k, v, dO, listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF, coefW, B, S, Hq, Hkv, w, scale

// dK/dV: grid (ceil(S/BN), Hkv, B), block NT, dynamic shared SimtLayout::BYTES. Thread owns dK, dV rows
// jy*J..+J, columns dx*DC..+DC in registers; dK, dV [B,S,Hkv,D] written (bf16) for the tile's keys.
template <int DMAX, int BM, int BN, int NT, int SR, int SC, int J>
__device__ void simt_dkdv(SIMT_BWD_ARGS, __nv_bfloat16* __restrict__ dK, __nv_bfloat16* __restrict__ dV) {
    using L = SimtLayout<DMAX, BM, BN>;
    constexpr int DXG = NT / (BN / J), DC = DMAX / DXG;
    static_assert(DXG * (BN / J) == NT && DC * DXG == DMAX, "dK/dV micro-tiles must cover the tile");
    extern __shared__ __align__(16) unsigned char smraw[];
    float* sm = (float*)smraw;
    float *Qs = sm + L::QS, *dOs = sm + L::DOS, *Ks = sm + L::KS, *Vs = sm + L::VS, *Ps = sm + L::PS,
          *dSs = sm + L::DSS, *rowLse = sm + L::RL, *rowDelta = sm + L::RD;
    int* rowPos = (int*)(sm + L::END);
    const int j0 = blockIdx.x * BN, g = blockIdx.y, b = blockIdx.z, G = Hq / Hkv, tid = threadIdx.x;
    const int jmax = min(j0 + BN, S) - 1;
    const int jy = tid / DXG, dx = tid % DXG;
    simt_load_keys<DMAX, BM, BN, NT>(Ks, Vs, k, v, b, S, Hkv, g, j0);
    float accK[J][DC], accV[J][DC];
#pragma unroll
    for (int a = 0; a < J; a++)
#pragma unroll
        for (int c = 0; c < DC; c++) accK[a][c] = accV[a][c] = 0.f;
    // pass 1: branch F then W; heads of the group; chunks of BM queries (in list order) that see the key tile
    for (int br = 0; br < 2; br++) {
        const int* cnt = br == 0 ? nF : nW;
        if (!cnt) continue;
        const bool full = br == 0;
        const int* list = (full ? listF : listW) + (i64)b * S;
        const int n = cnt[b];
        const int lo = bwd_lower_bound(list, n, j0);
        const int hi = full ? n : bwd_lower_bound(list, n, bwd_window_end(jmax, w, S));
        for (int h = g * G; h < (g + 1) * G; h++) {
            for (int c0 = lo; c0 < hi; c0 += BM) {
                __syncthreads();  // previous chunk's phase B is done
                for (int r = tid; r < BM; r += NT) rowPos[r] = c0 + r < hi ? list[c0 + r] : -1;
                __syncthreads();
                simt_load_rows<DMAX, BM, BN, NT>(Qs, dOs, rowLse, rowDelta, rowPos, q, dO, full ? lseF : lseW,
                                                 full ? deltaF : deltaW, full ? coefF : coefW, b, S, Hq, h);
                __syncthreads();
                simt_phase_a<DMAX, BM, BN, NT, SR, SC>(Qs, dOs, Ks, Vs, rowPos, rowLse, rowDelta, j0, full, w, scale,
                    [&](int i, int jj, float p, float ds) { Ps[i * L::LDP + jj] = p; dSs[i * L::LDP + jj] = ds; });
                __syncthreads();
                // phase B: dV += P^T dOB, dK += dS^T Q over the chunk's rows, in order
#pragma unroll 2
                for (int i = 0; i < BM; i++) {
                    float p[J], ds[J], o[DC], qq[DC];
                    lds_f<J>(Ps + i * L::LDP + jy * J, p);
                    lds_f<J>(dSs + i * L::LDP + jy * J, ds);
                    lds_f<DC>(dOs + i * L::LD + dx * DC, o);
                    lds_f<DC>(Qs + i * L::LD + dx * DC, qq);
#pragma unroll
                    for (int a = 0; a < J; a++)
#pragma unroll
                        for (int c = 0; c < DC; c++) {
                            accV[a][c] += p[a] * o[c];
                            accK[a][c] += ds[a] * qq[c];
                        }
                }
            }
        }
    }
    // store the tile's rows, rounded once to bf16
#pragma unroll
    for (int a = 0; a < J; a++) {
        const int j = j0 + jy * J + a;
        if (j >= S) continue;
        const i64 off = (((i64)b * S + j) * Hkv + g) * DMAX;
#pragma unroll
        for (int c = 0; c < DC; c++) {
            const int x = dx * DC + c;
            dK[off + x] = __float2bfloat16_rn(accK[a][c] * scale);
            dV[off + x] = __float2bfloat16_rn(accV[a][c]);
        }
    }
}

// Tile schedule of the SIMT dQ kernel (one CTA per (list tile, head, batch)), as the fp32 kernels' swi_pick_tile:
//   grid.x = tilesPerBatch * Hq * B; x -> h = x % Hq, b = (x / Hq) % B, t = x / (Hq*B); full tiles first in
//   descending position order, then window tiles; false for CTAs beyond the batch's tile count.
struct SimtTile {
    int b, h, start, count;
    bool full;
    const int* list;
};
__device__ __forceinline__ bool simt_pick_tile(int BM, int Hq, int B, int S, const int* listF, const int* nF,
                                               const int* listW, const int* nW, SimtTile& tile) {
    long long x = blockIdx.x;
    tile.h = (int)(x % Hq);
    tile.b = (int)((x / Hq) % B);
    int t = (int)(x / ((long long)Hq * B));
    int nf = nF ? nF[tile.b] : 0;
    int nw = nW ? nW[tile.b] : 0;
    int tF = (nf + BM - 1) / BM;
    int tW = (nw + BM - 1) / BM;
    if (t < tF) {
        tile.full = true;
        tile.start = (tF - 1 - t) * BM;
        tile.count = min(BM, nf - tile.start);
        tile.list = listF + (i64)tile.b * S;
        return true;
    }
    t -= tF;
    if (t < tW) {
        tile.full = false;
        tile.start = t * BM;
        tile.count = min(BM, nw - tile.start);
        tile.list = listW + (i64)tile.b * S;
        return true;
    }
    return false;
}

// dQ: grid (tiles * Hq * B), block NT, dynamic shared SimtLayout::BYTES. Thread owns dQ rows iy*I..+I, columns
// dx*DC..+DC. dQacc [B,S,Hq,D] fp32: written, or added to when accumulate (SOFT's second branch).
template <int DMAX, int BM, int BN, int NT, int SR, int SC, int I>
__device__ void simt_dq(SIMT_BWD_ARGS, float* __restrict__ dQacc, int accumulate) {
    using L = SimtLayout<DMAX, BM, BN>;
    constexpr int DXG = NT / (BM / I), DC = DMAX / DXG;
    static_assert(DXG * (BM / I) == NT && DC * DXG == DMAX, "dQ micro-tiles must cover the tile");
    extern __shared__ __align__(16) unsigned char smraw[];
    float* sm = (float*)smraw;
    float *Qs = sm + L::QS, *dOs = sm + L::DOS, *Ks = sm + L::KS, *Vs = sm + L::VS, *dSt = sm + L::PS,
          *rowLse = sm + L::RL, *rowDelta = sm + L::RD;
    int* rowPos = (int*)(sm + L::END);
    SimtTile tile;
    if (!simt_pick_tile(BM, Hq, B, S, listF, nF, listW, nW, tile)) return;
    const int tid = threadIdx.x, b = tile.b, h = tile.h, gk = h / (Hq / Hkv);
    const bool full = tile.full;
    for (int r = tid; r < BM; r += NT) rowPos[r] = r < tile.count ? tile.list[tile.start + r] : -1;
    __syncthreads();
    simt_load_rows<DMAX, BM, BN, NT>(Qs, dOs, rowLse, rowDelta, rowPos, q, dO, full ? lseF : lseW,
                                     full ? deltaF : deltaW, full ? coefF : coefW, b, S, Hq, h);
    const int qmin = rowPos[0], qmax = rowPos[tile.count - 1];
    const int kLo = full ? 0 : max(0, qmin - w + 1);
    const int iy = tid / DXG, dx = tid % DXG;
    float acc[I][DC];
#pragma unroll
    for (int a = 0; a < I; a++)
#pragma unroll
        for (int c = 0; c < DC; c++) acc[a][c] = 0.f;
    // pass 1: the key tiles the rows can see, in order
    for (int j0 = (kLo / BN) * BN; j0 <= qmax; j0 += BN) {
        __syncthreads();
        simt_load_keys<DMAX, BM, BN, NT>(Ks, Vs, k, v, b, S, Hkv, gk, j0);
        __syncthreads();
        simt_phase_a<DMAX, BM, BN, NT, SR, SC>(Qs, dOs, Ks, Vs, rowPos, rowLse, rowDelta, j0, full, w, scale,
            [&](int i, int jj, float p, float ds) { dSt[jj * L::LDQ + i] = ds; });
        __syncthreads();
        // phase B: dQ += dS K
#pragma unroll 2
        for (int jj = 0; jj < BN; jj++) {
            float ds[I], kk[DC];
            lds_f<I>(dSt + jj * L::LDQ + iy * I, ds);
            lds_f<DC>(Ks + jj * L::LD + dx * DC, kk);
#pragma unroll
            for (int a = 0; a < I; a++)
#pragma unroll
                for (int c = 0; c < DC; c++) acc[a][c] += ds[a] * kk[c];
        }
    }
    // store (or add to) the tile's rows, fp32
#pragma unroll
    for (int a = 0; a < I; a++) {
        const int pos = rowPos[iy * I + a];
        if (pos < 0) continue;
        const i64 off = (((i64)b * S + pos) * Hq + h) * DMAX;
#pragma unroll
        for (int c = 0; c < DC; c++) {
            const int x = dx * DC + c;
            const float val = acc[a][c] * scale;
            dQacc[off + x] = accumulate ? dQacc[off + x] + val : val;
        }
    }
}

// ================================================================================================================
// Version 2: tensor cores (mma.sync m16n8k16)
// ================================================================================================================
//
// Both kernels: 4 warps (128 threads), tiles of 64 rows x D bf16 in shared memory, XOR-swizzled (swz<CH>), loaded
// with 16-byte vector loads (rows past S or padding rows are zero). Operand patterns (attn_fwd_bf16.cuh, step 5):
//   A from a row-major [m][k] tile           ldsm_x4   at swz(row0 + (lane & 15), kk*2 + (lane >> 4))
//   B (two n8 tiles) from [n][k] rows        ldsm_x4   at swz(n0 + (lane >> 4)*8 + (lane & 7), kk*2 + ((lane >> 3) & 1))
//   B (two n8 tiles) from [k][n] rows        ldsm_x4_t at swz(k0 + ((lane >> 3) & 1)*8 + (lane & 7), dp*2 + (lane >> 4))
//   A from fp32 accumulators (C layout of two n8 tiles = A layout of one k16 step), rounded to bf16 (pack_bf16)
// C fragment element e of n-tile n for lane (grp = lane >> 2, c4 = lane & 3): row grp + 8*(e >> 1),
// column n*8 + 2*c4 + (e & 1).

constexpr int BWD_T = 64;     // rows per tile (keys of a dK/dV block, queries of a dQ block, chunk sizes)
constexpr int BWD_NT = 128;   // threads per block (4 warps x 16 rows)

template <int D>
constexpr int bwd_mma_smem_bytes() {
    return 4 * BWD_T * D * 2 + 4 * BWD_T * 4;  // sK, sV, sQ, sdO + pos, lse, delta, coef
}

// The branch lists of batch b in the forward's compaction format: full = order[b*S + 0..nF), window =
// order[b*S + nF..S). order == nullptr (SOFT): both lists are the identity 0..S-1.
__device__ __forceinline__ void bwd_branch_list(const int* order, const int* nfull, int b, int S, bool full,
                                                const int*& list, int& n) {
    if (!order) { list = nullptr; n = S; return; }
    const int nF = nfull[b];
    const int* base = order + (i64)b * S;
    list = full ? base : base + nF;
    n = full ? nF : S - nF;
}

// Stages 64 rows of a [B,S,H,D] bf16 tensor (row r at position pos[r] of head hh; pos < 0 or >= S: zeros) into a
// swizzled tile at shared address dst. rowsFrom(r) returns the position of row r.
template <int D, typename Rows>
__device__ __forceinline__ void bwd_stage(uint8_t* dst, const __nv_bfloat16* __restrict__ X, int b, int S, int H,
                                          int hh, int S_limit, Rows rowsFrom) {
    constexpr int CH = D / 8;
#pragma unroll
    for (int u = 0; u < BWD_T * CH / BWD_NT; u++) {
        const int n = threadIdx.x + u * BWD_NT;
        const int r = n / CH, ch = n % CH;
        const int pos = rowsFrom(r);
        uint4 val = make_uint4(0u, 0u, 0u, 0u);
        if (pos >= 0 && pos < S_limit) val = *reinterpret_cast<const uint4*>(X + (((i64)b * S + pos) * H + hh) * D + ch * 8);
        *reinterpret_cast<uint4*>(dst + swz<CH>(r, ch)) = val;
    }
}

// ---- dK, dV --------------------------------------------------------------------------------------------------
// Block = (key tile kt of 64 keys, kv head g, batch b); blockIdx.x = (kt * B + b) * Hkv + g (key tile 0, the one
// seen by the most queries, first). Warp w owns keys j0 + 16w .. +15 and accumulates their dK, dV rows [16 x D] in
// registers over: branch F then W; the G query heads of the group; chunks of 64 list entries whose positions can
// see the tile (full: pos >= j0; window: j0 <= pos < jmax + w). Per chunk, with Q, dO of the chunk staged:
//   S^T  = K Q^T   [16 x 64]   A = K rows,  B = Q rows ([n][k])
//   dP^T = V dO^T  [16 x 64]   A = V rows,  B = dO rows
//   P^T  = exp2(S^T scale log2e - lse log2e) on visible pairs, dS^T = P^T (c dP^T - delta); P^T *= c
//   dV  += P^T dO  [16 x D]    A = P^T (accumulators), B = dO ([k][n] = query-major rows, .trans)
//   dK  += dS^T Q  [16 x D]    A = dS^T,               B = Q
// Finally dK *= scale, both rounded once to bf16. Grid: ceil(S/64) * Hkv * B blocks, 128 threads,
// bwd_mma_smem_bytes<D>() dynamic shared bytes.
template <int D>
__device__ __forceinline__ void mma_dkdv_body(const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K,
                                              const __nv_bfloat16* __restrict__ V,
                                              const __nv_bfloat16* __restrict__ dO, const int* __restrict__ order,
                                              const int* __restrict__ nfull, const float* __restrict__ lseF,
                                              const float* __restrict__ lseW, const float* __restrict__ deltaF,
                                              const float* __restrict__ deltaW, const float* __restrict__ coefF,
                                              const float* __restrict__ coefW, __nv_bfloat16* __restrict__ dK,
                                              __nv_bfloat16* __restrict__ dV, int B, int S, int Hq, int Hkv,
                                              int window, float scale) {
    constexpr int CH = D / 8, KD = D / 16, ND = D / 8;
    extern __shared__ __align__(128) uint8_t smem[];
    uint8_t* sK = smem;
    uint8_t* sV = sK + BWD_T * D * 2;
    uint8_t* sQ = sV + BWD_T * D * 2;
    uint8_t* sdO = sQ + BWD_T * D * 2;
    int* sPos = reinterpret_cast<int*>(sdO + BWD_T * D * 2);
    float* sLse = reinterpret_cast<float*>(sPos + BWD_T);
    float* sDelta = sLse + BWD_T;
    float* sCoef = sDelta + BWD_T;
    const uint32_t aK = smem_addr(sK), aV = smem_addr(sV), aQ = smem_addr(sQ), adO = smem_addr(sdO);

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int grp = lane >> 2, c4 = lane & 3;
    const int g = blockIdx.x % Hkv;
    const int b = (blockIdx.x / Hkv) % B;
    const int kt = blockIdx.x / (Hkv * B);
    const int j0 = kt * BWD_T;
    if (j0 >= S) return;
    const int jmax = min(j0 + BWD_T, S) - 1;
    const int G = Hq / Hkv;
    const float sl2 = scale * 1.4426950408889634f;
    const int kw0 = warp * 16;  // this warp's first key row in the tile

    // 1. the key tile (K, V of kv head g; keys past S are zero and visible to nobody)
    bwd_stage<D>(sK, K, b, S, Hkv, g, S, [&](int r) { return j0 + r; });
    bwd_stage<D>(sV, V, b, S, Hkv, g, S, [&](int r) { return j0 + r; });

    float accK[ND][4], accV[ND][4];
#pragma unroll
    for (int nd = 0; nd < ND; nd++)
#pragma unroll
        for (int e = 0; e < 4; e++) accK[nd][e] = accV[nd][e] = 0.f;

    // 2. branch F then W, heads of the group, chunks of 64 list entries that see the tile
    for (int br = 0; br < 2; br++) {
        const bool full = br == 0;
        const int* list;
        int n;
        bwd_branch_list(order, nfull, b, S, full, list, n);
        const int lo = bwd_lower_bound(list, n, j0);
        const int hi = full ? n : bwd_lower_bound(list, n, bwd_window_end(jmax, window, S));
        const float* lse = full ? lseF : lseW;
        const float* delta = full ? deltaF : deltaW;
        const float* coef = full ? coefF : coefW;
        for (int h = g * G; h < (g + 1) * G; h++) {
            for (int c0 = lo; c0 < hi; c0 += BWD_T) {
                __syncthreads();  // 2a. the previous chunk's reads of sQ, sdO, sPos.. are done
                if (tid < BWD_T) {
                    const int e = c0 + tid;
                    const int pos = e < hi ? (list ? list[e] : e) : -1;
                    sPos[tid] = pos;
                    const i64 rh = ((i64)b * S + max(pos, 0)) * Hq + h;
                    sLse[tid] = pos >= 0 ? lse[rh] * 1.4426950408889634f : 0.f;
                    sDelta[tid] = pos >= 0 ? delta[rh] : 0.f;
                    sCoef[tid] = pos >= 0 ? (coef ? coef[(i64)b * S + pos] : 1.f) : 0.f;
                }
                __syncthreads();
                bwd_stage<D>(sQ, Q, b, S, Hq, h, S, [&](int r) { return sPos[r]; });
                bwd_stage<D>(sdO, dO, b, S, Hq, h, S, [&](int r) { return sPos[r]; });
                __syncthreads();

                // 2b-2d. per group of 16 queries (kq): S^T, dP^T [16 keys x 16 queries], P^T, dS^T, then
                // dV += P^T dO and dK += dS^T Q over those 16 queries (one k16 step). K and V fragments are re-read
                // per group: holding S^T, dP^T for all 64 queries next to the dK, dV accumulators spills at D = 128.
#pragma unroll 1
                for (int kq = 0; kq < BWD_T / 16; kq++) {
                    float st[2][4], dpt[2][4];
#pragma unroll
                    for (int nq = 0; nq < 2; nq++)
#pragma unroll
                        for (int e = 0; e < 4; e++) st[nq][e] = dpt[nq][e] = 0.f;
#pragma unroll 2
                    for (int kk = 0; kk < KD; kk++) {
                        uint32_t ka[4], va[4], b0, b1, b2, b3;
                        ldsm_x4(ka[0], ka[1], ka[2], ka[3], aK + swz<CH>(kw0 + (lane & 15), kk * 2 + (lane >> 4)));
                        ldsm_x4(va[0], va[1], va[2], va[3], aV + swz<CH>(kw0 + (lane & 15), kk * 2 + (lane >> 4)));
                        const uint32_t off = swz<CH>(kq * 16 + (lane >> 4) * 8 + (lane & 7), kk * 2 + ((lane >> 3) & 1));
                        ldsm_x4(b0, b1, b2, b3, aQ + off);
                        mma16816(st[0], ka, b0, b1);
                        mma16816(st[1], ka, b2, b3);
                        ldsm_x4(b0, b1, b2, b3, adO + off);
                        mma16816(dpt[0], va, b0, b1);
                        mma16816(dpt[1], va, b2, b3);
                    }
                    // P^T, dS^T in fp32; the coefficient goes on P^T (dV); dS^T carries it through c dP
#pragma unroll
                    for (int nq = 0; nq < 2; nq++)
#pragma unroll
                        for (int e = 0; e < 4; e++) {
                            const int j = j0 + kw0 + grp + 8 * (e >> 1);
                            const int qc = kq * 16 + nq * 8 + 2 * c4 + (e & 1);
                            const int pos = sPos[qc];
                            const float cf = sCoef[qc];
                            const float p =
                                bwd_visible(pos, j, full, window) ? exp2f(fmaf(st[nq][e], sl2, -sLse[qc])) : 0.f;
                            dpt[nq][e] = p * (cf * dpt[nq][e] - sDelta[qc]);
                            st[nq][e] = p * cf;
                        }
                    uint32_t pa[4], da[4];
                    pa[0] = pack_bf16(st[0][0], st[0][1]);
                    pa[1] = pack_bf16(st[0][2], st[0][3]);
                    pa[2] = pack_bf16(st[1][0], st[1][1]);
                    pa[3] = pack_bf16(st[1][2], st[1][3]);
                    da[0] = pack_bf16(dpt[0][0], dpt[0][1]);
                    da[1] = pack_bf16(dpt[0][2], dpt[0][3]);
                    da[2] = pack_bf16(dpt[1][0], dpt[1][1]);
                    da[3] = pack_bf16(dpt[1][2], dpt[1][3]);
#pragma unroll
                    for (int dp = 0; dp < ND / 2; dp++) {
                        uint32_t b0, b1, b2, b3;
                        const uint32_t off = swz<CH>(kq * 16 + ((lane >> 3) & 1) * 8 + (lane & 7), dp * 2 + (lane >> 4));
                        ldsm_x4_t(b0, b1, b2, b3, adO + off);
                        mma16816(accV[2 * dp], pa, b0, b1);
                        mma16816(accV[2 * dp + 1], pa, b2, b3);
                        ldsm_x4_t(b0, b1, b2, b3, aQ + off);
                        mma16816(accK[2 * dp], da, b0, b1);
                        mma16816(accK[2 * dp + 1], da, b2, b3);
                    }
                }
            }
        }
    }

    // 3. store this warp's 16 key rows: dK = scale * accK, dV = accV, bf16
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
        const int j = j0 + kw0 + grp + 8 * hr;
        if (j >= S) continue;
        const i64 row = (((i64)b * S + j) * Hkv + g) * D;
#pragma unroll
        for (int nd = 0; nd < ND; nd++) {
            *reinterpret_cast<uint32_t*>(dK + row + nd * 8 + 2 * c4) =
                pack_bf16(accK[nd][2 * hr] * scale, accK[nd][2 * hr + 1] * scale);
            *reinterpret_cast<uint32_t*>(dV + row + nd * 8 + 2 * c4) =
                pack_bf16(accV[nd][2 * hr], accV[nd][2 * hr + 1]);
        }
    }
}

// ---- dQ ------------------------------------------------------------------------------------------------------
// Block = (query tile, head h, batch b); blockIdx.x = (t * B + b) * Hq + h. Routed (order != null): slots t <
// ceil(nF/64) take full tiles in descending position order, then window tiles; SOFT (order == null): tiles of the
// identity list in descending order, each row through both branches (F then W, accumulated in the same registers).
// Warp w owns the tile's rows 16w..16w+15 and their dQ [16 x D]; per visible key tile (K, V staged):
//   S  = Q K^T   [16 x 64]   A = Q rows,  B = K rows
//   dP = dO V^T  [16 x 64]   A = dO rows, B = V rows
//   dS = P (c dP - delta), P = exp2(S scale log2e - lse log2e) on visible pairs
//   dQ += dS K   [16 x D]    A = dS (accumulators), B = K ([k][n] = key-major rows, .trans)
// Finally dQ *= scale, rounded once to bf16. Grid: (ceil(S/64) + 1) * Hq * B blocks, 128 threads,
// bwd_mma_smem_bytes<D>() dynamic shared bytes.
template <int D>
__device__ __forceinline__ void mma_dq_body(const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K,
                                            const __nv_bfloat16* __restrict__ V, const __nv_bfloat16* __restrict__ dO,
                                            const int* __restrict__ order, const int* __restrict__ nfull,
                                            const float* __restrict__ lseF, const float* __restrict__ lseW,
                                            const float* __restrict__ deltaF, const float* __restrict__ deltaW,
                                            const float* __restrict__ coefF, const float* __restrict__ coefW,
                                            __nv_bfloat16* __restrict__ dQ, int B, int S, int Hq, int Hkv, int window,
                                            float scale) {
    constexpr int CH = D / 8, KD = D / 16, ND = D / 8;
    extern __shared__ __align__(128) uint8_t smem[];
    uint8_t* sK = smem;
    uint8_t* sV = sK + BWD_T * D * 2;
    uint8_t* sQ = sV + BWD_T * D * 2;
    uint8_t* sdO = sQ + BWD_T * D * 2;
    int* sPos = reinterpret_cast<int*>(sdO + BWD_T * D * 2);
    float* sLse = reinterpret_cast<float*>(sPos + BWD_T);
    float* sDelta = sLse + BWD_T;
    float* sCoef = sDelta + BWD_T;
    const uint32_t aK = smem_addr(sK), aV = smem_addr(sV), aQ = smem_addr(sQ), adO = smem_addr(sdO);

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int grp = lane >> 2, c4 = lane & 3;

    // 1. decode the work slot -> rows list[start .. start+cnt) and the branch passes
    const int h = blockIdx.x % Hq;
    const int b = (blockIdx.x / Hq) % B;
    const int t = blockIdx.x / (Hq * B);
    const int* rows;  // list the tile's rows come from (nullptr: identity)
    int start, cnt, passLo, passHi;  // passes: 0 = full branch, 1 = window branch
    if (order) {
        const int nF = nfull[b];
        const int ft = (nF + BWD_T - 1) / BWD_T, wt = (S - nF + BWD_T - 1) / BWD_T;
        if (t < ft) {
            rows = order + (i64)b * S;
            start = (ft - 1 - t) * BWD_T;
            cnt = min(BWD_T, nF - start);
            passLo = 0;
            passHi = 1;
        } else {
            if (t - ft >= wt) return;
            rows = order + (i64)b * S + nF;
            start = (t - ft) * BWD_T;
            cnt = min(BWD_T, S - nF - start);
            passLo = 1;
            passHi = 2;
        }
    } else {
        const int tiles = (S + BWD_T - 1) / BWD_T;
        if (t >= tiles) return;
        rows = nullptr;
        start = (tiles - 1 - t) * BWD_T;
        cnt = min(BWD_T, S - start);
        passLo = 0;
        passHi = 2;
    }
    if (tid < BWD_T) sPos[tid] = tid < cnt ? (rows ? rows[start + tid] : start + tid) : -1;
    __syncthreads();
    bwd_stage<D>(sQ, Q, b, S, Hq, h, S, [&](int r) { return sPos[r]; });
    bwd_stage<D>(sdO, dO, b, S, Hq, h, S, [&](int r) { return sPos[r]; });

    const int kvh = h / (Hq / Hkv);
    const int wr0 = warp * 16;
    const int pos0 = sPos[wr0 + grp], pos1 = sPos[wr0 + grp + 8];
    const int pFirst = sPos[0], pLast = sPos[cnt - 1];
    // rows of this warp: positions ascending; wLast = the last valid one (-1: the warp has no rows)
    const int wFirst = sPos[wr0], wLast = wr0 < cnt ? sPos[min(wr0 + 15, cnt - 1)] : -1;
    const float sl2 = scale * 1.4426950408889634f;

    float acc[ND][4];
#pragma unroll
    for (int nd = 0; nd < ND; nd++)
#pragma unroll
        for (int e = 0; e < 4; e++) acc[nd][e] = 0.f;

    // 2. branch passes (routed: the tile's branch; SOFT: full then window)
    for (int pass = passLo; pass < passHi; pass++) {
        const bool full = pass == 0;
        const float* lse = full ? lseF : lseW;
        const float* delta = full ? deltaF : deltaW;
        const float* coef = full ? coefF : coefW;
        __syncthreads();  // the previous pass's reads of sLse, sDelta, sCoef are done
        if (tid < BWD_T) {
            const int pos = sPos[tid];
            const i64 rh = ((i64)b * S + max(pos, 0)) * Hq + h;
            sLse[tid] = pos >= 0 ? lse[rh] * 1.4426950408889634f : 0.f;
            sDelta[tid] = pos >= 0 ? delta[rh] : 0.f;
            sCoef[tid] = pos >= 0 ? (coef ? coef[(i64)b * S + pos] : 1.f) : 0.f;
        }
        __syncthreads();
        const float lse0 = sLse[wr0 + grp], lse1 = sLse[wr0 + grp + 8];
        const float del0 = sDelta[wr0 + grp], del1 = sDelta[wr0 + grp + 8];
        const float cf0 = sCoef[wr0 + grp], cf1 = sCoef[wr0 + grp + 8];
        const int kLo = full ? 0 : max(0, pFirst - window + 1);
        const int wLo = full ? 0 : max(0, wFirst - window + 1);
        for (int ks = (kLo / BWD_T) * BWD_T; ks <= pLast; ks += BWD_T) {
            __syncthreads();  // 2a. the previous key tile's reads are done
            bwd_stage<D>(sK, K, b, S, Hkv, kvh, S, [&](int r) { return ks + r; });
            bwd_stage<D>(sV, V, b, S, Hkv, kvh, S, [&](int r) { return ks + r; });
            __syncthreads();
            if (wLast < 0 || ks > wLast || ks + BWD_T - 1 < wLo) continue;  // no row of this warp sees the tile

            // 2b-2d. per group of 16 keys (kk): S, dP [16 rows x 16 keys], dS = P (c dP - delta) on visible pairs,
            // then dQ += dS K over those keys (one k16 step); Q and dO fragments are re-read per group (registers).
#pragma unroll 1
            for (int kk = 0; kk < BWD_T / 16; kk++) {
                float sc[2][4], dp[2][4];
#pragma unroll
                for (int n = 0; n < 2; n++)
#pragma unroll
                    for (int e = 0; e < 4; e++) sc[n][e] = dp[n][e] = 0.f;
#pragma unroll 2
                for (int kd = 0; kd < KD; kd++) {
                    uint32_t qa[4], oa[4], b0, b1, b2, b3;
                    ldsm_x4(qa[0], qa[1], qa[2], qa[3], aQ + swz<CH>(wr0 + (lane & 15), kd * 2 + (lane >> 4)));
                    ldsm_x4(oa[0], oa[1], oa[2], oa[3], adO + swz<CH>(wr0 + (lane & 15), kd * 2 + (lane >> 4)));
                    const uint32_t off = swz<CH>(kk * 16 + (lane >> 4) * 8 + (lane & 7), kd * 2 + ((lane >> 3) & 1));
                    ldsm_x4(b0, b1, b2, b3, aK + off);
                    mma16816(sc[0], qa, b0, b1);
                    mma16816(sc[1], qa, b2, b3);
                    ldsm_x4(b0, b1, b2, b3, aV + off);
                    mma16816(dp[0], oa, b0, b1);
                    mma16816(dp[1], oa, b2, b3);
                }
#pragma unroll
                for (int n = 0; n < 2; n++)
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        const int hr = e >> 1;
                        const int pos = hr ? pos1 : pos0;
                        const int j = ks + kk * 16 + n * 8 + 2 * c4 + (e & 1);
                        const float p = bwd_visible(pos, j, full, window)
                                            ? exp2f(fmaf(sc[n][e], sl2, -(hr ? lse1 : lse0))) : 0.f;
                        sc[n][e] = p * ((hr ? cf1 : cf0) * dp[n][e] - (hr ? del1 : del0));
                    }
                uint32_t da[4];
                da[0] = pack_bf16(sc[0][0], sc[0][1]);
                da[1] = pack_bf16(sc[0][2], sc[0][3]);
                da[2] = pack_bf16(sc[1][0], sc[1][1]);
                da[3] = pack_bf16(sc[1][2], sc[1][3]);
#pragma unroll
                for (int dpi = 0; dpi < ND / 2; dpi++) {
                    uint32_t b0, b1, b2, b3;
                    ldsm_x4_t(b0, b1, b2, b3, aK + swz<CH>(kk * 16 + ((lane >> 3) & 1) * 8 + (lane & 7), dpi * 2 + (lane >> 4)));
                    mma16816(acc[2 * dpi], da, b0, b1);
                    mma16816(acc[2 * dpi + 1], da, b2, b3);
                }
            }
        }
    }

    // 3. store the warp's rows (padding rows are not stored): dQ = scale * acc, bf16
#pragma unroll
    for (int hr = 0; hr < 2; hr++) {
        const int r = wr0 + grp + 8 * hr;
        if (r >= cnt) continue;
        const int pos = hr ? pos1 : pos0;
        const i64 row = (((i64)b * S + pos) * Hq + h) * D;
#pragma unroll
        for (int nd = 0; nd < ND; nd++)
            *reinterpret_cast<uint32_t*>(dQ + row + nd * 8 + 2 * c4) =
                pack_bf16(acc[nd][2 * hr] * scale, acc[nd][2 * hr + 1] * scale);
    }
}

// ================================================================================================================
// Row helpers (fp32 arithmetic on bf16 tensors; one fixed reduction order: deterministic)
// ================================================================================================================

// delta[rh] = coef[rh / Hq] * sum_d dO[rh, d] * X[rh, d]   (coef == nullptr: 1), rh = r*Hq + h.
//   dO, X [rows*Hq, D] bf16, coef [rows] fp32 not modified; delta [rows*Hq] fp32 written.
// Launch: grid ceil(rows*Hq/8), block 256 (one warp per (r, h)).
__device__ __forceinline__ void delta_body(const __nv_bfloat16* __restrict__ dO, const __nv_bfloat16* __restrict__ X,
                                           const float* __restrict__ coef, float* __restrict__ delta, int rows,
                                           int Hq, int D) {
    const i64 rh = (i64)blockIdx.x * 8 + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (rh >= (i64)rows * Hq) return;
    const __nv_bfloat16* a = dO + rh * D;
    const __nv_bfloat16* x = X + rh * D;
    float s = 0.f;
    for (int c = lane; c < D; c += 32) s += __bfloat162float(a[c]) * __bfloat162float(x[c]);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0) delta[rh] = coef ? coef[rh / Hq] * s : s;
}

// dA[r] = factor[r] * sum_{t < hd} dO[r, t] * (X[r, t] - Y[r, t])   (Y == nullptr: 0), hd = Hq * D.
//   STRAIGHT_THROUGH, SOFT: X = oF, Y = oW, factor = p(1-p);  SELECTED_BRANCH: X = o, Y = null, factor = z - p.
//   dO, X, Y [rows, hd] bf16, factor [rows] fp32 not modified; dA [rows] fp32 written. Launch: grid rows, block 256.
__device__ __forceinline__ void router_grad_body(const __nv_bfloat16* __restrict__ dO,
                                                 const __nv_bfloat16* __restrict__ X,
                                                 const __nv_bfloat16* __restrict__ Y, const float* __restrict__ factor,
                                                 float* __restrict__ dA, int rows, int hd) {
    __shared__ float part[8];
    const int r = blockIdx.x;
    if (r >= rows) return;
    const __nv_bfloat16* a = dO + (i64)r * hd;
    const __nv_bfloat16* x = X + (i64)r * hd;
    const __nv_bfloat16* y = Y ? Y + (i64)r * hd : nullptr;
    float s = 0.f;
    for (int c = threadIdx.x; c < hd; c += blockDim.x)
        s += __bfloat162float(a[c]) * (y ? __bfloat162float(x[c]) - __bfloat162float(y[c]) : __bfloat162float(x[c]));
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        float t = 0.f;
        for (int k = 0; k < (int)(blockDim.x >> 5); k++) t += part[k];
        dA[r] = factor[r] * t;
    }
}

// y[n] = bf16(x[n]) for n < count.  x fp32 not modified, y bf16 written. Launch: grid ceil(count/256), block 256.
__device__ __forceinline__ void f32_to_bf16_body(const float* __restrict__ x, __nv_bfloat16* __restrict__ y,
                                                 i64 count) {
    const i64 n = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (n < count) y[n] = __float2bfloat16_rn(x[n]);
}

// x[n] = bf16(scale * N(0,1)) from a counter-based hash (SplitMix64 + Box-Muller), for benchmarks: fresh random data
// without a host round trip, never all zeros. x [count] written. Launch: grid ceil(count/256), block 256.
__device__ __forceinline__ void fill_normal_body(__nv_bfloat16* __restrict__ x, i64 count, unsigned long long seed,
                                                 float scale) {
    const i64 n = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= count) return;
    unsigned long long s = seed + 0x9E3779B97F4A7C15ULL * (unsigned long long)(n + 1);
    auto mix = [](unsigned long long z) {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    };
    const float u1 = (float)(((mix(s) >> 40) + 1) * 0x1.0p-24);  // (0, 1]
    const float u2 = (float)((mix(s ^ 0xD1B54A32D192ED03ULL) >> 40) * 0x1.0p-24);
    x[n] = __float2bfloat16_rn(scale * sqrtf(-2.f * logf(u1)) * cospif(2.f * u2));
}

}  // namespace swiattn_bf16
