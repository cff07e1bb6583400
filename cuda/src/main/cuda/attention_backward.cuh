// Routed (Switch) attention backward (templates; instantiated by attention_backward.cu and bf16/attn_bwd_bf16.cu): dQ, dK, dV for one or both branches, deterministic (no atomics: every output
// element is written by exactly one thread, which sums its terms in a fixed order).
// Versions side by side:
//   v1  naive: one warp per key row (dK, dV) and per query row (dQ). Any D. fp64, fp32.
//   v2  tiled SIMT: dK/dV per BN-key tile looping over the compacted query chunks that see it; dQ per BM-query
//       list tile looping over its visible key tiles. D specialised (16..256; others zero-padded). fp64, fp32, and
//       bf16 storage with fp32 arithmetic (bf16/attn_bwd_bf16.cu instantiates these templates with In = bf16).
//
// Math of one branch B in {F, W} (spec: gradient through the selected branch, SOFT: both, weighted), for query i,
// head h, kv head g = h / G, visible key j, with dOB_i = c_i dO_i (c = branch coefficient, null pointer = 1):
//   forward line:   o_i = sum_j p_ij v_j,  p_ij = exp(s_ij - lse_i),  s_ij = scale <q_i, k_j>
//   delta_i  = <dOB_i, o_i>                              (attention_util.cu, swi_delta_*)
//   dp_ij    = <dOB_i, v_j>,  ds_ij = p_ij (dp_ij - delta_i)
//   dv_j    += p_ij dOB_i          dk_j += scale ds_ij q_i          dq_i += scale ds_ij k_j
// dK, dV sum over the G query heads of the group and over both branches.
// Types: In the stored type of q, k, v, dO, dK, dV; T the compute type (of lse, delta, coef, scale, dQ). fp64 and
// fp32: In = T; bf16: In = bf16, T = float (dK, dV rounded once to bf16; dQ kept in fp32 for SOFT's two launches).
// Arguments (all versions):
//   q [B,S,Hq,D], k, v [B,S,Hkv,D], dO [B,S,Hq,D]              not modified
//   listF, listW [B,S], nF, nW [B] (null count: branch off)    not modified
//   lseF, lseW, deltaF, deltaW [B,S,Hq]                        not modified (routed: F and W are the same arrays)
//   coefF, coefW [B,S] or null                                 not modified
//   dK, dV [B,S,Hkv,D] (dkdv kernels), dQ [B,S,Hq,D] (dq kernels; accumulate != 0 adds to it)   modified
// Kernels ending in _seg take a segment table seg [5][B] (common.cuh, swi_rows) as a last argument: entry b is a
// segment, q, dO, dQ, lse, delta, coef hold the flat query rows, k, v, dK, dV the flat key rows. dK, dV rows that
// lie in no segment are not written (the caller zeroes them).
#pragma once
#include "common.cuh"

#define BWD_PARAMS(In, T)                                                                                        \
    const In *__restrict__ q, const In *__restrict__ k, const In *__restrict__ v, const In *__restrict__ dO,     \
        const int *__restrict__ listF, const int *__restrict__ nF, const int *__restrict__ listW,                   \
        const int *__restrict__ nW, const T *__restrict__ lseF, const T *__restrict__ lseW,                         \
        const T *__restrict__ deltaF, const T *__restrict__ deltaW, const T *__restrict__ coefF,                    \
        const T *__restrict__ coefW, int B, int S, int Hq, int Hkv, int d, int w, T scale
#define BWD_COMMON(T) BWD_PARAMS(T, T)
#define BWD_COMMON_ARGS q, k, v, dO, listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF, coefW, B, S, Hq, Hkv, d, w, scale

// ------------------------------------------------------------------------------------------------------------------
// v1 dK/dV: grid (S, Hkv, B), block (32), dynamic shared memory 4*D*sizeof(T).
template <typename T>
__device__ void dkdv_v1(BWD_COMMON(T), T* dK, T* dV) {
    extern __shared__ __align__(16) unsigned char smraw[];
    T* ks = (T*)smraw;
    T* vs = ks + d;
    T* dk = vs + d;
    T* dv = dk + d;
    const int j = blockIdx.x, g = blockIdx.y, b = blockIdx.z, lane = threadIdx.x, G = Hq / Hkv;
    const i64 kvOff = (((i64)b * S + j) * Hkv + g) * d;
    for (int c = lane; c < d; c += 32) { ks[c] = k[kvOff + c]; vs[c] = v[kvOff + c]; dk[c] = 0; dv[c] = 0; }
    __syncwarp();
    // pass 1: branch F then W; queries of the list that see key j, in list order; heads of the group
    for (int br = 0; br < 2; br++) {
        SwiKeyBranch<T> X;
        if (!swi_key_branch(br, listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF, coefW, b, (i64)b * S, j, j, w,
                            X))
            continue;
        const T *lse = X.lse, *delta = X.delta, *coef = X.coef;
        for (int e = X.lo; e < X.hi; e++) {
            const int i = X.list[e];
            const T c = coef ? coef[(i64)b * S + i] : T(1);
            for (int h = g * G; h < (g + 1) * G; h++) {
                const i64 qOff = (((i64)b * S + i) * Hq + h) * d, lOff = ((i64)b * S + i) * Hq + h;
                T s = 0, dp = 0;
                for (int x = lane; x < d; x += 32) { s += q[qOff + x] * ks[x]; dp += dO[qOff + x] * vs[x]; }
                s = swi_group_sum(s, 32) * scale;
                dp = swi_group_sum(dp, 32) * c;
                const T p = swi_exp(s - lse[lOff]);
                const T ds = p * (dp - delta[lOff]);
                for (int x = lane; x < d; x += 32) { dv[x] += p * c * dO[qOff + x]; dk[x] += ds * q[qOff + x]; }
            }
        }
    }
    for (int c = lane; c < d; c += 32) { dK[kvOff + c] = dk[c] * scale; dV[kvOff + c] = dv[c]; }
}

// v1 dQ: grid (S, Hq, B), block (32), dynamic shared memory 3*D*sizeof(T). Entry e: full list first, then window.
template <typename T>
__device__ void dq_v1(BWD_COMMON(T), T* dQ, int accumulate) {
    extern __shared__ __align__(16) unsigned char smraw[];
    T* qs = (T*)smraw;
    T* os = qs + d;
    T* dq = os + d;
    const int e = blockIdx.x, h = blockIdx.y, b = blockIdx.z, lane = threadIdx.x, g = h / (Hq / Hkv);
    bool full;
    int i;
    if (!swi_v1_entry(e, b, S, listF, nF, listW, nW, full, i)) return;
    const T* coef = full ? coefF : coefW;
    const T c = coef ? coef[(i64)b * S + i] : T(1);
    const i64 qOff = (((i64)b * S + i) * Hq + h) * d, lOff = ((i64)b * S + i) * Hq + h;
    const T lse = (full ? lseF : lseW)[lOff], delta = (full ? deltaF : deltaW)[lOff];
    for (int x = lane; x < d; x += 32) { qs[x] = q[qOff + x]; os[x] = c * dO[qOff + x]; dq[x] = 0; }
    __syncwarp();
    // pass 1: visible keys in order
    for (int j = full ? 0 : max(0, i - w + 1); j <= i; j++) {
        const i64 kvOff = (((i64)b * S + j) * Hkv + g) * d;
        T s = 0, dp = 0;
        for (int x = lane; x < d; x += 32) { s += qs[x] * k[kvOff + x]; dp += os[x] * v[kvOff + x]; }
        s = swi_group_sum(s, 32) * scale;
        dp = swi_group_sum(dp, 32);
        const T ds = swi_exp(s - lse) * (dp - delta);
        for (int x = lane; x < d; x += 32) dq[x] += ds * k[kvOff + x];
    }
    for (int x = lane; x < d; x += 32) {
        T val = dq[x] * scale;
        dQ[qOff + x] = accumulate ? dQ[qOff + x] + val : val;
    }
}

// ------------------------------------------------------------------------------------------------------------------
// v2 shared-memory layout (elements of T, then ints), natural row-major tiles with 16-byte row padding:
//   Qs [BM][LD] queries   dOs [BM][LD] coefficient-scaled output gradients   Ks, Vs [BN][LD]
//   Ps [BM][LDP] probabilities (dkdv) / dSt [BN][LDQ] transposed score gradients (dq)   dSs [BM][LDP]
//   rowLse, rowDelta [BM];  rowPos [BM] (int, -1 = padding)
template <typename T, int DMAX, int BM, int BN>
struct BwdV2Layout {
    static constexpr int PAD = 16 / sizeof(T);
    static constexpr int LD = DMAX + PAD, LDP = BN + PAD, LDQ = BM + PAD;
    static constexpr int PSZ = (BM * LDP > BN * LDQ) ? BM * LDP : BN * LDQ;
    static constexpr int QS = 0, DOS = QS + BM * LD, KS = DOS + BM * LD, VS = KS + BN * LD, PS = VS + BN * LD,
                         DSS = PS + PSZ, RL = DSS + BM * LDP, RD = RL + BM, END = RD + BM;
    static constexpr int BYTES = END * (int)sizeof(T) + BM * (int)sizeof(int);
};
// The tiles of BwdV2Layout L in the dynamic shared memory raw (Ps and dSt share PS).
template <typename T>
struct BwdV2Tiles {
    T *Qs, *dOs, *Ks, *Vs, *Ps, *dSs, *rowLse, *rowDelta;
    int* rowPos;
};
template <typename L, typename T>
__device__ __forceinline__ BwdV2Tiles<T> bwd_v2_tiles(unsigned char* raw) {
    T* sm = (T*)raw;
    return {sm + L::QS, sm + L::DOS, sm + L::KS, sm + L::VS, sm + L::PS, sm + L::DSS, sm + L::RL, sm + L::RD,
            (int*)(sm + L::END)};
}

// Phase A of both v2 kernels: for the BM x BN tile, S = scale Q K^T and dP = dOB V^T on an SR x SC micro-tile per
// thread, then P = exp(S - lse) on visible pairs (0 elsewhere) and dS = P (dP - delta).
// Calls store(i, j, p, ds) for each of the thread's entries.
template <typename T, int DMAX, int BM, int BN, int NT, int SR, int SC, typename Store>
__device__ __forceinline__ void bwd_phase_a(const T* Qs, const T* dOs, const T* Ks, const T* Vs, const int* rowPos,
                                            const T* rowLse, const T* rowDelta, int j0, bool full, int w, T scale,
                                            Store store) {
    using L = BwdV2Layout<T, DMAX, BM, BN>;
    constexpr int VEC = 16 / sizeof(T), TX = BN / SC;
    static_assert((BM / SR) * TX == NT, "phase A micro-tiles must cover the tile");
    const int ty = threadIdx.x / TX, tx = threadIdx.x % TX;
    T s[SR][SC], dp[SR][SC];
#pragma unroll
    for (int r = 0; r < SR; r++)
#pragma unroll
        for (int c = 0; c < SC; c++) s[r][c] = dp[r][c] = 0;
#pragma unroll 2
    for (int kk = 0; kk < DMAX; kk += VEC) {
        T a[SR][VEC], o[SR][VEC], kb[SC][VEC], vb[SC][VEC];
#pragma unroll
        for (int r = 0; r < SR; r++) {
            lds_vec<T, VEC>(Qs + (ty * SR + r) * L::LD + kk, a[r]);
            lds_vec<T, VEC>(dOs + (ty * SR + r) * L::LD + kk, o[r]);
        }
#pragma unroll
        for (int c = 0; c < SC; c++) {
            lds_vec<T, VEC>(Ks + (tx * SC + c) * L::LD + kk, kb[c]);
            lds_vec<T, VEC>(Vs + (tx * SC + c) * L::LD + kk, vb[c]);
        }
#pragma unroll
        for (int r = 0; r < SR; r++)
#pragma unroll
            for (int c = 0; c < SC; c++)
#pragma unroll
                for (int u = 0; u < VEC; u++) {  // sequential fused multiply-adds over d (see swi_delta_seq_*)
                    s[r][c] = fma(a[r][u], kb[c][u], s[r][c]);
                    dp[r][c] = fma(o[r][u], vb[c][u], dp[r][c]);
                }
    }
#pragma unroll
    for (int r = 0; r < SR; r++) {
        const int i = ty * SR + r, pos = rowPos[i];
        const T lse = rowLse[i], delta = rowDelta[i];
#pragma unroll
        for (int c = 0; c < SC; c++) {
            const int jj = tx * SC + c;
            T p = swi_visible(pos, j0 + jj, full, w) ? swi_exp(s[r][c] * scale - lse) : T(0);
            store(i, jj, p, p * (dp[r][c] - delta));
        }
    }
}

// Loads a chunk of BM query rows (positions rowPos) of head h: Qs, dOs (times the branch coefficient), lse, delta.
template <typename In, typename T, int DMAX, int BM, int BN, int NT>
__device__ __forceinline__ void bwd_load_rows(T* Qs, T* dOs, T* rowLse, T* rowDelta, const int* rowPos, const In* q,
                                              const In* dO, const T* lse, const T* delta, const T* coef,
                                              const SwiRows& R, int Hq, int h, int d) {
    using L = BwdV2Layout<T, DMAX, BM, BN>;
    constexpr int PER = BM * DMAX / NT;  // all of a thread's loads in flight at once, then the stores
    static_assert(PER * NT == BM * DMAX, "query chunk must split evenly over the threads");
    T qv[PER], ov[PER];
#pragma unroll
    for (int it = 0; it < PER; it++) {
        const int u = threadIdx.x + it * NT, r = u / DMAX, c = u % DMAX, pos = rowPos[r];
        const bool ok = pos >= 0 && c < d;
        const i64 off = ((R.q + (ok ? pos : 0)) * Hq + h) * d + (ok ? c : 0);
        qv[it] = ok ? swi_load<T>(q[off]) : T(0);
        ov[it] = ok ? swi_load<T>(dO[off]) * (coef ? coef[R.q + pos] : T(1)) : T(0);
    }
#pragma unroll
    for (int it = 0; it < PER; it++) {
        const int u = threadIdx.x + it * NT, r = u / DMAX, c = u % DMAX;
        Qs[r * L::LD + c] = qv[it];
        dOs[r * L::LD + c] = ov[it];
    }
    for (int r = threadIdx.x; r < BM; r += NT) {
        const int pos = rowPos[r];
        const i64 l = (R.q + (pos >= 0 ? pos : 0)) * Hq + h;
        rowLse[r] = pos >= 0 ? lse[l] : T(0);
        rowDelta[r] = pos >= 0 ? delta[l] : T(0);
    }
}

// Loads key/value rows j0..j0+BN-1 of kv head g (zeros past the entry's keys and past d).
template <typename In, typename T, int DMAX, int BM, int BN, int NT>
__device__ __forceinline__ void bwd_load_keys(T* Ks, T* Vs, const In* k, const In* v, const SwiRows& R, int Hkv,
                                              int g, int d, int j0) {
    using L = BwdV2Layout<T, DMAX, BM, BN>;
    constexpr int PER = BN * DMAX / NT;
    static_assert(PER * NT == BN * DMAX, "key tile must split evenly over the threads");
    T kv[PER], vv[PER];
#pragma unroll
    for (int it = 0; it < PER; it++) {
        const int u = threadIdx.x + it * NT, r = u / DMAX, c = u % DMAX, j = j0 + r;
        const bool ok = j < R.keys && c < d;
        const i64 off = ((R.k + (ok ? j : 0)) * Hkv + g) * d + (ok ? c : 0);
        kv[it] = ok ? swi_load<T>(k[off]) : T(0);
        vv[it] = ok ? swi_load<T>(v[off]) : T(0);
    }
#pragma unroll
    for (int it = 0; it < PER; it++) {
        const int u = threadIdx.x + it * NT, r = u / DMAX, c = u % DMAX;
        Ks[r * L::LD + c] = kv[it];
        Vs[r * L::LD + c] = vv[it];
    }
}

// v2 dK/dV: grid (ceil(S/BN), Hkv, B), block (NT), dynamic shared memory BwdV2Layout::BYTES.
//   Thread owns dK, dV rows jy*J..+J, columns dx*DC..+DC in registers.
template <typename In, typename T, int DMAX, int BM, int BN, int NT, int SR, int SC, int J, bool SEG = false>
__device__ void dkdv_v2(BWD_PARAMS(In, T), In* dK, In* dV, const int* seg = nullptr) {
    using L = BwdV2Layout<T, DMAX, BM, BN>;
    constexpr int DXG = NT / (BN / J), DC = DMAX / DXG;
    static_assert(DXG * (BN / J) == NT && DC * DXG == DMAX, "dK/dV micro-tiles must cover the tile");
    extern __shared__ __align__(16) unsigned char smraw[];
    const BwdV2Tiles<T> t = bwd_v2_tiles<L, T>(smraw);
    T *Qs = t.Qs, *dOs = t.dOs, *Ks = t.Ks, *Vs = t.Vs, *Ps = t.Ps, *dSs = t.dSs, *rowLse = t.rowLse,
      *rowDelta = t.rowDelta;
    int* rowPos = t.rowPos;
    const int j0 = blockIdx.x * BN, g = blockIdx.y, b = blockIdx.z, G = Hq / Hkv, tid = threadIdx.x;
    const SwiRows R = swi_rows<SEG>(seg, B, S, b);
    if (SEG && j0 >= R.keys) return;  // a key tile past this segment's keys (the grid covers the longest segment)
    const int jmax = min(j0 + BN, R.keys) - 1;
    const int jy = tid / DXG, dx = tid % DXG;
    bwd_load_keys<In, T, DMAX, BM, BN, NT>(Ks, Vs, k, v, R, Hkv, g, d, j0);
    T accK[J][DC], accV[J][DC];
#pragma unroll
    for (int a = 0; a < J; a++)
#pragma unroll
        for (int c = 0; c < DC; c++) accK[a][c] = accV[a][c] = 0;
    // pass 1: branch F then W; heads of the group; chunks of BM queries (in list order) that see the key tile
    for (int br = 0; br < 2; br++) {
        SwiKeyBranch<T> X;
        if (!swi_key_branch(br, listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF, coefW, b, R.list, j0, jmax, w,
                            X))
            continue;
        const int lo = X.lo, hi = X.hi;
        for (int h = g * G; h < (g + 1) * G; h++) {
            for (int c0 = lo; c0 < hi; c0 += BM) {
                __syncthreads();  // previous chunk's phase B is done
                for (int r = tid; r < BM; r += NT) rowPos[r] = c0 + r < hi ? X.list[c0 + r] : -1;
                __syncthreads();
                bwd_load_rows<In, T, DMAX, BM, BN, NT>(Qs, dOs, rowLse, rowDelta, rowPos, q, dO, X.lse, X.delta, X.coef,
                                                       R, Hq, h, d);
                __syncthreads();
                bwd_phase_a<T, DMAX, BM, BN, NT, SR, SC>(Qs, dOs, Ks, Vs, rowPos, rowLse, rowDelta, j0, X.full, w,
                    scale, [&](int i, int jj, T p, T ds) { Ps[i * L::LDP + jj] = p; dSs[i * L::LDP + jj] = ds; });
                __syncthreads();
                // phase B: dV += P^T dOB, dK += dS^T Q over the chunk's rows, in order
#pragma unroll 2
                for (int i = 0; i < BM; i++) {
                    T p[J], ds[J], o[DC], qq[DC];
                    lds_vec<T, J>(Ps + i * L::LDP + jy * J, p);
                    lds_vec<T, J>(dSs + i * L::LDP + jy * J, ds);
                    lds_vec<T, DC>(dOs + i * L::LD + dx * DC, o);
                    lds_vec<T, DC>(Qs + i * L::LD + dx * DC, qq);
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
    // store the tile's rows
#pragma unroll
    for (int a = 0; a < J; a++) {
        const int j = j0 + jy * J + a;
        if (j >= R.keys) continue;
        const i64 off = ((R.k + j) * Hkv + g) * d;
#pragma unroll
        for (int c = 0; c < DC; c++) {
            const int x = dx * DC + c;
            if (x < d) { dK[off + x] = swi_store<In>(accK[a][c] * scale); dV[off + x] = swi_store<In>(accV[a][c]); }
        }
    }
}

// v2 dQ: grid (tiles * Hq * B) as the forward (swi_pick_tile), block (NT), dynamic shared BwdV2Layout::BYTES.
//   Thread owns dQ rows iy*I..+I, columns dx*DC..+DC in registers.
template <typename In, typename T, int DMAX, int BM, int BN, int NT, int SR, int SC, int I, bool SEG = false>
__device__ void dq_v2(BWD_PARAMS(In, T), T* dQ, int accumulate, const int* seg = nullptr) {
    using L = BwdV2Layout<T, DMAX, BM, BN>;
    constexpr int DXG = NT / (BM / I), DC = DMAX / DXG;
    static_assert(DXG * (BM / I) == NT && DC * DXG == DMAX, "dQ micro-tiles must cover the tile");
    extern __shared__ __align__(16) unsigned char smraw[];
    const BwdV2Tiles<T> t = bwd_v2_tiles<L, T>(smraw);
    T *Qs = t.Qs, *dOs = t.dOs, *Ks = t.Ks, *Vs = t.Vs, *dSt = t.Ps, *rowLse = t.rowLse, *rowDelta = t.rowDelta;
    int* rowPos = t.rowPos;
    SwiTile tile;
    if (!swi_pick_tile<SEG>(BM, Hq, B, S, listF, nF, listW, nW, tile, seg)) return;
    const int tid = threadIdx.x, h = tile.h, g = h / (Hq / Hkv);
    const SwiRows R = tile.rows;
    const bool full = tile.full;
    for (int r = tid; r < BM; r += NT) rowPos[r] = r < tile.count ? tile.list[tile.start + r] : -1;
    __syncthreads();
    bwd_load_rows<In, T, DMAX, BM, BN, NT>(Qs, dOs, rowLse, rowDelta, rowPos, q, dO, full ? lseF : lseW,
                                       full ? deltaF : deltaW, full ? coefF : coefW, R, Hq, h, d);
    const int qmin = rowPos[0], qmax = rowPos[tile.count - 1];
    const int kLo = full ? 0 : max(0, qmin - w + 1);
    const int iy = tid / DXG, dx = tid % DXG;
    T acc[I][DC];
#pragma unroll
    for (int a = 0; a < I; a++)
#pragma unroll
        for (int c = 0; c < DC; c++) acc[a][c] = 0;
    // pass 1: the key tiles the rows can see, in order
    for (int j0 = (kLo / BN) * BN; j0 <= qmax; j0 += BN) {
        __syncthreads();
        bwd_load_keys<In, T, DMAX, BM, BN, NT>(Ks, Vs, k, v, R, Hkv, g, d, j0);
        __syncthreads();
        bwd_phase_a<T, DMAX, BM, BN, NT, SR, SC>(Qs, dOs, Ks, Vs, rowPos, rowLse, rowDelta, j0, full, w, scale,
            [&](int i, int jj, T p, T ds) { dSt[jj * L::LDQ + i] = ds; });
        __syncthreads();
        // phase B: dQ += dS K
#pragma unroll 2
        for (int jj = 0; jj < BN; jj++)
            swi_rank1_acc<T, I, DC>(acc, dSt + jj * L::LDQ + iy * I, Ks + jj * L::LD + dx * DC);
    }
    // store (or add to) the tile's rows
#pragma unroll
    for (int a = 0; a < I; a++) {
        const int pos = rowPos[iy * I + a];
        if (pos < 0) continue;
        const i64 off = ((R.q + pos) * Hq + h) * d;
#pragma unroll
        for (int c = 0; c < DC; c++) {
            const int x = dx * DC + c;
            if (x < d) {
                T val = acc[a][c] * scale;
                dQ[off + x] = accumulate ? dQ[off + x] + val : val;
            }
        }
    }
}

