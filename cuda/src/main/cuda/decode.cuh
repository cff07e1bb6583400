// Routed decode (one new query per sequence against its KV cache), split-KV ("flash-decoding"): the work-item
// format, the outputs and the merge of the pieces by LSE, done in the same launch by the last piece of each
// (row, kv head) to finish. Split kernels: decode.cu (SIMT, every precision), bf16/decode_bf16.cu (tensor cores).
//
// Shapes (Sq = 1; spec 2.0 kvCache segments: batch row b holds len[b] valid keys, its query is the last of them):
//   q, o [B,1,Hq,D]    k, v [B,Sk,Hkv,D] (cache of capacity Sk)    lse [B,1,Hq]
//   query of row b at position p = len[b] - 1 sees keys first..p, first = 0 (z[b] = 1, full) or max(0, p-w+1)
// Work list (planned on the host, org.swiattn.cuda.DecodePlan), one block per item in launch order:
//   items[i] = {pair = b*Hkv + g, piece, kLo, kHi}: the G = Hq/Hkv query heads of kv head g over keys kLo..kHi-1
//   of row b, piece `piece` of the pair's rowCount[pair] pieces; partial rows (rowStart[pair] + piece) * G + hh.
//   piece s:  m_s = max_j s_j,  l_s = sum_j exp(s_j - m_s),  oPart_s = sum_j exp(s_j - m_s) v_j / l_s,
//             lsePart_s = m_s + log l_s          (oPart [pieces,G,D], lsePart [pieces,G] in the compute type T)
//   merge:    LSE = log sum_s exp(lsePart_s),  o = sum_s exp(lsePart_s - LSE) oPart_s
//   a pair of one piece writes o and lse directly (no partial, no merge).
// Deterministic: a fixed plan and fixed reduction orders; the merge reads the pieces in order, whichever block
// runs it; the only atomic is the counter that elects that block (counters [B*Hkv], zero between launches).
#pragma once
#include "common.cuh"

// An item's result for query head hh of its pair, column c (and the lse once per head, at c == 0): o and lse
// themselves when the pair has one piece, else the item's partial row. o, lse, oPart, lsePart written.
template <typename In, typename T>
__device__ __forceinline__ void decode_emit(int pieces, i64 partRow, i64 outRow, int d, int c, T oNorm, T lseVal,
                                            T* __restrict__ oPart, T* __restrict__ lsePart, In* __restrict__ o,
                                            T* __restrict__ lse) {
    if (pieces == 1) {
        o[outRow * d + c] = swi_store<In>(oNorm);
        if (c == 0) lse[outRow] = lseVal;
    } else {
        oPart[partRow * d + c] = oNorm;
        if (c == 0) lsePart[partRow] = lseVal;
    }
}

// acc[0..V) += ws * p[0..V) (one 16-byte L2 load when vec, else acc[0] += ws * p[0]). p not modified.
template <typename T, int V>
__device__ __forceinline__ void decode_merge_fma(T (&acc)[V], T ws, const T* p, bool vec) {
    if (!vec) {
        acc[0] = fma(ws, __ldcg(p), acc[0]);
    } else if constexpr (sizeof(T) == 4) {
        const float4 x = __ldcg(reinterpret_cast<const float4*>(p));
        acc[0] = fma(ws, x.x, acc[0]);
        acc[1] = fma(ws, x.y, acc[1]);
        acc[2] = fma(ws, x.z, acc[2]);
        acc[3] = fma(ws, x.w, acc[3]);
    } else {
        const double2 x = __ldcg(reinterpret_cast<const double2*>(p));
        acc[0] = fma(ws, x.x, acc[0]);
        acc[1] = fma(ws, x.y, acc[1]);
    }
}

// The merge, run by every thread of the block after its partial rows are written: the pair's counter elects the
// last of its pieces to finish, which merges all of them (pieces s0 .. s0+n-1 of G heads) into o and lse and
// resets the counter. Partials are read through L2 (__ldcg): they were written by other multiprocessors.
//   per head hh:  M = max_s lse_s,  W = sum_s e^(lse_s - M)             (a warp per head, lanes over s, butterfly)
//   per (hh, c):  o = (sum_s e^(lse_s - M) oPart_s[c]) / W,  lse = M + log W     (s ascending)
// The lse of every piece is read once into shared memory and turned into the weights there when it fits
// (n <= chunk); otherwise M, W come from two L2 passes and the weights are staged chunk pieces at a time.
// oPart, lsePart not modified; counter modified (left 0); o [B,1,Hq,D], lse [B,1,Hq] written at the pair's heads;
// sBuf [cap] shared scratch (cap >= 1024; DecodeKernels.MAX_GROUP = 256 heads per kv head at most).
template <typename In, typename T>
__device__ void decode_merge_last(const T* __restrict__ oPart, const T* __restrict__ lsePart, int s0, int n,
                                  int* counter, In* __restrict__ o, T* __restrict__ lse, i64 outRow0, int G, int d,
                                  T* sBuf, int cap) {
    __shared__ int sLast;
    __threadfence();  // this block's partials reach L2 before its count does
    __syncthreads();
    if (threadIdx.x == 0) {
        sLast = atomicAdd(counter, 1) == n - 1;
        if (sLast) *counter = 0;  // every piece has counted: ready for the next launch
    }
    __syncthreads();
    if (!sLast) return;
    __threadfence();
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, nw = blockDim.x >> 5;
    const int chunk = (cap - 2 * G) / G;  // pieces whose weights fit beside M[G], W[G]: >= 2 for cap >= 1024, G <= 256
    const bool staged = n <= chunk;
    T* sM = sBuf;
    T* sW = sBuf + G;
    T* wgt = sBuf + 2 * G;  // [chunk][G]
    const T* lseP = lsePart + (i64)s0 * G;
    // 1. M and W per head
    if (staged) {
        for (int t = threadIdx.x; t < n * G; t += blockDim.x) wgt[t] = __ldcg(lseP + t);
        __syncthreads();
    }
    for (int hh = warp; hh < G; hh += nw) {
        T m = swi_neg_inf<T>();
        for (int s = lane; s < n; s += 32) m = fmax(m, staged ? wgt[s * G + hh] : __ldcg(lseP + (i64)s * G + hh));
        m = swi_group_max(m, 32);
        T w = 0;
        for (int s = lane; s < n; s += 32) w += swi_exp((staged ? wgt[s * G + hh] : __ldcg(lseP + (i64)s * G + hh)) - m);
        w = swi_group_sum(w, 32);
        if (lane == 0) { sM[hh] = m; sW[hh] = w; }
    }
    __syncthreads();
    if (staged)
        for (int t = threadIdx.x; t < n * G; t += blockDim.x) wgt[t] = swi_exp(wgt[t] - sM[t % G]);
    // 2. o: each thread a column group (hh, c .. c+V-1) of up to U per batch, the pieces in order;
    // 3. o = acc / W, lse = M + log W
    constexpr int V = 16 / sizeof(T), U = 2;  // float4 / double2 groups; U groups per thread per batch (no spills at 2)
    const bool vec = d % V == 0;
    const int per = vec ? V : 1, groups = G * d / per;
    for (int gb = 0; gb < groups; gb += U * blockDim.x) {
        T acc[U][V];
#pragma unroll
        for (int u = 0; u < U; u++)
#pragma unroll
            for (int e = 0; e < V; e++) acc[u][e] = 0;
        for (int c0 = 0; c0 < n; c0 += chunk) {
            const int cn = min(chunk, n - c0);
            __syncthreads();  // the weights written; the previous chunk's consumed
            if (!staged) {
                for (int t = threadIdx.x; t < cn * G; t += blockDim.x)
                    wgt[t] = swi_exp(__ldcg(lseP + (i64)c0 * G + t) - sM[t % G]);
                __syncthreads();
            }
#pragma unroll
            for (int u = 0; u < U; u++) {
                const int grp = gb + threadIdx.x + u * blockDim.x;
                if (grp >= groups) break;
                const int e0 = grp * per, hh = e0 / d;
                const T* src = oPart + (i64)(s0 + c0) * G * d + e0;
#pragma unroll 8
                for (int s = 0; s < cn; s++) decode_merge_fma(acc[u], wgt[s * G + hh], src + (i64)s * G * d, vec);
            }
        }
#pragma unroll
        for (int u = 0; u < U; u++) {
            const int grp = gb + threadIdx.x + u * blockDim.x;
            if (grp >= groups) break;
            const int e0 = grp * per, hh = e0 / d;
            for (int e = 0; e < per; e++) o[outRow0 * d + e0 + e] = swi_store<In>(acc[u][e] / sW[hh]);
        }
    }
    for (int hh = threadIdx.x; hh < G; hh += blockDim.x) lse[outRow0 + hh] = sM[hh] + swi_log(sW[hh]);
}
