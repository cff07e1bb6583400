// Element-wise and row-reduction helpers of the routed attention, in every precision: "_f64", "_f32" and "_bf16"
// (bf16 storage, fp32 arithmetic). Every reduction runs in a fixed order (one warp per row, fixed butterfly), so
// results are deterministic. Types: In the stored type of the tensors, T the compute type (of coefficients, deltas
// and router gradients); fp64 and fp32: In = T; bf16: In = bf16, T = float.
#include "common.cuh"

// x[n] = scale * N(0,1) for n < count, from a counter-based hash (SplittableRandom's SplitMix64 mix + Box-Muller in
// double, rounded once to In): fresh random data for benchmarks without a host round trip. Never zeros.
//   x [count] modified. Launch: grid (ceil(count/256)), block (256).
template <typename In>
__device__ void fill_normal(In* x, i64 count, unsigned long long seed, double scale) {
    i64 n = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= count) return;
    unsigned long long s = seed + 0x9E3779B97F4A7C15ULL * (unsigned long long)(n + 1);
    auto mix = [](unsigned long long z) {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    };
    double u1 = ((mix(s) >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    double u2 = (mix(s ^ 0xD1B54A32D192ED03ULL) >> 11) * 0x1.0p-53;
    x[n] = swi_store<In>(scale * sqrt(-2.0 * log(u1)) * cospi(2.0 * u2));
}

// delta[r*Hq + h] = coef[r] * <dO[r,h,:], X[r,h,:]>   (coef == nullptr means 1), lane-strided, butterfly
//   dO, X [rows,Hq,D] not modified; coef [rows] not modified; delta [rows,Hq] modified.
// Launch: grid (ceil(rows*Hq/8)), block (256): one warp per (r, h).
template <typename In, typename T>
__device__ void delta_rows(const In* dO, const In* X, const T* coef, T* delta, int rows, int Hq, int d) {
    i64 rh = (i64)blockIdx.x * 8 + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (rh >= (i64)rows * Hq) return;
    const In* a = dO + rh * d;
    const In* x = X + rh * d;
    T s = 0;
    for (int c = lane; c < d; c += 32) s += swi_load<T>(a[c]) * swi_load<T>(x[c]);
    s = swi_group_sum(s, 32);
    if (lane == 0) delta[rh] = coef ? coef[rh / Hq] * s : s;
}

// The same delta, one thread per (r, h), summed in sequential fused multiply-adds over d = 0..D-1: exactly the order
// in which the v2 backward kernels sum dp_ij = <dOB_i, v_j>, so that dp_ij - delta_i is exactly 0 when o_i = v_j
// (a row whose attention sits on one key, e.g. w = 1), as the exact gradient is. (The v1 kernels sum dp lane-strided
// with a butterfly, the order of swi_delta_*.) fp64 and fp32.
// Launch: grid (ceil(rows*Hq/256)), block (256).
template <typename T>
__device__ void delta_rows_seq(const T* dO, const T* X, const T* coef, T* delta, int rows, int Hq, int d) {
    i64 rh = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (rh >= (i64)rows * Hq) return;
    const T* a = dO + rh * d;
    const T* x = X + rh * d;
    T s = 0;
    for (int c = 0; c < d; c++) s = fma(a[c], x[c], s);
    delta[rh] = coef ? coef[rh / Hq] * s : s;
}

// dA[r] = factor[r] * sum_{h,d} dO[r,h,d] * (X[r,h,d] - Y[r,h,d])   (Y == nullptr means 0)
//   STRAIGHT_THROUGH, SOFT: X = oF, Y = oW, factor = p(1-p);  SELECTED_BRANCH: X = O, Y = null, factor = z - p.
//   dO, X, Y [rows, Hq*D] not modified; factor [rows] not modified; dA [rows] modified.
// Launch: grid (rows), block (256).
template <typename In, typename T>
__device__ void router_grad(const In* dO, const In* X, const In* Y, const T* factor, T* dA, int rows, int hd) {
    __shared__ T part[8];
    int r = blockIdx.x;
    if (r >= rows) return;
    const In* a = dO + (i64)r * hd;
    const In* x = X + (i64)r * hd;
    const In* y = Y ? Y + (i64)r * hd : nullptr;
    T s = 0;
    for (int c = threadIdx.x; c < hd; c += blockDim.x)
        s += swi_load<T>(a[c]) * (y ? swi_load<T>(x[c]) - swi_load<T>(y[c]) : swi_load<T>(x[c]));
    s = swi_group_sum(s, 32);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        T t = 0;
        for (int k = 0; k < (int)(blockDim.x >> 5); k++) t += part[k];
        dA[r] = factor[r] * t;
    }
}

// SOFT forward: O = pF*oF + pW*oW (pF = sigmoid(a), pW = sigmoid(-a), in T, rounded once to In), LSE = z ? lseF : lseW.
//   oF, oW [rows,Hq,D], pF, pW [rows], lseF, lseW [rows,Hq], z [rows] not modified; O, lse modified.
// Launch: grid (ceil(rows*Hq*D/256)), block (256).
template <typename In, typename T>
__device__ void soft_combine(const In* oF, const In* oW, const T* pF, const T* pW, const T* lseF, const T* lseW,
                             const unsigned char* z, In* O, T* lse, int rows, int Hq, int d) {
    i64 n = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    i64 total = (i64)rows * Hq * d;
    if (n >= total) return;
    i64 r = n / ((i64)Hq * d);
    O[n] = swi_store<In>(pF[r] * swi_load<T>(oF[n]) + pW[r] * swi_load<T>(oW[n]));
    if (n % d == 0) {
        i64 rh = n / d;
        lse[rh] = z[r] ? lseF[rh] : lseW[rh];
    }
}

#define SWI_UTIL(In, T, TN)                                                                                       \
    extern "C" __global__ void swi_fill_normal_##TN(In* x, i64 count, unsigned long long seed, double scale) {    \
        fill_normal<In>(x, count, seed, scale);                                                                   \
    }                                                                                                             \
    extern "C" __global__ void swi_delta_##TN(const In* dO, const In* X, const T* coef, T* delta, int rows,       \
                                              int Hq, int d) {                                                    \
        delta_rows<In, T>(dO, X, coef, delta, rows, Hq, d);                                                       \
    }                                                                                                             \
    extern "C" __global__ void swi_router_grad_##TN(const In* dO, const In* X, const In* Y, const T* factor,      \
                                                    T* dA, int rows, int hd) {                                    \
        router_grad<In, T>(dO, X, Y, factor, dA, rows, hd);                                                       \
    }                                                                                                             \
    extern "C" __global__ void swi_soft_combine_##TN(const In* oF, const In* oW, const T* pF, const T* pW,        \
                                                     const T* lseF, const T* lseW, const unsigned char* z, In* O, \
                                                     T* lse, int rows, int Hq, int d) {                           \
        soft_combine<In, T>(oF, oW, pF, pW, lseF, lseW, z, O, lse, rows, Hq, d);                                  \
    }

#define SWI_DELTA_SEQ(T, TN)                                                                                      \
    extern "C" __global__ void swi_delta_seq_##TN(const T* dO, const T* X, const T* coef, T* delta, int rows,     \
                                                  int Hq, int d) {                                                \
        delta_rows_seq<T>(dO, X, coef, delta, rows, Hq, d);                                                       \
    }

SWI_UTIL(double, double, f64)
SWI_UTIL(float, float, f32)
SWI_UTIL(__nv_bfloat16, float, bf16)
SWI_DELTA_SEQ(double, f64)
SWI_DELTA_SEQ(float, f32)

// y[n] = bf16(x[n]) for n < count: the bf16 SIMT backward's fp32 dQ scratch rounded once.
//   x fp32 not modified, y bf16 written. Launch: grid ceil(count/256), block 256.
extern "C" __global__ void swi_to_bf16_f32(const float* x, __nv_bfloat16* y, i64 count) {
    const i64 n = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (n < count) y[n] = swi_store<__nv_bfloat16>(x[n]);
}
