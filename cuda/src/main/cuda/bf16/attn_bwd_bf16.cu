// Kernel entry points of the bf16 routed-attention backward (math, layouts and schedules: attn_bwd_bf16.cuh and
// ../attention_backward.cuh). extern "C" names for the JCuda driver API (org.swiattn.cuda.bf16.Bf16Kernels).
// Each family exports its configuration {BM, BN, threads, dynamic shared bytes} as <family>_cfg (checked by a GPU
// test against Bf16Kernels' mirror).
//
// Version "mma2" (Java MMA), tensor cores, D in {64, 128}; 128 threads, bwd_mma2_smem_bytes<D>() dynamic shared
// bytes; family swi_bwd_mma2_bf16_d<D>:
//   swi_bwd_dkdv_mma2_bf16_d<D>(const bf16* Q, K, V, dO, const int* listF [B,S], nF [B], listW [B,S], nW [B],
//        const float* lseF, lseW, deltaF, deltaW [B,S,Hq], const float* coefF, coefW [B,S] or null,
//        bf16* dK, bf16* dV, int B, int S, int Hq, int Hkv, int window, float scale)    grid ceil(S/64) * Hkv * B
//   swi_bwd_dq_mma2_bf16_d<D>(Q, K, V, dO, listF, nF, listW, nW, lse*, delta*, coef*, bf16* dQ,
//        int B, int S, int Hq, int Hkv, int window, float scale, int both)      grid (ceil(S/64) + 1) * Hq * B
//   both = 1 (SOFT): listF the identity list, nW null, every row through both branches.
//   swi_bwd_dkdv_mma2_bf16_d<D>_seg, swi_bwd_dq_mma2_bf16_d<D>_seg: the same plus a last argument const int* seg, a
//   segment table (../common.cuh, swi_rows), B its segment count and S its largest kLen: grids
//   ceil(max kLen/64) * Hkv * B and (ceil(max qLen/64) + 1) * Hq * B; dK, dV rows in no segment are not written
// Version "mma" (mma2 without the cp.async double buffering; bit-identical and slower) remains in git history only.
// Version "simt" = the fp32 v2 backward templates with bf16 storage (In = bf16, T = float), D in {64, 128}; 256
// threads; family swi_bwd_v2_bf16_d<D>, the argument lists of ../attention_backward.cu's v2 kernels:
//   swi_bwd_dkdv_v2_bf16_d<D>(..., bf16* dK, bf16* dV)                  grid (ceil(S/64), Hkv, B)
//   swi_bwd_dq_v2_bf16_d<D>(..., float* dQacc, int accumulate)         grid (ceil(S/64) + 1) * Hq * B
//   swi_bwd_dkdv_v2_bf16_d<D>_seg, swi_bwd_dq_v2_bf16_d<D>_seg: the same plus a last argument const int* seg, a
//   segment table (../common.cuh, swi_rows), the grids sized as the mma2 _seg kernels'
#include "../attention_backward.cuh"
#include "attn_bwd_bf16_tc.cuh"

#define SWI_BWD_TC_BF16(VER, WG, D, SMEM)                                                                                          \
    extern "C" {                                                                                                      \
    __constant__ int swi_bwd_##VER##_bf16_d##D##_cfg[4] = {swi_bf16::BWD_T, swi_bf16::BWD_T, swi_bf16::BWD_NT,            \
                                                       SMEM};                           \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(128) swi_bwd_dkdv_##VER##_bf16_d##D(                                    \
        const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K, const __nv_bfloat16* __restrict__ V, \
        const __nv_bfloat16* __restrict__ dO, const int* __restrict__ listF, const int* __restrict__ nF,            \
        const int* __restrict__ listW, const int* __restrict__ nW, const float* __restrict__ lseF,                   \
        const float* __restrict__ lseW, const float* __restrict__ deltaF, const float* __restrict__ deltaW,          \
        const float* __restrict__ coefF, const float* __restrict__ coefW, __nv_bfloat16* __restrict__ dK,            \
        __nv_bfloat16* __restrict__ dV, int B, int S, int Hq, int Hkv, int window, float scale) {                    \
        swi_bf16::tc_dkdv_body<D, false, WG>(Q, K, V, dO, listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF, coefW, dK,   \
                                   dV, B, S, Hq, Hkv, window, scale);                                                 \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(128) swi_bwd_dq_##VER##_bf16_d##D(                                      \
        const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K, const __nv_bfloat16* __restrict__ V, \
        const __nv_bfloat16* __restrict__ dO, const int* __restrict__ listF, const int* __restrict__ nF,            \
        const int* __restrict__ listW, const int* __restrict__ nW, const float* __restrict__ lseF,                   \
        const float* __restrict__ lseW, const float* __restrict__ deltaF, const float* __restrict__ deltaW,          \
        const float* __restrict__ coefF, const float* __restrict__ coefW, __nv_bfloat16* __restrict__ dQ, int B,     \
        int S, int Hq, int Hkv, int window, float scale, int both) {                                                  \
        swi_bf16::tc_dq_body<D, false, WG>(Q, K, V, dO, listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF, coefW, dQ, B,  \
                                 S, Hq, Hkv, window, scale, both);                                                    \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(128) swi_bwd_dkdv_##VER##_bf16_d##D##_seg(                              \
        const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K, const __nv_bfloat16* __restrict__ V, \
        const __nv_bfloat16* __restrict__ dO, const int* __restrict__ listF, const int* __restrict__ nF,            \
        const int* __restrict__ listW, const int* __restrict__ nW, const float* __restrict__ lseF,                   \
        const float* __restrict__ lseW, const float* __restrict__ deltaF, const float* __restrict__ deltaW,          \
        const float* __restrict__ coefF, const float* __restrict__ coefW, __nv_bfloat16* __restrict__ dK,            \
        __nv_bfloat16* __restrict__ dV, int B, int S, int Hq, int Hkv, int window, float scale,                      \
        const int* __restrict__ seg) {                                                                                \
        swi_bf16::tc_dkdv_body<D, true, WG>(Q, K, V, dO, listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF, coefW, \
                                         dK, dV, B, S, Hq, Hkv, window, scale, seg);                                  \
    }                                                                                                                 \
    extern "C" __global__ void __launch_bounds__(128) swi_bwd_dq_##VER##_bf16_d##D##_seg(                                \
        const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K, const __nv_bfloat16* __restrict__ V, \
        const __nv_bfloat16* __restrict__ dO, const int* __restrict__ listF, const int* __restrict__ nF,            \
        const int* __restrict__ listW, const int* __restrict__ nW, const float* __restrict__ lseF,                   \
        const float* __restrict__ lseW, const float* __restrict__ deltaF, const float* __restrict__ deltaW,          \
        const float* __restrict__ coefF, const float* __restrict__ coefW, __nv_bfloat16* __restrict__ dQ, int B,     \
        int S, int Hq, int Hkv, int window, float scale, int both, const int* __restrict__ seg) {                     \
        swi_bf16::tc_dq_body<D, true, WG>(Q, K, V, dO, listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF, coefW,   \
                                       dQ, B, S, Hq, Hkv, window, scale, both, seg);                                  \
    }

SWI_BWD_TC_BF16(mma2, false, 64, swi_bf16::bwd_mma2_smem_bytes<64>())
SWI_BWD_TC_BF16(mma2, false, 128, swi_bf16::bwd_mma2_smem_bytes<128>())
SWI_BWD_TC_BF16(wgmma, true, 64, swi_bf16::bwd_wgmma_smem_bytes<64>())
SWI_BWD_TC_BF16(wgmma, true, 128, swi_bf16::bwd_wgmma_smem_bytes<128>())

#define SWI_BWD_V2_BF16(DMAX)                                                                                       \
    extern "C" {                                                                                                     \
    __constant__ int swi_bwd_v2_bf16_d##DMAX##_cfg[4] = {64, 64, 256, BwdV2Layout<float, DMAX, 64, 64>::BYTES};     \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(256) swi_bwd_dkdv_v2_bf16_d##DMAX(                                 \
        BWD_PARAMS(__nv_bfloat16, float), __nv_bfloat16* dK, __nv_bfloat16* dV) {                                   \
        dkdv_v2<__nv_bfloat16, float, DMAX, 64, 64, 256, 4, 4, 4>(BWD_COMMON_ARGS, dK, dV);                          \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(256) swi_bwd_dq_v2_bf16_d##DMAX(                                   \
        BWD_PARAMS(__nv_bfloat16, float), float* dQacc, int accumulate) {                                           \
        dq_v2<__nv_bfloat16, float, DMAX, 64, 64, 256, 4, 4, 4>(BWD_COMMON_ARGS, dQacc, accumulate);                 \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(256) swi_bwd_dkdv_v2_bf16_d##DMAX##_seg(                           \
        BWD_PARAMS(__nv_bfloat16, float), __nv_bfloat16* dK, __nv_bfloat16* dV, const int* seg) {                   \
        dkdv_v2<__nv_bfloat16, float, DMAX, 64, 64, 256, 4, 4, 4, true>(BWD_COMMON_ARGS, dK, dV, seg);               \
    }                                                                                                                \
    extern "C" __global__ void __launch_bounds__(256) swi_bwd_dq_v2_bf16_d##DMAX##_seg(                             \
        BWD_PARAMS(__nv_bfloat16, float), float* dQacc, int accumulate, const int* seg) {                           \
        dq_v2<__nv_bfloat16, float, DMAX, 64, 64, 256, 4, 4, 4, true>(BWD_COMMON_ARGS, dQacc, accumulate, seg);      \
    }

SWI_BWD_V2_BF16(64)
SWI_BWD_V2_BF16(128)
