// Routed (Switch) attention forward: O [B,S,Hq,D] and LSE [B,S,Hq] over the compacted route (route_compact.cu).
// Versions side by side, as in llm.c's dev/cuda (every version is checked against the fp64 reference before it is
// timed: CudaKernelEquivalenceTest walks all of them):
//   v1  naive: one warp per (query, head), online softmax over the visible keys one at a time. Any D. fp64, fp32.
//   v2  tiled SIMT: BM compacted queries x BN keys per step, online softmax, register micro-tiles, D specialised
//       (16, 32, 64, 128, 256; other D run on the next larger tile with zero padding). fp64, fp32.
//   v9  tiled fp64 tensor cores (DMMA m16n8k16): BM=128 queries (8 warps x 16 rows), BN=32 keys, K/V tiles
//       double-buffered against the two matrix products with cp.async, padded row strides (fragment loads = base +
//       constant), strided unrolled K/V loads and a branch-free table exp. fp64, D in {16, 32, 64, 128} (default).
// v3 (m16n8k4 DMMA, XOR-swizzled tiles), v4 (v3 with m16n8k16) and the experiments v5 to v8 built from the v4
// profile were checked against the reference and timed on the H200, and are slower than v9; they live in git
// history (v3 and v4 until commit 8836669, v5-v8 in c0a3edc; bench/results/2026-11-29-fp64-forward-experiments.md).
//
// Math (per query i of branch z, head h, kv head g = h / G):
//   s_ij = scale * <q_i, k_j> for visible j;  m = max_j s_ij;  l = sum_j exp(s_ij - m)
//   o_i  = sum_j exp(s_ij - m) v_j / l;       lse_i = m + log(l)
// computed in the online form: per key tile, m' = max(m, max_tile s), alpha = exp(m - m'), l = alpha*l + sum p,
// o = alpha*o + P V.
// Every kernel gets both lists (listF/nF, listW/nW); a null count pointer disables that branch (SOFT runs the
// branches one at a time over the identity lists). Arguments (all versions):
//   q [B,S,Hq,D], k, v [B,S,Hkv,D]                 not modified
//   o [B,S,Hq,D], lse [B,S,Hq]                     modified at the rows of the lists only
//   listF, listW [B,S]; nF, nW [B]                 not modified
// Kernels ending in _seg take a segment table seg [5][B] (common.cuh, swi_rows) as a last argument: entry b is a
// segment, q, o, lse hold the flat query rows and k, v the flat key rows; everything else is as above.
#include "common.cuh"
#include "dmma_f64.cuh"

#define FWD_PARAMS(T)                                                                                         \
    const T *__restrict__ q, const T *__restrict__ k, const T *__restrict__ v, T *__restrict__ o,               \
        T *__restrict__ lse, const int *__restrict__ listF, const int *__restrict__ nF,                          \
        const int *__restrict__ listW, const int *__restrict__ nW, int B, int S, int Hq, int Hkv, int d, int w, \
        T scale
#define FWD_ARGS q, k, v, o, lse, listF, nF, listW, nW, B, S, Hq, Hkv, d, w, scale

// ------------------------------------------------------------------------------------------------------------------
// v1: grid (S, Hq, B), block (32), dynamic shared memory 2*D*sizeof(T). Entry e of batch b: e < nF[b] is the full
// query listF[b*S+e], then the window queries. Any D.
template <typename T>
__device__ void fwd_v1(FWD_PARAMS(T)) {
    extern __shared__ __align__(16) unsigned char smraw[];
    T* qs = (T*)smraw;  // [D] query row
    T* acc = qs + d;    // [D] unnormalised output
    const int e = blockIdx.x, h = blockIdx.y, b = blockIdx.z, lane = threadIdx.x;
    bool full;
    int i;
    if (!swi_v1_entry(e, b, S, listF, nF, listW, nW, full, i)) return;
    const int g = h / (Hq / Hkv);
    const T* qr = q + (((i64)b * S + i) * Hq + h) * d;
    for (int c = lane; c < d; c += 32) { qs[c] = qr[c]; acc[c] = 0; }
    __syncwarp();
    T m = swi_neg_inf<T>(), l = 0;
    // pass 1: keys j0..i one at a time (online softmax)
    for (int j = full ? 0 : max(0, i - w + 1); j <= i; j++) {
        const T* kr = k + (((i64)b * S + j) * Hkv + g) * d;
        const T* vr = v + (((i64)b * S + j) * Hkv + g) * d;
        T s = 0;
        for (int c = lane; c < d; c += 32) s += qs[c] * kr[c];
        s = swi_group_sum(s, 32) * scale;
        T mn = fmax(m, s);
        T alpha = swi_exp(m - mn), p = swi_exp(s - mn);
        l = l * alpha + p;
        for (int c = lane; c < d; c += 32) acc[c] = acc[c] * alpha + p * vr[c];
        m = mn;
    }
    // pass 2: normalise and store
    T* orow = o + (((i64)b * S + i) * Hq + h) * d;
    for (int c = lane; c < d; c += 32) orow[c] = acc[c] / l;
    if (lane == 0) lse[((i64)b * S + i) * Hq + h] = m + swi_log(l);
}

// ------------------------------------------------------------------------------------------------------------------
// v2 tile configuration and its shared-memory size (bytes), read by the host from swi_fwd_v2_*_cfg.
//   Qt [DMAX][BM+PAD]  queries, transposed     Kt [DMAX][BN+PAD]  keys, transposed
//   Vs [BN][DMAX]      values                  St [BN][BM+PAD]    scores, then probabilities, transposed
//   rowM, rowL, rowA [BM] running max, running sum, last rescale;  rowPos [BM] query positions (-1: padding)
template <typename T, int DMAX, int BM, int BN>
struct FwdV2Layout {
    static constexpr int PAD = 16 / sizeof(T);
    static constexpr int LDQ = BM + PAD, LDK = BN + PAD;
    static constexpr int QT = 0, KT = QT + DMAX * LDQ, VS = KT + DMAX * LDK, ST = VS + BN * DMAX,
                         RM = ST + BN * LDQ, RL = RM + BM, RA = RL + BM, END = RA + BM;
    static constexpr int BYTES = END * (int)sizeof(T) + BM * (int)sizeof(int);
};

// v2: grid (tiles * Hq * B) (see swi_pick_tile), block (NT), dynamic shared memory FwdV2Layout::BYTES.
//   phase 1: S = scale * Q K^T on an SR x SC register micro-tile per thread, masked, stored transposed in St
//   phase 2: per row (NT/BM threads): tile max, new running max, P = exp(S - m), running sum, rescale factor
//   phase 3: O (4 rows x OC cols per thread, in registers) = alpha * O + P V
template <typename T, int DMAX, int BM, int BN, int NT, int SR, int SC, bool SEG>
__device__ void fwd_v2(FWD_PARAMS(T), const int* seg) {
    using L = FwdV2Layout<T, DMAX, BM, BN>;
    constexpr int TX = BN / SC, TY = BM / SR;
    static_assert(TX * TY == NT, "S micro-tiles must cover the tile");
    constexpr int OY = BM / 4, OX = NT / OY, OC = DMAX / OX;
    static_assert(OY * OX == NT && OC * OX == DMAX, "O micro-tiles must cover the tile");
    constexpr int TPR = NT / BM;  // threads per row in phase 2
    static_assert(TPR >= 1 && TPR <= 32 && (TPR & (TPR - 1)) == 0, "threads per row");
    extern __shared__ __align__(16) unsigned char smraw[];
    T* sm = (T*)smraw;
    T *Qt = sm + L::QT, *Kt = sm + L::KT, *Vs = sm + L::VS, *St = sm + L::ST;
    T *rowM = sm + L::RM, *rowL = sm + L::RL, *rowA = sm + L::RA;
    int* rowPos = (int*)(sm + L::END);

    SwiTile tile;
    if (!swi_pick_tile<SEG>(BM, Hq, B, S, listF, nF, listW, nW, tile, seg)) return;
    const int tid = threadIdx.x, h = tile.h, g = h / (Hq / Hkv);
    const SwiRows R = tile.rows;
    const bool full = tile.full;
    for (int r = tid; r < BM; r += NT) {
        rowPos[r] = r < tile.count ? tile.list[tile.start + r] : -1;
        rowM[r] = swi_neg_inf<T>();
        rowL[r] = 0;
    }
    __syncthreads();
    // queries -> Qt (zero padding for rows beyond the list and columns beyond d); coalesced reads along d
    for (int u = tid; u < BM * DMAX; u += NT) {
        int r = u / DMAX, c = u % DMAX, pos = rowPos[r];
        Qt[c * L::LDQ + r] = (pos >= 0 && c < d) ? q[((R.q + pos) * Hq + h) * d + c] : T(0);
    }
    // key/value tiles are prefetched into registers (PER elements each per thread, all loads in flight at once),
    // the next tile's during phase 3 of the current one, then stored to shared memory after the barrier
    constexpr int PER = BN * DMAX / NT;
    static_assert(PER * NT == BN * DMAX, "key tile must split evenly over the threads");
    T kreg[PER], vreg[PER];
    auto fetch = [&](int j0) {
#pragma unroll
        for (int it = 0; it < PER; it++) {
            int u = tid + it * NT, jr = u / DMAX, c = u % DMAX, j = j0 + jr;
            bool ok = j < R.keys && c < d;
            i64 off = ((R.k + (ok ? j : 0)) * Hkv + g) * d + (ok ? c : 0);
            kreg[it] = ok ? k[off] : T(0);
            vreg[it] = ok ? v[off] : T(0);
        }
    };
    const int qmin = rowPos[0], qmax = rowPos[tile.count - 1];
    const int kLo = full ? 0 : max(0, qmin - w + 1);
    const int ty = tid / TX, tx = tid % TX, oy = tid / OX, ox = tid % OX;
    T oacc[4][OC];
#pragma unroll
    for (int rr = 0; rr < 4; rr++)
#pragma unroll
        for (int cc = 0; cc < OC; cc++) oacc[rr][cc] = 0;

    // pass over the key tiles [j0, j0+BN) that any row of the tile can see
    fetch((kLo / BN) * BN);
    for (int j0 = (kLo / BN) * BN; j0 <= qmax; j0 += BN) {
        __syncthreads();  // the previous tile's phase 3 is done with Vs and St
#pragma unroll
        for (int it = 0; it < PER; it++) {
            int u = tid + it * NT, jr = u / DMAX, c = u % DMAX;
            Kt[c * L::LDK + jr] = kreg[it];
            Vs[jr * DMAX + c] = vreg[it];
        }
        __syncthreads();
        // phase 1: scores
        {
            T acc[SR][SC];
#pragma unroll
            for (int r = 0; r < SR; r++)
#pragma unroll
                for (int c = 0; c < SC; c++) acc[r][c] = 0;
#pragma unroll 4
            for (int kk = 0; kk < DMAX; kk++)
                swi_rank1_acc<T, SR, SC>(acc, Qt + kk * L::LDQ + ty * SR, Kt + kk * L::LDK + tx * SC);
#pragma unroll
            for (int r = 0; r < SR; r++) {
                int pos = rowPos[ty * SR + r];
#pragma unroll
                for (int c = 0; c < SC; c++) {
                    int j = j0 + tx * SC + c;
                    St[(tx * SC + c) * L::LDQ + ty * SR + r] =
                        swi_visible(pos, j, full, w) ? acc[r][c] * scale : swi_neg_inf<T>();
                }
            }
        }
        __syncthreads();
        // phase 2: online softmax statistics, probabilities in place
        {
            const int r = tid / TPR, part = tid % TPR;
            const T mOld = rowM[r];
            T mx = swi_neg_inf<T>();
            for (int c = part; c < BN; c += TPR) mx = fmax(mx, St[c * L::LDQ + r]);
            mx = swi_group_max(mx, TPR);
            const T mNew = fmax(mOld, mx);
            const bool none = mNew == swi_neg_inf<T>();
            const T alpha = none ? T(1) : swi_exp(mOld - mNew);
            T sum = 0;
            for (int c = part; c < BN; c += TPR) {
                T p = none ? T(0) : swi_exp(St[c * L::LDQ + r] - mNew);
                St[c * L::LDQ + r] = p;
                sum += p;
            }
            sum = swi_group_sum(sum, TPR);
            __syncwarp();  // every lane has read rowM[r] / rowL[r] before lane part 0 rewrites them
            if (part == 0) {
                rowM[r] = mNew;
                rowL[r] = rowL[r] * alpha + sum;
                rowA[r] = alpha;
            }
        }
        __syncthreads();
        // phase 3: O = alpha * O + P V (the next key tile's loads in flight meanwhile)
        if (j0 + BN <= qmax) fetch(j0 + BN);
        {
#pragma unroll
            for (int rr = 0; rr < 4; rr++) {
                T a = rowA[oy * 4 + rr];
#pragma unroll
                for (int cc = 0; cc < OC; cc++) oacc[rr][cc] *= a;
            }
#pragma unroll 4
            for (int kk = 0; kk < BN; kk++)
                swi_rank1_acc<T, 4, OC>(oacc, St + kk * L::LDQ + oy * 4, Vs + kk * DMAX + ox * OC);
        }
    }
    __syncthreads();
    // pass 2: normalise and store the tile's rows
#pragma unroll
    for (int rr = 0; rr < 4; rr++) {
        int r = oy * 4 + rr, pos = rowPos[r];
        if (pos < 0) continue;
        T l = rowL[r];
        T* orow = o + ((R.q + pos) * Hq + h) * d;
#pragma unroll
        for (int cc = 0; cc < OC; cc++) {
            int c = ox * OC + cc;
            if (c < d) orow[c] = oacc[rr][cc] / l;
        }
        if (ox == 0) lse[(R.q + pos) * Hq + h] = rowM[r] + swi_log(l);
    }
}

// ------------------------------------------------------------------------------------------------------------------
// v9: fp64 tensor cores (fragments in dmma_f64.cuh), padded row strides. Per pass over a key tile: S = Q K^T
// (16 rows x 32 keys per warp, D/16 k-steps), scale and mask, online softmax (swi_exp_nonpos: table-driven,
// branch-free), O += P V with P straight from the score registers. K tile kt+1 loads while V tile kt is used and V tile kt while K tile kt
// is used (cp.async, one barrier each). Why padded strides: the profile of v4 (the same tiles with XOR-swizzled
// Q/K/V) showed 2,470 instructions per warp and key tile of which only 64 are DMMAs and 350 fp64 SIMT, most of the
// rest the address arithmetic of the swizzled fragment loads (recomputed: 253 registers leave no room to keep
// addresses). With row strides LQ = D + 4 (Q, K) and LV = D + 2 (V) doubles every fragment load is a per-thread base
// plus a compile-time offset, and stays free of bank conflicts: per half-warp (grp = 0..3 or 4..7, t = 0..3) the
// bank pairs are 4 grp + t (Q, K: LQ = 4 mod 16) and 4t + grp (V rows 2t + e: LV = 2 mod 16), 16 distinct.
// grid (tiles * Hq * B), block (256), dynamic shared memory FwdV9Layout::BYTES (+ 1 KB static).
template <int D>
struct FwdV9Layout {
    static constexpr int LQ = D + 4, LV = D + 2;                         // row strides (doubles)
    static constexpr int BYTES = ((128 + 32) * LQ + 32 * LV) * 8;        // Qs [128][LQ], Ks [32][LQ], Vs [32][LV]
};

template <int D, bool SEG>
__device__ void fwd_v9(FWD_PARAMS(double), const int* seg) {
    using L = FwdV9Layout<D>;
    constexpr int BM = 128, BN = 32, NT = 256, KS = D / 16, ND = D / 8, LQ = L::LQ, LV = L::LV;
    static_assert(D % 16 == 0 && D <= 128, "v9 handles D in {16, 32, 64, 128}");
    extern __shared__ __align__(16) unsigned char smraw[];
    double* Qs = (double*)smraw;
    double* Ks = Qs + BM * LQ;
    double* Vs = Ks + BN * LQ;
    __shared__ int rowPos[BM];
    __shared__ double expTab[64];

    SwiTile tile;
    if (!swi_pick_tile<SEG>(BM, Hq, B, S, listF, nF, listW, nW, tile, seg)) return;
    const int tid = threadIdx.x, lane = tid & 31, wid = tid >> 5, grp = lane >> 2, t = lane & 3;
    const int h = tile.h, g = h / (Hq / Hkv);
    const SwiRows R = tile.rows;
    const bool full = tile.full;
    for (int r = tid; r < BM; r += NT) rowPos[r] = r < tile.count ? tile.list[tile.start + r] : -1;
    for (int j = tid; j < 64; j += NT) expTab[j] = swi_exp2_64th[j];
    __syncthreads();
    const int qmin = rowPos[0], qmax = rowPos[tile.count - 1];
    const int wr = wid * 16;
    const SwiWarpRows rows = swi_warp_rows(rowPos, tile.count, wr, grp);
    const int wcount = rows.count, wqmin = rows.first, wqmax = rows.last, p0 = rows.p0, p1 = rows.p1;
    // per-thread fragment bases: every fragment load below is base + a compile-time offset
    const double* qf = Qs + (wr + grp) * LQ + t;  // A: Q[wr + grp + 8 v0][ks*16 + t + 4 v1]
    const double* kf = Ks + grp * LQ + t;         // B: K[n*8 + grp][ks*16 + t + 4 v]
    const double* vf = Vs + 2 * t * LV + grp;     // B: V[st*16 + (v/2)*8 + 2t + v%2][dn*8 + grp]

    // prologue: Q tile and the first K tile in flight
    for (int u = tid; u < BM * D / 2; u += NT) {
        int r = u / (D / 2), c = (u % (D / 2)) * 2, pos = rowPos[r];
        const double* src = pos >= 0 ? q + ((R.q + pos) * Hq + h) * D + c : q;
        swi_cp_async16(&Qs[r * LQ + c], src, pos >= 0 ? 16 : 0);
    }
    // K/V tile loads: thread tid copies the 16-byte chunk c of rows r0, r0 + RPI, ... (unrolled; the global
    // pointer advances by a stride, no per-chunk index arithmetic)
    constexpr int CPR = D / 2, RPI = NT / CPR, ITER = BN / RPI;  // chunks per row, rows per pass, passes
    static_assert(NT % CPR == 0 && BN % RPI == 0, "v9 load passes");
    const int r0 = tid / CPR, c0 = (tid % CPR) * 2;
    const i64 rowStride = (i64)Hkv * D;
    const double* kRow = k + (R.k * Hkv + g) * D + c0;  // + j * rowStride for key j
    const double* vRow = v + (R.k * Hkv + g) * D + c0;
    // key tile [j0, j0 + BN) of K or V (rows from xRow; keys past the segment read x with 0 bytes) into tile T of
    // row stride ld
    auto loadTile = [&](double* T, int ld, const double* xRow, const double* x, int j0) {
        const double* src = xRow + (i64)(j0 + r0) * rowStride;
#pragma unroll
        for (int it = 0; it < ITER; it++, src += RPI * rowStride) {
            const bool ok = j0 + r0 + it * RPI < R.keys;
            swi_cp_async16(&T[(r0 + it * RPI) * ld + c0], ok ? src : x, ok ? 16 : 0);
        }
    };
    auto loadK = [&](int j0) { loadTile(Ks, LQ, kRow, k, j0); };
    auto loadV = [&](int j0) { loadTile(Vs, LV, vRow, v, j0); };
    const int kLo = full ? 0 : max(0, qmin - w + 1);
    const int kt0 = kLo / BN, kt1 = qmax / BN;
    loadK(kt0 * BN);
    swi_cp_async_commit();

    double oacc[ND][4];
#pragma unroll
    for (int n = 0; n < ND; n++) oacc[n][0] = oacc[n][1] = oacc[n][2] = oacc[n][3] = 0.0;
    double m0 = -CUDART_INF, m1 = -CUDART_INF, l0 = 0.0, l1 = 0.0;

    for (int kt = kt0; kt <= kt1; kt++) {
        const int j0 = kt * BN;
        swi_cp_async_wait<0>();
        __syncthreads();  // K tile kt (and Q) visible to all; every warp is done with V tile kt-1
        loadV(j0);
        swi_cp_async_commit();
        const bool active = wcount > 0 && j0 <= wqmax && (full || j0 + BN - 1 > wqmin - w);
        double sacc[4][4];
        if (active) {
            // S = Q K^T for the warp's 16 rows x 32 keys
#pragma unroll
            for (int n = 0; n < 4; n++) sacc[n][0] = sacc[n][1] = sacc[n][2] = sacc[n][3] = 0.0;
#pragma unroll
            for (int ks = 0; ks < KS; ks++) {
                double a[8];
#pragma unroll
                for (int x = 0; x < 8; x++) a[x] = qf[(x & 1) * 8 * LQ + ks * 16 + 4 * (x >> 1)];
#pragma unroll
                for (int n = 0; n < 4; n++) {
                    double bb[4];
#pragma unroll
                    for (int x = 0; x < 4; x++) bb[x] = kf[n * 8 * LQ + ks * 16 + 4 * x];
                    dmma16x8x16(sacc[n], a, bb);
                }
            }
            // scale, mask, online softmax (rows grp and grp+8; the 4 lanes of a group share a row)
            const bool needMask = !(j0 + BN - 1 <= wqmin && (full || j0 > wqmax - w));
            double mx0 = -CUDART_INF, mx1 = -CUDART_INF;
#pragma unroll
            for (int n = 0; n < 4; n++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    int j = j0 + n * 8 + 2 * t + e;
                    double s0 = sacc[n][e] * scale, s1 = sacc[n][2 + e] * scale;
                    if (needMask) {
                        if (!swi_visible(p0, j, full, w)) s0 = -CUDART_INF;
                        if (!swi_visible(p1, j, full, w)) s1 = -CUDART_INF;
                    }
                    sacc[n][e] = s0;
                    sacc[n][2 + e] = s1;
                    mx0 = fmax(mx0, s0);
                    mx1 = fmax(mx1, s1);
                }
            mx0 = swi_group_max(mx0, 4);
            mx1 = swi_group_max(mx1, 4);
            const double mn0 = fmax(m0, mx0), mn1 = fmax(m1, mx1);
            const double ms0 = mn0 == -CUDART_INF ? 0.0 : mn0, ms1 = mn1 == -CUDART_INF ? 0.0 : mn1;
            const double al0 = swi_exp_nonpos(m0 - ms0, expTab), al1 = swi_exp_nonpos(m1 - ms1, expTab);
            double sum0 = 0.0, sum1 = 0.0;
#pragma unroll
            for (int n = 0; n < 4; n++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    double pa = swi_exp_nonpos(sacc[n][e] - ms0, expTab), pb = swi_exp_nonpos(sacc[n][2 + e] - ms1, expTab);
                    sacc[n][e] = pa;
                    sacc[n][2 + e] = pb;
                    sum0 += pa;
                    sum1 += pb;
                }
            l0 = l0 * al0 + sum0;
            l1 = l1 * al1 + sum1;
            m0 = mn0;
            m1 = mn1;
            if (al0 != 1.0 || al1 != 1.0) {
#pragma unroll
                for (int n = 0; n < ND; n++) {
                    oacc[n][0] *= al0; oacc[n][1] *= al0;
                    oacc[n][2] *= al1; oacc[n][3] *= al1;
                }
            }
        }
        swi_cp_async_wait<0>();
        __syncthreads();  // V tile kt visible; every warp is done with K tile kt
        if (kt < kt1) {
            loadK(j0 + BN);
            swi_cp_async_commit();
        }
        if (active) {
            // O += P V: the score fragment of keys n*8 + 2t + e is directly the A fragment of k-step (n, e)
#pragma unroll
            for (int st = 0; st < 2; st++) {
                double a[8];
#pragma unroll
                for (int x = 0; x < 8; x++) {
                    const int v0 = x & 1, v1 = x >> 1;
                    a[x] = sacc[2 * st + (v1 >> 1)][(v1 & 1) + 2 * v0];
                }
#pragma unroll
                for (int dn = 0; dn < ND; dn++) {
                    double bb[4];
#pragma unroll
                    for (int x = 0; x < 4; x++) bb[x] = vf[(st * 16 + (x >> 1) * 8 + (x & 1)) * LV + dn * 8];
                    dmma16x8x16(oacc[dn], a, bb);
                }
            }
        }
    }
    // epilogue: row sums over the 4 lanes of a group, normalise, store
    l0 = swi_group_sum(l0, 4);
    l1 = swi_group_sum(l1, 4);
    if (p0 >= 0) {
        double* orow = o + ((R.q + p0) * Hq + h) * D;
#pragma unroll
        for (int dn = 0; dn < ND; dn++)
            *reinterpret_cast<double2*>(orow + dn * 8 + 2 * t) = make_double2(oacc[dn][0] / l0, oacc[dn][1] / l0);
        if (t == 0) lse[(R.q + p0) * Hq + h] = m0 + log(l0);
    }
    if (p1 >= 0) {
        double* orow = o + ((R.q + p1) * Hq + h) * D;
#pragma unroll
        for (int dn = 0; dn < ND; dn++)
            *reinterpret_cast<double2*>(orow + dn * 8 + 2 * t) = make_double2(oacc[dn][2] / l1, oacc[dn][3] / l1);
        if (t == 0) lse[(R.q + p1) * Hq + h] = m1 + log(l1);
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Instantiations. Each tiled kernel exports its configuration {BM, BN, threads, dynamic shared bytes} as a
// constant array named <kernel>_cfg, read by the host (org.swiattn.cuda.KernelPlan) and checked against its table.
#define SWI_FWD_V1(T, TN)                                                                                           \
    extern "C" __global__ void __launch_bounds__(32) swi_fwd_v1_##TN(FWD_PARAMS(T)) { fwd_v1<T>(FWD_ARGS); }

#define SWI_FWD_V2(T, TN, DMAX, BM, BN, SR, SC)                                                                    \
    extern "C" {                                                                                                   \
    __constant__ int swi_fwd_v2_##TN##_d##DMAX##_cfg[4] = {BM, BN, 256, FwdV2Layout<T, DMAX, BM, BN>::BYTES};     \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(256) swi_fwd_v2_##TN##_d##DMAX(FWD_PARAMS(T)) {                  \
        fwd_v2<T, DMAX, BM, BN, 256, SR, SC, false>(FWD_ARGS, nullptr);                                            \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(256) swi_fwd_v2_##TN##_d##DMAX##_seg(FWD_PARAMS(T),              \
                                                                                      const int* seg) {            \
        fwd_v2<T, DMAX, BM, BN, 256, SR, SC, true>(FWD_ARGS, seg);                                                 \
    }

SWI_FWD_V1(double, f64)
SWI_FWD_V1(float, f32)

SWI_FWD_V2(double, f64, 16, 64, 32, 4, 2)
SWI_FWD_V2(double, f64, 32, 64, 32, 4, 2)
SWI_FWD_V2(double, f64, 64, 64, 32, 4, 2)
SWI_FWD_V2(double, f64, 128, 64, 32, 4, 2)
SWI_FWD_V2(double, f64, 256, 32, 32, 2, 2)
SWI_FWD_V2(float, f32, 16, 64, 64, 4, 4)
SWI_FWD_V2(float, f32, 32, 64, 64, 4, 4)
SWI_FWD_V2(float, f32, 64, 64, 64, 4, 4)
SWI_FWD_V2(float, f32, 128, 64, 64, 4, 4)
SWI_FWD_V2(float, f32, 256, 32, 32, 2, 2)

#define SWI_FWD_V9(DMAX)                                                                                           \
    extern "C" {                                                                                                   \
    __constant__ int swi_fwd_v9_f64_d##DMAX##_cfg[4] = {128, 32, 256, FwdV9Layout<DMAX>::BYTES};                   \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(256, 1) swi_fwd_v9_f64_d##DMAX(FWD_PARAMS(double)) {             \
        fwd_v9<DMAX, false>(FWD_ARGS, nullptr);                                                                    \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(256, 1) swi_fwd_v9_f64_d##DMAX##_seg(FWD_PARAMS(double),         \
                                                                                      const int* seg) {            \
        fwd_v9<DMAX, true>(FWD_ARGS, seg);                                                                         \
    }

SWI_FWD_V9(16)
SWI_FWD_V9(32)
SWI_FWD_V9(64)
SWI_FWD_V9(128)
