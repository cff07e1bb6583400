// Routed decode (one new query per sequence against its KV cache), split-KV ("flash-decoding"): every precision's
// SIMT split kernel ("_f64", "_f32", "_bf16": bf16 storage, fp32 arithmetic) and the merge of the splits by LSE.
// The bf16 tensor-core split kernel (bf16/decode_bf16.cu) writes the same partials and uses the same merge.
//
// Shapes (Sq = 1; spec 2.0 kvCache segments: batch row b holds len[b] valid keys, its query is the last of them):
//   q, o [B,1,Hq,D]    k, v [B,Sk,Hkv,D] (cache of capacity Sk)    lse [B,1,Hq]
//   query of row b at position p = len[b] - 1 sees keys first..p, first = 0 (z[b] = 1, full) or max(0, p-w+1)
// Work list (planned on the host, org.swiattn.cuda.DecodePlan): items[n] = {b, g, kLo, kHi}: one block computes the
// G = Hq/Hkv query heads of kv head g over keys kLo..kHi-1 of row b (a split of its visible range); the items of
// (b, g) are consecutive: rowStart[b*Hkv + g], rowCount[b*Hkv + g].
//   split s:  m_s = max_j s_j,  l_s = sum_j exp(s_j - m_s),  oPart_s = sum_j exp(s_j - m_s) v_j / l_s,
//             lsePart_s = m_s + log l_s          (oPart [n,G,D], lsePart [n,G] in the compute type T)
//   merge:    LSE = log sum_s exp(lsePart_s),  o = sum_s exp(lsePart_s - LSE) oPart_s
// Deterministic: a fixed plan, fixed reduction orders, no atomics.
#include "common.cuh"

// One split, SIMT: 4 warps, warp w takes keys kLo + w, kLo + w + 4, ...; lane owns dims lane + 32u (u < DPL,
// D <= 32*DPL); HG query heads at a time (G > HG: further passes). Online softmax per warp and head, then the 4
// warps' states merged in shared memory.
//   q, k, v not modified; oPart, lsePart written at this item's rows. Launch: grid (items), block (128).
template <typename In, typename T, int DPL, int HG>
__device__ void decode_split_simt(const In* __restrict__ q, const In* __restrict__ k, const In* __restrict__ v,
                                  const int4* __restrict__ items, T* __restrict__ oPart, T* __restrict__ lsePart,
                                  int Sk, int Hq, int Hkv, int d, T scale) {
    constexpr int NW = 4;
    __shared__ T smM[NW][HG], smL[NW][HG];
    __shared__ T smO[NW][HG][32 * DPL];
    const int4 it = items[blockIdx.x];
    const int b = it.x, g = it.y, kLo = it.z, kHi = it.w, G = Hq / Hkv;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    for (int h0 = 0; h0 < G; h0 += HG) {
        // 1. this pass's query heads (rows past G are zero and not stored)
        T qr[HG][DPL], acc[HG][DPL], m[HG], l[HG];
#pragma unroll
        for (int i = 0; i < HG; i++) {
            const bool ok = h0 + i < G;
            const i64 qOff = ((i64)b * Hq + g * G + h0 + i) * d;
#pragma unroll
            for (int u = 0; u < DPL; u++) {
                const int c = lane + 32 * u;
                qr[i][u] = ok && c < d ? swi_load<T>(q[qOff + c]) : T(0);
                acc[i][u] = 0;
            }
            m[i] = swi_neg_inf<T>();
            l[i] = 0;
        }
        // 2. pass over the warp's keys: s = scale <q, k_j>, online softmax, o += p v_j
        for (int j = kLo + warp; j < kHi; j += NW) {
            const i64 kvOff = (((i64)b * Sk + j) * Hkv + g) * d;
            T kr[DPL], vr[DPL];
#pragma unroll
            for (int u = 0; u < DPL; u++) {
                const int c = lane + 32 * u;
                kr[u] = c < d ? swi_load<T>(k[kvOff + c]) : T(0);
                vr[u] = c < d ? swi_load<T>(v[kvOff + c]) : T(0);
            }
#pragma unroll
            for (int i = 0; i < HG; i++) {
                T s = 0;
#pragma unroll
                for (int u = 0; u < DPL; u++) s = fma(qr[i][u], kr[u], s);
                s = swi_group_sum(s, 32) * scale;  // equal on every lane: the branch below is warp-uniform
                if (s > m[i]) {
                    const T alpha = swi_exp(m[i] - s);
                    l[i] *= alpha;
#pragma unroll
                    for (int u = 0; u < DPL; u++) acc[i][u] *= alpha;
                    m[i] = s;
                }
                const T p = swi_exp(s - m[i]);
                l[i] += p;
#pragma unroll
                for (int u = 0; u < DPL; u++) acc[i][u] = fma(p, vr[u], acc[i][u]);
            }
        }
        // 3. merge the 4 warps' states: M = max m_w, L = sum_w l_w e^(m_w - M), o = sum_w acc_w e^(m_w - M) / L
#pragma unroll
        for (int i = 0; i < HG; i++) {
            if (lane == 0) {
                smM[warp][i] = m[i];
                smL[warp][i] = l[i];
            }
#pragma unroll
            for (int u = 0; u < DPL; u++) smO[warp][i][lane + 32 * u] = acc[i][u];
        }
        __syncthreads();
        for (int t = threadIdx.x; t < HG * d; t += blockDim.x) {
            const int i = t / d, c = t % d;
            if (h0 + i >= G) continue;
            T M = smM[0][i];
            for (int w = 1; w < NW; w++) M = fmax(M, smM[w][i]);
            T L = 0, o = 0;
            for (int w = 0; w < NW; w++) {
                const T e = smM[w][i] == swi_neg_inf<T>() ? T(0) : swi_exp(smM[w][i] - M);
                L += smL[w][i] * e;
                o += smO[w][i][c] * e;
            }
            const i64 row = (i64)blockIdx.x * G + h0 + i;
            oPart[row * d + c] = o / L;
            if (c == 0) lsePart[row] = M + swi_log(L);
        }
        __syncthreads();
    }
}

// Merge of the splits of each (b, h): grid (B*Hq), block (128). oPart, lsePart, rowStart, rowCount not modified;
// o [B,1,Hq,D] (stored type In), lse [B,1,Hq] (T) written.
template <typename In, typename T>
__device__ void decode_merge(const T* __restrict__ oPart, const T* __restrict__ lsePart,
                             const int* __restrict__ rowStart, const int* __restrict__ rowCount, In* __restrict__ o,
                             T* __restrict__ lse, int Hq, int Hkv, int d) {
    const int bh = blockIdx.x, b = bh / Hq, h = bh % Hq, G = Hq / Hkv, g = h / G, hh = h % G;
    const int s0 = rowStart[b * Hkv + g], n = rowCount[b * Hkv + g];
    T M = swi_neg_inf<T>();
    for (int s = 0; s < n; s++) M = fmax(M, lsePart[(i64)(s0 + s) * G + hh]);
    T W = 0;
    for (int s = 0; s < n; s++) W += swi_exp(lsePart[(i64)(s0 + s) * G + hh] - M);
    for (int c = threadIdx.x; c < d; c += blockDim.x) {
        T x = 0;
        for (int s = 0; s < n; s++) {
            const i64 row = (i64)(s0 + s) * G + hh;
            x = fma(swi_exp(lsePart[row] - M), oPart[row * d + c], x);
        }
        o[(i64)bh * d + c] = swi_store<In>(x / W);
    }
    if (threadIdx.x == 0) lse[bh] = M + swi_log(W);
}

#define SWI_DECODE(In, T, TN, DPL)                                                                                   \
    extern "C" __global__ void __launch_bounds__(128) swi_decode_split_simt_##TN##_d##DPL(                          \
        const In* q, const In* k, const In* v, const int4* items, T* oPart, T* lsePart, int Sk, int Hq, int Hkv,      \
        int d, T scale) {                                                                                             \
        decode_split_simt<In, T, DPL, 4>(q, k, v, items, oPart, lsePart, Sk, Hq, Hkv, d, scale);                     \
    }
#define SWI_DECODE_MERGE(In, T, TN)                                                                                  \
    extern "C" __global__ void __launch_bounds__(128) swi_decode_merge_##TN(const T* oPart, const T* lsePart,       \
                                                                           const int* rowStart, const int* rowCount, \
                                                                           In* o, T* lse, int Hq, int Hkv, int d) {  \
        decode_merge<In, T>(oPart, lsePart, rowStart, rowCount, o, lse, Hq, Hkv, d);                                  \
    }

// D <= 32 * DPL: DPL 2 (D <= 64), 4 (D <= 128), 8 (D <= 256)
SWI_DECODE(double, double, f64, 2)
SWI_DECODE(double, double, f64, 4)
SWI_DECODE(double, double, f64, 8)
SWI_DECODE(float, float, f32, 2)
SWI_DECODE(float, float, f32, 4)
SWI_DECODE(float, float, f32, 8)
SWI_DECODE(__nv_bfloat16, float, bf16, 2)
SWI_DECODE(__nv_bfloat16, float, bf16, 4)
SWI_DECODE_MERGE(double, double, f64)
SWI_DECODE_MERGE(float, float, f32)
SWI_DECODE_MERGE(__nv_bfloat16, float, bf16)
