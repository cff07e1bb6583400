// Routed decode, SIMT split kernels of every precision ("_f64", "_f32", "_bf16": bf16 storage, fp32 arithmetic):
// the item format, outputs and merge are in decode.cuh.
#include "decode.cuh"

// One item, SIMT: 4 warps, warp w takes keys kLo + w, kLo + w + 4, ...; lane owns dims lane + 32u (u < DPL,
// D <= 32*DPL); HG query heads at a time (G > HG: further passes). Online softmax per warp and head, then the 4
// warps' states merged in shared memory, emitted (decode_emit), and the pieces merged (decode_merge_last).
//   q, k, v, items, rowStart, rowCount not modified; counters modified (left 0); oPart, lsePart scratch;
//   o, lse written at the item's heads. Launch: grid (items), block (128).
template <typename In, typename T, int DPL, int HG>
__device__ void decode_split_simt(const In* __restrict__ q, const In* __restrict__ k, const In* __restrict__ v,
                                  const int4* __restrict__ items, const int* __restrict__ rowStart,
                                  const int* __restrict__ rowCount, int* counters, T* __restrict__ oPart,
                                  T* __restrict__ lsePart, In* __restrict__ o, T* __restrict__ lse, int Sk, int Hq,
                                  int Hkv, int d, T scale) {
    constexpr int NW = 4;
    __shared__ T smM[NW][HG], smL[NW][HG];
    __shared__ T smO[NW][HG][32 * DPL];
    const int4 it = items[blockIdx.x];
    const int pair = it.x, kLo = it.z, kHi = it.w, b = pair / Hkv, g = pair % Hkv, G = Hq / Hkv;
    const int s0 = rowStart[pair], pieces = rowCount[pair];
    const i64 outRow0 = (i64)b * Hq + g * G;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    for (int h0 = 0; h0 < G; h0 += HG) {
        // 1. this pass's query heads (rows past G are zero and not stored)
        T qr[HG][DPL], acc[HG][DPL], m[HG], l[HG];
#pragma unroll
        for (int i = 0; i < HG; i++) {
            const bool ok = h0 + i < G;
            const i64 qOff = (outRow0 + h0 + i) * d;
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
            T L = 0, ov = 0;
            for (int w = 0; w < NW; w++) {
                const T e = smM[w][i] == swi_neg_inf<T>() ? T(0) : swi_exp(smM[w][i] - M);
                L += smL[w][i] * e;
                ov += smO[w][i][c] * e;
            }
            decode_emit(pieces, (i64)(s0 + it.y) * G + h0 + i, outRow0 + h0 + i, d, c, ov / L, M + swi_log(L),
                        oPart, lsePart, o, lse);
        }
        __syncthreads();
    }
    if (pieces > 1) {
        constexpr int CAP = 8192 / sizeof(T);
        __shared__ T sBuf[CAP];
        decode_merge_last(oPart, lsePart, s0, pieces, counters + pair, o, lse, outRow0, G, d, sBuf, CAP);
    }
}

#define SWI_DECODE(In, T, TN, DPL)                                                                                   \
    extern "C" __global__ void __launch_bounds__(128) swi_decode_split_simt_##TN##_d##DPL(                          \
        const In* q, const In* k, const In* v, const int4* items, const int* rowStart, const int* rowCount,          \
        int* counters, T* oPart, T* lsePart, In* o, T* lse, int Sk, int Hq, int Hkv, int d, T scale) {                \
        decode_split_simt<In, T, DPL, 4>(q, k, v, items, rowStart, rowCount, counters, oPart, lsePart, o, lse, Sk,   \
                                         Hq, Hkv, d, scale);                                                          \
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
