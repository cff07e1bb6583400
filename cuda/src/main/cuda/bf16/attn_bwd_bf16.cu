// Kernel entry points of the bf16 routed-attention backward (math, layouts and schedules: attn_bwd_bf16.cuh).
// extern "C" names for the JCuda driver API (org.swiattn.cuda.bf16.Bf16Kernels) and the ctypes library.
//
// Version 2, tensor cores (mma.sync), D in {64, 128}; 128 threads, dynamic shared 4*64*D*2 + 1024 bytes:
//   swiattn_bf16_bwd_dkdv_mma_d<D>(const bf16* Q, const bf16* K, const bf16* V, const bf16* dO,
//        const int* order [B,S] or null, const int* nfull [B], const float* lseF, lseW, deltaF, deltaW [B,S,Hq],
//        const float* coefF, coefW [B,S] or null, bf16* dK, bf16* dV, int B, int S, int Hq, int Hkv, int window,
//        float scale)                                         grid ceil(S/64) * Hkv * B
//   swiattn_bf16_bwd_dq_mma_d<D>(same inputs..., bf16* dQ, int B, int S, int Hq, int Hkv, int window, float scale)
//                                                             grid (ceil(S/64) + 1) * Hq * B
//   order == null means SOFT (identity lists, both branches for every token).
// Version 1, SIMT fp32 (copy of the fp32 tiled backward), D in {64, 128}; 256 threads; dynamic shared
// SimtLayout<D,64,64>::BYTES (exported as swiattn_bf16_bwd_simt_d<D>_cfg = {BM, BN, threads, bytes}):
//   swiattn_bf16_bwd_dkdv_simt_d<D>(const bf16* q, k, v, dO, const int* listF, nF, listW, nW (null count: branch
//        off), const float* lseF, lseW, deltaF, deltaW, coefF, coefW, int B, S, Hq, Hkv, w, float scale,
//        bf16* dK, bf16* dV)                                  grid (ceil(S/64), Hkv, B)
//   swiattn_bf16_bwd_dq_simt_d<D>(same inputs..., float* dQacc, int accumulate)   grid (ceil(S/64) + 1) * Hq * B
// Row helpers: swiattn_bf16_delta, swiattn_bf16_router_grad, swiattn_bf16_f32_to_bf16, swiattn_bf16_fill_normal.
#include "attn_bwd_bf16.cuh"

using swiattn_bf16::bwd_mma_smem_bytes;

#define SWIATTN_BF16_BWD_MMA(D)                                                                                      \
    extern "C" __global__ void __launch_bounds__(128) swiattn_bf16_bwd_dkdv_mma_d##D(                                \
        const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K, const __nv_bfloat16* __restrict__ V, \
        const __nv_bfloat16* __restrict__ dO, const int* __restrict__ order, const int* __restrict__ nfull,          \
        const float* __restrict__ lseF, const float* __restrict__ lseW, const float* __restrict__ deltaF,            \
        const float* __restrict__ deltaW, const float* __restrict__ coefF, const float* __restrict__ coefW,          \
        __nv_bfloat16* __restrict__ dK, __nv_bfloat16* __restrict__ dV, int B, int S, int Hq, int Hkv, int window,   \
        float scale) {                                                                                                \
        swiattn_bf16::mma_dkdv_body<D>(Q, K, V, dO, order, nfull, lseF, lseW, deltaF, deltaW, coefF, coefW, dK, dV, B, \
                                       S, Hq, Hkv, window, scale);                                                    \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(128) swiattn_bf16_bwd_dq_mma_d##D(                                  \
        const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K, const __nv_bfloat16* __restrict__ V, \
        const __nv_bfloat16* __restrict__ dO, const int* __restrict__ order, const int* __restrict__ nfull,          \
        const float* __restrict__ lseF, const float* __restrict__ lseW, const float* __restrict__ deltaF,            \
        const float* __restrict__ deltaW, const float* __restrict__ coefF, const float* __restrict__ coefW,          \
        __nv_bfloat16* __restrict__ dQ, int B, int S, int Hq, int Hkv, int window, float scale) {                    \
        swiattn_bf16::mma_dq_body<D>(Q, K, V, dO, order, nfull, lseF, lseW, deltaF, deltaW, coefF, coefW, dQ, B, S, Hq, \
                                     Hkv, window, scale);                                                             \
    }

SWIATTN_BF16_BWD_MMA(64)
SWIATTN_BF16_BWD_MMA(128)

#define SWIATTN_BF16_BWD_SIMT(D)                                                                                     \
    extern "C" {                                                                                                      \
    __constant__ int swiattn_bf16_bwd_simt_d##D##_cfg[4] = {64, 64, 256,                                              \
                                                            swiattn_bf16::SimtLayout<D, 64, 64>::BYTES};            \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(256) swiattn_bf16_bwd_dkdv_simt_d##D(                               \
        SIMT_BWD_ARGS, __nv_bfloat16* __restrict__ dK, __nv_bfloat16* __restrict__ dV) {                            \
        swiattn_bf16::simt_dkdv<D, 64, 64, 256, 4, 4, 4>(SIMT_BWD_PASS, dK, dV);                                      \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(256) swiattn_bf16_bwd_dq_simt_d##D(                                 \
        SIMT_BWD_ARGS, float* __restrict__ dQacc, int accumulate) {                                                   \
        swiattn_bf16::simt_dq<D, 64, 64, 256, 4, 4, 4>(SIMT_BWD_PASS, dQacc, accumulate);                             \
    }

SWIATTN_BF16_BWD_SIMT(64)
SWIATTN_BF16_BWD_SIMT(128)

extern "C" __global__ void __launch_bounds__(256) swiattn_bf16_delta(const __nv_bfloat16* __restrict__ dO,
                                                                    const __nv_bfloat16* __restrict__ X,
                                                                    const float* __restrict__ coef,
                                                                    float* __restrict__ delta, int rows, int Hq, int D) {
    swiattn_bf16::delta_body(dO, X, coef, delta, rows, Hq, D);
}

extern "C" __global__ void __launch_bounds__(256) swiattn_bf16_router_grad(const __nv_bfloat16* __restrict__ dO,
                                                                          const __nv_bfloat16* __restrict__ X,
                                                                          const __nv_bfloat16* __restrict__ Y,
                                                                          const float* __restrict__ factor,
                                                                          float* __restrict__ dA, int rows, int hd) {
    swiattn_bf16::router_grad_body(dO, X, Y, factor, dA, rows, hd);
}

extern "C" __global__ void __launch_bounds__(256) swiattn_bf16_f32_to_bf16(const float* __restrict__ x,
                                                                          __nv_bfloat16* __restrict__ y,
                                                                          long long count) {
    swiattn_bf16::f32_to_bf16_body(x, y, count);
}

extern "C" __global__ void __launch_bounds__(256) swiattn_bf16_fill_normal(__nv_bfloat16* __restrict__ x,
                                                                          long long count, unsigned long long seed,
                                                                          float scale) {
    swiattn_bf16::fill_normal_body(x, count, seed, scale);
}

// SOFT forward mixing (a row helper of the forward, kept here with the other row helpers):
//   O[n] = bf16(pF[r] * oF[n] + pW[r] * oW[n]) (fp32), r = n / (Hq*D);  lse[rh] = z[r] ? lseF[rh] : lseW[rh].
//   oF, oW [rows,Hq,D] bf16, pF, pW [rows] fp32, lseF, lseW [rows,Hq] fp32, z [rows] uint8: not modified;
//   O bf16, lse fp32: written. Launch: grid ceil(rows*Hq*D/256), block 256.
extern "C" __global__ void __launch_bounds__(256) swiattn_bf16_soft_combine(
    const __nv_bfloat16* __restrict__ oF, const __nv_bfloat16* __restrict__ oW, const float* __restrict__ pF,
    const float* __restrict__ pW, const float* __restrict__ lseF, const float* __restrict__ lseW,
    const unsigned char* __restrict__ z, __nv_bfloat16* __restrict__ O, float* __restrict__ lse, int rows, int Hq,
    int D) {
    const long long n = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (n >= (long long)rows * Hq * D) return;
    const long long r = n / ((long long)Hq * D);
    O[n] = __float2bfloat16_rn(pF[r] * __bfloat162float(oF[n]) + pW[r] * __bfloat162float(oW[n]));
    if (n % D == 0) {
        const long long rh = n / D;
        lse[rh] = z[r] ? lseF[rh] : lseW[rh];
    }
}
