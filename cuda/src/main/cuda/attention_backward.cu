// Kernel entry points of the fp64 ("_f64") and fp32 ("_f32") backward (math, layouts and arguments:
// attention_backward.cuh). Each v2 kernel exports its configuration {BM, BN, threads, dynamic shared bytes} as
// <family>_cfg, read by the host (org.swiattn.cuda.KernelPlan) and checked against its table.
#include "attention_backward.cuh"

// ------------------------------------------------------------------------------------------------------------------
#define SWI_BWD_V1(T, TN)                                                                                         \
    extern "C" __global__ void __launch_bounds__(32) swi_bwd_dkdv_v1_##TN(BWD_COMMON(T), T* dK, T* dV) {          \
        dkdv_v1<T>(BWD_COMMON_ARGS, dK, dV);                                                                      \
    }                                                                                                            \
    extern "C" __global__ void __launch_bounds__(32) swi_bwd_dq_v1_##TN(BWD_COMMON(T), T* dQ, int accumulate) {   \
        dq_v1<T>(BWD_COMMON_ARGS, dQ, accumulate);                                                                \
    }

#define SWI_BWD_V2(T, TN, DMAX, BM, BN, SR, SC, J)                                                               \
    extern "C" {                                                                                                 \
    __constant__ int swi_bwd_v2_##TN##_d##DMAX##_cfg[4] = {BM, BN, 256, BwdV2Layout<T, DMAX, BM, BN>::BYTES};    \
    }                                                                                                            \
    extern "C" __global__ void __launch_bounds__(256) swi_bwd_dkdv_v2_##TN##_d##DMAX(BWD_COMMON(T), T* dK,       \
                                                                                     T* dV) {                    \
        dkdv_v2<T, T, DMAX, BM, BN, 256, SR, SC, J>(BWD_COMMON_ARGS, dK, dV);                                       \
    }                                                                                                            \
    extern "C" __global__ void __launch_bounds__(256) swi_bwd_dkdv_v2_##TN##_d##DMAX##_seg(BWD_COMMON(T), T* dK, \
                                                                                     T* dV, const int* seg) {    \
        dkdv_v2<T, T, DMAX, BM, BN, 256, SR, SC, J, true>(BWD_COMMON_ARGS, dK, dV, seg);                            \
    }                                                                                                            \
    extern "C" __global__ void __launch_bounds__(256) swi_bwd_dq_v2_##TN##_d##DMAX(BWD_COMMON(T), T* dQ,         \
                                                                                   int accumulate) {             \
        dq_v2<T, T, DMAX, BM, BN, 256, SR, SC, J>(BWD_COMMON_ARGS, dQ, accumulate);                                 \
    }                                                                                                            \
    extern "C" __global__ void __launch_bounds__(256) swi_bwd_dq_v2_##TN##_d##DMAX##_seg(BWD_COMMON(T), T* dQ,   \
                                                                                 int accumulate, const int* seg) {\
        dq_v2<T, T, DMAX, BM, BN, 256, SR, SC, J, true>(BWD_COMMON_ARGS, dQ, accumulate, seg);                      \
    }

SWI_BWD_V1(double, f64)
SWI_BWD_V1(float, f32)

SWI_BWD_V2(double, f64, 16, 32, 32, 2, 2, 2)
SWI_BWD_V2(double, f64, 32, 32, 32, 2, 2, 2)
SWI_BWD_V2(double, f64, 64, 32, 32, 2, 2, 2)
SWI_BWD_V2(double, f64, 128, 32, 32, 2, 2, 2)
SWI_BWD_V2(double, f64, 256, 16, 16, 1, 1, 1)
SWI_BWD_V2(float, f32, 16, 64, 64, 4, 4, 4)
SWI_BWD_V2(float, f32, 32, 64, 64, 4, 4, 4)
SWI_BWD_V2(float, f32, 64, 64, 64, 4, 4, 4)
SWI_BWD_V2(float, f32, 128, 64, 64, 4, 4, 4)
SWI_BWD_V2(float, f32, 256, 32, 32, 2, 2, 2)
