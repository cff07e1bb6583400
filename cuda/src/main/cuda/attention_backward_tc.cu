// Routed (Switch) attention backward on the fp64 tensor cores (DMMA, mma.sync m16n8k16 f64), deterministic in the
// FlashAttention-2 way: no atomics, every output element is written by one thread that sums its terms in a fixed
// order. Same math and argument contract as v1 and v2 (attention_backward.cuh states both):
//   dp_ij = <dOB_i, v_j>,  ds_ij = p_ij (dp_ij - delta_i),  p_ij = exp(scale <q_i, k_j> - lse_i),  dOB_i = c_i dO_i
//   dV_j += p_ij dOB_i     dK_j += scale ds_ij q_i           dQ_i += scale ds_ij k_j
// v11 dK/dV: one CTA per (BN=64 key tile, kv head, batch) walking, in a fixed order, branch F then W, the G query
//         heads of the group and the BM=16-row chunks of the compacted list that see the tile (double-buffered with
//         cp.async); key tiles dispatched heaviest first. dQ: one CTA per 64-row list tile (swi_pick_tile), walking
//         its 32-key tiles. The short products (16 x 16 blocks over D: dK/dV's S^T and dP^T, dQ's dP) are summed in
//         two accumulators, even and odd k-steps (dQ's S stays whole: 255 registers leave no room).
//     D in {16, 32, 64, 128}; fragments and lane names (grp, t) as in dmma_f64.cuh; g is the kv head.
// Storage In = double (kernels _f64) or float (_f32): q, k, v, dO, lse, delta, coef, scale and dQ, dK, dV are of
//   type In (the fp32 kernels take the arguments of the fp32 v2 kernels). The shared tiles and all arithmetic are
//   fp64 for both: fp32 inputs are widened exactly when staged (swi_stage2, swi_stage1) and the outputs are rounded
//   once to In at the store (dQ with accumulate: the fp32 partial sum read back, widened, added, rounded again).
// v10 was v11 without the split products and with key tiles issued key tile fastest; its profile (H200, S=4096 full
// causal) showed the fp64 tensor pipe at 47% (dK/dV) and 66% (dQ) with 2 warps per scheduler, the largest stall a
// fixed-latency dependency (chains of D/16 dependent DMMAs, two per warp), and 512 dK/dV blocks of unequal work
// (3.9 waves). v11 cut dK/dV from 9.28 to 7.70 ms there; v10 lives in git history and
// bench/results/2026-12-01-fp64-backward-tc.md.
//
// Shared-memory row strides are L = D + 2 doubles (every 16-byte row chunk stays aligned for cp.async). Fragment
// loads come in two patterns, both free of bank conflicts with L = 2 (mod 16) (banks counted per half-warp, 16
// lanes of 8 bytes: grp = 0..3 or 4..7, t = 0..3):
//   rows grp, columns pi(t, v):  products contracting over d. The 16 d of a k-step are taken in the order
//                                logical k = t + 4v  <->  d = pi(t, v) = (t & 1) + 8 (t >> 1) + 2 v  (the same for A
//                                and B, so the product is unchanged): bank pair 2 grp + pi mod 16, 16 distinct.
//   rows 2t + e, columns grp:    products contracting over keys (dQ) or query rows (dK, dV), whose A operand is the
//                                warp's own score fragments (forward v9's reordering: logical k = t + 4 v1 is row
//                                (v1 / 2) * 8 + 2t + (v1 % 2)): bank pair 4t + grp mod 16, 16 distinct.
#include "attention_backward.cuh"
#include "dmma_f64.cuh"

// Staging of one row chunk from storage In into a double tile, zeros when !ok (rows past the keys, padding rows).
//   In = double: cp.async, 16 bytes (2 elements, swi_stage2) or 8 (1, swi_stage1), completed by the kernel's
//                commit / wait groups (the copy of the next tile overlaps the current one's products).
//   In = float:  cp.async moves bytes and cannot widen, so the fp32 rows are loaded into registers, widened and
//                stored at once (the commit / wait calls then find nothing in flight; the barriers that order the
//                cp.async copies order these stores the same way). This keeps one body and one shared layout for
//                both storage types; the price is the overlap: a warp waits at the store for its load. Keeping it
//                would take a staging area for cp.async of the fp32 rows and a second pass over each tile to widen
//                them: dQ's tiles fill 195 of the 227 KiB at D = 128, its K and V copies in flight together would
//                need 32 KiB more.
template <typename In>
__device__ __forceinline__ void swi_stage2(double* dst, const In* src, bool ok) {
    if constexpr (sizeof(In) == sizeof(double)) {
        swi_cp_async16(dst, src, ok ? 16 : 0);
    } else {
        float2 x = {0.0f, 0.0f};
        if (ok) x = *reinterpret_cast<const float2*>(src);  // 8-byte aligned: even element offsets
        *reinterpret_cast<double2*>(dst) = make_double2(x.x, x.y);
    }
}
template <typename In>
__device__ __forceinline__ void swi_stage1(double* dst, const In* src, bool ok) {
    if constexpr (sizeof(In) == sizeof(double)) {
        swi_cp_async8(dst, src, ok ? 8 : 0);
    } else {
        *dst = ok ? (double)*src : 0.0;
    }
}

// Two consecutive output elements (an even element offset), rounded once to In: one 16- or 8-byte store.
template <typename In>
__device__ __forceinline__ void swi_store2(In* p, double x, double y) {
    if constexpr (sizeof(In) == sizeof(double)) {
        *reinterpret_cast<double2*>(p) = make_double2(x, y);
    } else {
        float2 r;
        r.x = (float)x;
        r.y = (float)y;
        *reinterpret_cast<float2*>(p) = r;
    }
}

// Element offset of pi(t, v) for v = 0 inside a k-step (then + 2 v).
__device__ __forceinline__ int swi_pi_base(int t) { return (t & 1) + 8 * (t >> 1); }

// Warp product over d: acc[n] += X[rows xr .. xr+15] Y[rows n*8 .. n*8+7]^T for n < NN, X and Y row-major with
// stride L in shared memory, D columns (the pi order; xf, yf already hold the lane's base offsets).
// SPLIT = 2 sums the even and the odd k-steps in separate accumulators, added at the end (acc = even + odd, a fixed
// order): 2 NN independent chains of DMMAs instead of NN, for the short products (NN = 2) whose chains of D/16
// dependent DMMAs otherwise wait on each other's latency.
template <int D, int L, int NN, int SPLIT = 1>
__device__ __forceinline__ void swi_dmma_rows(double (&acc)[NN][4], const double* xf, const double* yf) {
    static_assert(SPLIT == 1 || (SPLIT == 2 && D >= 32), "split over an even number of k-steps");
    double odd[NN][4];
#pragma unroll
    for (int n = 0; n < NN; n++) odd[n][0] = odd[n][1] = odd[n][2] = odd[n][3] = 0.0;
#pragma unroll
    for (int ks = 0; ks < D / 16; ks++) {
        double a[8];
#pragma unroll
        for (int x = 0; x < 8; x++) a[x] = xf[(x & 1) * 8 * L + ks * 16 + 2 * (x >> 1)];
#pragma unroll
        for (int n = 0; n < NN; n++) {
            double bb[4];
#pragma unroll
            for (int x = 0; x < 4; x++) bb[x] = yf[n * 8 * L + ks * 16 + 2 * x];
            dmma16x8x16(SPLIT == 2 && (ks & 1) ? odd[n] : acc[n], a, bb);
        }
    }
    if (SPLIT == 2) {
#pragma unroll
        for (int n = 0; n < NN; n++)
#pragma unroll
            for (int x = 0; x < 4; x++) acc[n][x] += odd[n][x];
    }
}

// acc[dn] += A Z[16 rows of one k-step][dn*8 .. dn*8+7] for dn < D/8, with A the warp's own 16 x 16 C fragments
// c[2s], c[2s+1] (columns = the contracted rows of Z) and zf = Z + 2t*L + grp (+ the k-step's first row * L).
template <int D, int L>
__device__ __forceinline__ void swi_dmma_own(double (&acc)[D / 8][4], const double (&c0)[4], const double (&c1)[4],
                                             const double* zf) {
    double a[8];
#pragma unroll
    for (int x = 0; x < 8; x++) {
        const int v0 = x & 1, v1 = x >> 1;
        a[x] = (v1 >> 1) ? c1[(v1 & 1) + 2 * v0] : c0[(v1 & 1) + 2 * v0];
    }
#pragma unroll
    for (int dn = 0; dn < D / 8; dn++) {
        double bb[4];
#pragma unroll
        for (int x = 0; x < 4; x++) bb[x] = zf[((x >> 1) * 8 + (x & 1)) * L + dn * 8];
        dmma16x8x16(acc[dn], a, bb);
    }
}

// ------------------------------------------------------------------------------------------------------------------
// v11 dK/dV: grid (ceil(S/64), Hkv, B), block (256), dynamic shared memory BwdV11KvLayout::BYTES. Linear block id
// -> key tile id / (Hkv B), kv head, batch: the first wave holds the tiles that see the most queries.
//   Warp w: key group kg = w & 3 (keys 16kg .. 16kg+15 of the tile), role w >> 2.
//   per chunk of 16 query rows (one head, one branch):
//     role 0:  S^T = K Q^T (16 keys x 16 queries)  ->  P^T (masked, 0 elsewhere)  -> shared Pex  -> named-barrier
//              arrive;  dV += (c P)^T-rows dO  (A = its own P fragments times the rows' coefficients)
//     role 1:  dP^T = V dO^T  ->  named-barrier sync, P^T from Pex  ->  dS^T = P^T (c dP^T - delta)
//              dK += dS^T Q  (A = its own dS fragments)
//   Chunk n+1 (Q, dO, lse, delta, coef of its rows) is copied into the other buffer while chunk n computes.
template <int D>
struct BwdV11KvLayout {
    static constexpr int BN = 64, BM = 16, L = D + 2;
    // doubles: Ks, Vs [BN][L]; Qs, dOs [2][BM][L]; Pex [4 key groups][2 n][4][32 lanes]; rowLse, rowDelta,
    // rowCoef [2][BM]; then ints: rowPos [2][BM]
    static constexpr int KS = 0, VS = KS + BN * L, QS = VS + BN * L, DOS = QS + 2 * BM * L, PEX = DOS + 2 * BM * L,
                         RL = PEX + 4 * 256, RD = RL + 2 * BM, RC = RD + 2 * BM, END = RC + 2 * BM;
    static constexpr int BYTES = END * 8 + 2 * BM * 4;
};

template <typename In, int D, bool SEG>
__device__ void dkdv_v11(BWD_COMMON(In), In* dK, In* dV, const int* seg) {
    using Lay = BwdV11KvLayout<D>;
    constexpr int BN = Lay::BN, BM = Lay::BM, L = Lay::L, NT = 256, ND = D / 8;
    static_assert(D % 16 == 0 && D <= 128, "v11 handles D in {16, 32, 64, 128}");
    extern __shared__ __align__(16) unsigned char smraw[];
    double* sm = (double*)smraw;
    double *Ks = sm + Lay::KS, *Vs = sm + Lay::VS, *Pex = sm + Lay::PEX;
    int* rowPos = (int*)(sm + Lay::END);
    __shared__ double expTab[64];

    const int tid = threadIdx.x, lane = tid & 31, wid = tid >> 5, grp = lane >> 2, t = lane & 3;
    const int kg = wid & 3, role = wid >> 2;
    const i64 lin = blockIdx.x + (i64)gridDim.x * (blockIdx.y + (i64)gridDim.y * blockIdx.z);
    const int j0 = (int)(lin / ((i64)Hkv * B)) * BN;
    const int g = (int)(lin % Hkv), b = (int)(lin / Hkv % B);
    const int G = Hq / Hkv;
    const SwiRows R = swi_rows<SEG>(seg, B, S, b);
    if (SEG && j0 >= R.keys) return;  // a key tile past this segment's keys (the grid covers the longest segment)
    const int jmax = min(j0 + BN, R.keys) - 1;
    for (int j = tid; j < 64; j += NT) expTab[j] = swi_exp2_64th[j];

    // K, V tile (zeros past the entry's keys): thread tid copies 16-byte chunk c of rows r0, r0 + RPI, ...
    constexpr int CPR = D / 2, RPI = NT / CPR;
    static_assert(NT % CPR == 0 && BN % RPI == 0, "v11 key-tile load passes");
    {
        const int r0 = tid / CPR, c0 = (tid % CPR) * 2;
#pragma unroll
        for (int it = 0; it < BN / RPI; it++) {
            const int r = r0 + it * RPI, j = j0 + r;
            const i64 off = ((R.k + (j < R.keys ? j : 0)) * Hkv + g) * D + c0;
            swi_stage2(&Ks[r * L + c0], k + off, j < R.keys);
            swi_stage2(&Vs[r * L + c0], v + off, j < R.keys);
        }
    }

    // The chunk sequence: branch F then W, heads g*G .. g*G+G-1, chunks of BM list rows [lo, hi) seeing the tile.
    int loF = 0, hiF = 0, nchF = 0, loW = 0, hiW = 0, nchW = 0;
    if (nF) {
        const int* list = listF + R.list;
        loF = swi_lower_bound(list, nF[b], j0);
        hiF = nF[b];
        nchF = (hiF - loF + BM - 1) / BM;
    }
    if (nW) {
        const int* list = listW + R.list;
        loW = swi_lower_bound(list, nW[b], j0);
        hiW = swi_lower_bound(list, nW[b], jmax + w);
        nchW = (hiW - loW + BM - 1) / BM;
    }
    const int total = (nchF + nchW) * G;
    struct Chunk { int br, h, c0, count; };
    auto chunkOf = [&](int n) {
        Chunk c;
        c.br = n >= nchF * G ? 1 : 0;
        const int m = c.br ? n - nchF * G : n, nch = c.br ? nchW : nchF;
        c.h = g * G + m / nch;
        c.c0 = (c.br ? loW : loF) + (m % nch) * BM;
        c.count = min(BM, (c.br ? hiW : hiF) - c.c0);
        return c;
    };
    // Chunk loads: thread tid copies 16-byte chunk cc of rows rr, rr + QRPI, ... of Q and dO; threads tid < BM also
    // the row's position, lse, delta, coefficient. Positions are read first (prefetchPos), the copies issued later.
    constexpr int QRPI = NT / CPR, QIT = (BM + QRPI - 1) / QRPI;
    static_assert(NT % CPR == 0, "v11 chunk load passes");
    const int rr = tid / CPR, cc = (tid % CPR) * 2;
    int pre[QIT], preSelf = -1;
    auto prefetchPos = [&](int n) {
        const Chunk c = chunkOf(n);
        const int* list = (c.br == 0 ? listF : listW) + R.list;
#pragma unroll
        for (int it = 0; it < QIT; it++) {
            const int r = rr + it * QRPI;
            pre[it] = r < c.count ? list[c.c0 + r] : -1;
        }
        preSelf = tid < c.count ? list[c.c0 + tid] : -1;
    };
    auto issueChunk = [&](int n, int buf) {
        const Chunk c = chunkOf(n);
        double* Qs = sm + Lay::QS + buf * BM * L;
        double* dOs = sm + Lay::DOS + buf * BM * L;
#pragma unroll
        for (int it = 0; it < QIT; it++) {
            const int r = rr + it * QRPI, pos = pre[it];
            if (r < BM) {
                const i64 off = ((R.q + (pos >= 0 ? pos : 0)) * Hq + c.h) * D + cc;
                swi_stage2(&Qs[r * L + cc], q + off, pos >= 0);
                swi_stage2(&dOs[r * L + cc], dO + off, pos >= 0);
            }
        }
        if (tid < BM) {
            const int pos = preSelf;
            const i64 l = (R.q + (pos >= 0 ? pos : 0)) * Hq + c.h;
            const In* lse = c.br == 0 ? lseF : lseW;
            const In* delta = c.br == 0 ? deltaF : deltaW;
            const In* coef = c.br == 0 ? coefF : coefW;
            swi_stage1(&sm[Lay::RL + buf * BM + tid], lse + l, pos >= 0);
            swi_stage1(&sm[Lay::RD + buf * BM + tid], delta + l, pos >= 0);
            if (coef) {
                swi_stage1(&sm[Lay::RC + buf * BM + tid], coef + R.q + (pos >= 0 ? pos : 0), pos >= 0);
            } else {
                sm[Lay::RC + buf * BM + tid] = pos >= 0 ? 1.0 : 0.0;
            }
            rowPos[buf * BM + tid] = pos;
        }
    };
    if (total > 0) {
        prefetchPos(0);
        issueChunk(0, 0);
    }
    swi_cp_async_commit();

    double acc[ND][4];  // role 0: dV, role 1: dK (rows 16kg + grp, +8; columns dn*8 + 2t, +1)
#pragma unroll
    for (int n = 0; n < ND; n++) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.0;
    const int ja = j0 + kg * 16 + grp;  // this lane's keys ja and ja + 8
    const int pb = swi_pi_base(t);
    const double* xf = (role == 0 ? Ks : Vs) + (kg * 16 + grp) * L + pb;
    double* pex = Pex + kg * 256 + lane;

    for (int n = 0; n < total; n++) {
        const int buf = n & 1;
        swi_cp_async_wait<0>();
        __syncthreads();  // chunk n (and the K, V tile) visible; every warp is done with chunk n-1
        if (n + 1 < total) prefetchPos(n + 1);
        const Chunk c = chunkOf(n);
        const bool full = c.br == 0;
        const double* Qs = sm + Lay::QS + buf * BM * L;
        const double* dOs = sm + Lay::DOS + buf * BM * L;
        const double* rLse = sm + Lay::RL + buf * BM;
        const double* rDelta = sm + Lay::RD + buf * BM;
        const double* rCoef = sm + Lay::RC + buf * BM;
        const int* rPos = rowPos + buf * BM;
        const int pmin = rPos[0], pmax = rPos[c.count - 1];
        const int ka = j0 + kg * 16, kb = ka + 15;
        const bool active = ka <= pmax && (full || kb > pmin - w);
        // exact: every pair of the 16 x 16 block visible and no padding row
        const bool allVisible = c.count == BM && kb <= pmin && (full || ka > pmax - w);
        double sc[2][4];
#pragma unroll
        for (int m = 0; m < 2; m++) sc[m][0] = sc[m][1] = sc[m][2] = sc[m][3] = 0.0;
        if (active) {
            // S^T = K Q^T (role 0) or dP^T = V dO^T (role 1): 16 keys x 16 queries
            swi_dmma_rows<D, L, 2, D >= 32 ? 2 : 1>(sc, xf, (role == 0 ? Qs : dOs) + grp * L + pb);
        }
        if (n + 1 < total) issueChunk(n + 1, buf ^ 1);
        swi_cp_async_commit();
        if (!active) continue;
        // element (m, x): key ja + 8 (x >> 1), query row i = m*8 + 2t + (x & 1)
        if (role == 0) {
#pragma unroll
            for (int m = 0; m < 2; m++)
#pragma unroll
                for (int x = 0; x < 4; x++) {
                    const int i = m * 8 + 2 * t + (x & 1);
                    const double pe = swi_exp_nonpos(sc[m][x] * scale - rLse[i], expTab);
                    const bool vis = allVisible || swi_visible(rPos[i], ja + 8 * (x >> 1), full, w);
                    sc[m][x] = vis ? pe : 0.0;
                    pex[(m * 4 + x) * 32] = sc[m][x];
                    sc[m][x] *= rCoef[i];
                }
            swi_bar_arrive(1 + kg, 64);
            // dV += (c P)^T dO over the chunk's 16 rows
            swi_dmma_own<D, L>(acc, sc[0], sc[1], dOs + 2 * t * L + grp);
        } else {
            swi_bar_sync(1 + kg, 64);
#pragma unroll
            for (int m = 0; m < 2; m++)
#pragma unroll
                for (int x = 0; x < 4; x++) {
                    const int i = m * 8 + 2 * t + (x & 1);
                    sc[m][x] = pex[(m * 4 + x) * 32] * (sc[m][x] * rCoef[i] - rDelta[i]);
                }
            // dK += dS^T Q (scaled at the end)
            swi_dmma_own<D, L>(acc, sc[0], sc[1], Qs + 2 * t * L + grp);
        }
    }
    swi_cp_async_wait<0>();  // no copy in flight at exit (the K, V tile when no chunk sees it)
    // store: role 0 the dV rows, role 1 the dK rows
    In* out = role == 0 ? dV : dK;
    const double f = role == 0 ? 1.0 : (double)scale;
#pragma unroll
    for (int hlf = 0; hlf < 2; hlf++) {
        const int j = ja + 8 * hlf;
        if (j >= R.keys) continue;
        In* row = out + ((R.k + j) * Hkv + g) * D;
#pragma unroll
        for (int dn = 0; dn < ND; dn++)
            swi_store2(row + dn * 8 + 2 * t, acc[dn][2 * hlf] * f, acc[dn][2 * hlf + 1] * f);
    }
}

// ------------------------------------------------------------------------------------------------------------------
// v11 dQ: grid (tiles * Hq * B) (swi_pick_tile, BM=64), block (256), dynamic shared BwdV11QLayout::BYTES.
//   Warp w: row group rg = w & 3 (tile rows 16rg .. 16rg+15), key half kh = w >> 2 (keys 16kh .. 16kh+15 of each
//   32-key tile). Per key tile:
//     dP = dO V^T,  S = Q K^T  (16 x 16),  dS = P (c dP - delta),  dQ += dS K  (A = its own dS fragments)
//   then the two key halves' dQ are added, kh = 0 + kh = 1, and stored. Q and dO of 64 rows and K, V of 32 keys
//   fill 195 KiB at D = 128 (128 rows would not fit). V of the next tile is copied while S and dQ compute, K of the
//   next tile while dP computes.
template <int D>
struct BwdV11QLayout {
    static constexpr int BM = 64, BN = 32, L = D + 2;
    static constexpr int BYTES = (2 * BM + 2 * BN) * L * 8;  // Qs, dOs [BM][L]; Ks, Vs [BN][L]
};

template <typename In, int D, bool SEG>
__device__ void dq_v11(BWD_COMMON(In), In* dQ, int accumulate, const int* seg) {
    using Lay = BwdV11QLayout<D>;
    constexpr int BM = Lay::BM, BN = Lay::BN, L = Lay::L, NT = 256, ND = D / 8;
    static_assert(D % 16 == 0 && D <= 128, "v11 handles D in {16, 32, 64, 128}");
    extern __shared__ __align__(16) unsigned char smraw[];
    double* Qs = (double*)smraw;
    double* dOs = Qs + BM * L;
    double* Ks = dOs + BM * L;
    double* Vs = Ks + BN * L;
    __shared__ int rowPos[BM];
    __shared__ double expTab[64], rowLse[BM], rowDelta[BM], rowCoef[BM];

    SwiTile tile;
    if (!swi_pick_tile<SEG>(BM, Hq, B, S, listF, nF, listW, nW, tile, seg)) return;
    const int tid = threadIdx.x, lane = tid & 31, wid = tid >> 5, grp = lane >> 2, t = lane & 3;
    const int rg = wid & 3, kh = wid >> 2;
    const int h = tile.h, g = h / (Hq / Hkv);
    const SwiRows R = tile.rows;
    const bool full = tile.full;
    {
        const In* lse = full ? lseF : lseW;
        const In* delta = full ? deltaF : deltaW;
        const In* coef = full ? coefF : coefW;
        for (int r = tid; r < BM; r += NT) {
            const int pos = r < tile.count ? tile.list[tile.start + r] : -1;
            const i64 l = (R.q + max(pos, 0)) * Hq + h;
            rowPos[r] = pos;
            rowLse[r] = pos >= 0 ? (double)lse[l] : 0.0;
            rowDelta[r] = pos >= 0 ? (double)delta[l] : 0.0;
            rowCoef[r] = pos >= 0 ? (coef ? (double)coef[R.q + pos] : 1.0) : 0.0;
        }
    }
    for (int j = tid; j < 64; j += NT) expTab[j] = swi_exp2_64th[j];
    __syncthreads();
    const int qmin = rowPos[0], qmax = rowPos[tile.count - 1];
    const int wr = rg * 16;
    const SwiWarpRows rows = swi_warp_rows(rowPos, tile.count, wr, grp);
    const int wcount = rows.count, wqmin = rows.first, wqmax = rows.last, p0 = rows.p0, p1 = rows.p1;

    // prologue: Q and dO tiles, then the first V and K tiles, each its own copy group
    for (int u = tid; u < BM * D / 2; u += NT) {
        const int r = u / (D / 2), c = (u % (D / 2)) * 2, pos = rowPos[r];
        const i64 off = ((R.q + (pos >= 0 ? pos : 0)) * Hq + h) * D + c;
        swi_stage2(&Qs[r * L + c], q + off, pos >= 0);
        swi_stage2(&dOs[r * L + c], dO + off, pos >= 0);
    }
    swi_cp_async_commit();
    constexpr int CPR = D / 2, RPI = NT / CPR, ITER = (BN + RPI - 1) / RPI;  // rows per pass, passes
    static_assert(NT % CPR == 0 && (BN % RPI == 0 || RPI % BN == 0), "v11 key-tile load passes");
    const int r0 = tid / CPR, c0 = (tid % CPR) * 2;
    const i64 rowStride = (i64)Hkv * D;
    const In* kRow = k + (R.k * Hkv + g) * D + c0;
    const In* vRow = v + (R.k * Hkv + g) * D + c0;
    auto loadTile = [&](double* dst, const In* rowBase, const In* any, int j0) {
        const In* src = rowBase + (i64)(j0 + r0) * rowStride;
#pragma unroll
        for (int it = 0; it < ITER; it++, src += RPI * rowStride) {
            if (BN % RPI != 0 && r0 >= BN) break;  // fewer rows than one pass (D = 16)
            const bool ok = j0 + r0 + it * RPI < R.keys;
            swi_stage2(&dst[(r0 + it * RPI) * L + c0], ok ? src : any, ok);
        }
    };
    const int kLo = full ? 0 : max(0, qmin - w + 1);
    const int kt0 = kLo / BN, kt1 = qmax / BN;
    loadTile(Vs, vRow, v, kt0 * BN);
    swi_cp_async_commit();
    loadTile(Ks, kRow, k, kt0 * BN);
    swi_cp_async_commit();

    double acc[ND][4];
#pragma unroll
    for (int n = 0; n < ND; n++) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.0;
    const int pb = swi_pi_base(t);
    const double* qf = Qs + (wr + grp) * L + pb;
    const double* of = dOs + (wr + grp) * L + pb;
    const double* kf = Ks + (kh * 16 + grp) * L + pb;
    const double* vf = Vs + (kh * 16 + grp) * L + pb;
    const double* kz = Ks + (kh * 16 + 2 * t) * L + grp;

    for (int kt = kt0; kt <= kt1; kt++) {
        const int ja = kt * BN + kh * 16, jb = ja + 15;  // this warp's keys
        swi_cp_async_wait<1>();
        __syncthreads();  // V tile kt (and Q, dO) visible; every warp is done with K tile kt-1
        const bool active = wcount > 0 && ja <= wqmax && (full || jb > wqmin - w);
        double dp[2][4];
#pragma unroll
        for (int n = 0; n < 2; n++) dp[n][0] = dp[n][1] = dp[n][2] = dp[n][3] = 0.0;
        if (active) {
            swi_dmma_rows<D, L, 2, D >= 32 ? 2 : 1>(dp, of, vf);
#pragma unroll
            for (int n = 0; n < 2; n++)
#pragma unroll
                for (int x = 0; x < 4; x++) {
                    const int r = wr + grp + 8 * (x >> 1);
                    dp[n][x] = dp[n][x] * rowCoef[r] - rowDelta[r];
                }
        }
        swi_cp_async_wait<0>();
        __syncthreads();  // K tile kt visible; every warp is done with V tile kt
        if (kt < kt1) loadTile(Vs, vRow, v, (kt + 1) * BN);
        swi_cp_async_commit();
        if (active) {
            // S = Q K^T (16 x 16), dS = P (c dP - delta), dQ += dS K
            const bool needMask = wcount < 16 || !(jb <= wqmin && (full || ja > wqmax - w));
            double s[2][4];
#pragma unroll
            for (int m = 0; m < 2; m++) s[m][0] = s[m][1] = s[m][2] = s[m][3] = 0.0;
            swi_dmma_rows<D, L, 2>(s, qf, kf);
#pragma unroll
            for (int m = 0; m < 2; m++)
#pragma unroll
                for (int x = 0; x < 4; x++) {
                    const int j = ja + m * 8 + 2 * t + (x & 1);
                    const bool hi = x >> 1;
                    const double pe = swi_exp_nonpos(s[m][x] * scale - rowLse[wr + grp + 8 * hi], expTab);
                    const bool vis = !needMask || swi_visible(hi ? p1 : p0, j, full, w);
                    s[m][x] = vis ? pe * dp[m][x] : 0.0;
                }
            swi_dmma_own<D, L>(acc, s[0], s[1], kz);
        }
        __syncthreads();  // every warp is done with K tile kt
        if (kt < kt1) loadTile(Ks, kRow, k, (kt + 1) * BN);
        swi_cp_async_commit();
    }
    // the key halves' sums meet in shared memory (the Q tile is free now): kh = 1 writes, kh = 0 adds and stores
    double* red = Qs + rg * (ND * 4 * 32) + lane;
    if (kh == 1) {
#pragma unroll
        for (int dn = 0; dn < ND; dn++)
#pragma unroll
            for (int x = 0; x < 4; x++) red[(dn * 4 + x) * 32] = acc[dn][x];
    }
    __syncthreads();
    if (kh == 1) return;
#pragma unroll
    for (int dn = 0; dn < ND; dn++)
#pragma unroll
        for (int x = 0; x < 4; x++) acc[dn][x] += red[(dn * 4 + x) * 32];
    // store (or add to) the warp's rows grp and grp+8
#pragma unroll
    for (int hlf = 0; hlf < 2; hlf++) {
        const int pos = hlf ? p1 : p0;
        if (pos < 0) continue;
        In* row = dQ + ((R.q + pos) * Hq + h) * D;
#pragma unroll
        for (int dn = 0; dn < ND; dn++) {
            In* p = row + dn * 8 + 2 * t;
            double v0 = acc[dn][2 * hlf] * scale, v1 = acc[dn][2 * hlf + 1] * scale;
            if (accumulate) {  // the other branch's launch: its rounded sum, widened
                v0 += (double)p[0];
                v1 += (double)p[1];
            }
            swi_store2(p, v0, v1);
        }
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Instantiations, _f64 (In = double) and _f32 (In = float); each kernel exports {BM, BN, threads, dynamic shared
// bytes} as <kernel>_cfg (checked by the host against org.swiattn.cuda.KernelPlan). The layouts are the same for
// both storage types (the tiles are double).
#define SWI_BWD_V11(In, TN, DMAX)                                                                                  \
    extern "C" {                                                                                                   \
    __constant__ int swi_bwd_dkdv_v11_##TN##_d##DMAX##_cfg[4] = {16, 64, 256, BwdV11KvLayout<DMAX>::BYTES};        \
    __constant__ int swi_bwd_dq_v11_##TN##_d##DMAX##_cfg[4] = {64, 32, 256, BwdV11QLayout<DMAX>::BYTES};           \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(256, 1) swi_bwd_dkdv_v11_##TN##_d##DMAX(BWD_COMMON(In), In* dK,  \
                                                                                      In* dV) {                   \
        dkdv_v11<In, DMAX, false>(BWD_COMMON_ARGS, dK, dV, nullptr);                                               \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(256, 1) swi_bwd_dkdv_v11_##TN##_d##DMAX##_seg(                   \
        BWD_COMMON(In), In* dK, In* dV, const int* seg) {                                                          \
        dkdv_v11<In, DMAX, true>(BWD_COMMON_ARGS, dK, dV, seg);                                                    \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(256, 1) swi_bwd_dq_v11_##TN##_d##DMAX(BWD_COMMON(In), In* dQ,    \
                                                                                    int accumulate) {             \
        dq_v11<In, DMAX, false>(BWD_COMMON_ARGS, dQ, accumulate, nullptr);                                         \
    }                                                                                                              \
    extern "C" __global__ void __launch_bounds__(256, 1) swi_bwd_dq_v11_##TN##_d##DMAX##_seg(                     \
        BWD_COMMON(In), In* dQ, int accumulate, const int* seg) {                                                  \
        dq_v11<In, DMAX, true>(BWD_COMMON_ARGS, dQ, accumulate, seg);                                              \
    }

SWI_BWD_V11(double, f64, 16)
SWI_BWD_V11(double, f64, 32)
SWI_BWD_V11(double, f64, 64)
SWI_BWD_V11(double, f64, 128)
SWI_BWD_V11(float, f32, 16)
SWI_BWD_V11(float, f32, 32)
SWI_BWD_V11(float, f32, 64)
SWI_BWD_V11(float, f32, 128)
