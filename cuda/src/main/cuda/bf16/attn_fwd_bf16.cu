// Kernel entry points of the bf16 routed-attention forward (see attn_fwd_bf16.cuh for the math and layouts).
// extern "C" names so the JCuda driver API (cuModuleGetFunction) and the C harness find them by name.
//
// Variant name: swiattn_bf16_fwd_d<D>_m<BM>_t<MT>_s<STAGES>[_q]  (BM queries per block, MT m16 tiles per warp,
// STAGES-deep K/V ring, _q: Q fragments held in registers). Threads per block = BM / (16*MT) * 32.
// Dynamic shared memory = BM*4 + BM*D*2 + STAGES*2*64*D*2 bytes (set CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES).
//
// Arguments of every forward variant:
//   (const bf16* Q [B,S,Hq,D], const bf16* K [B,S,Hkv,D], const bf16* V [B,S,Hkv,D], bf16* O [B,S,Hq,D],
//    float* LSE [B,S,Hq], const int* order [B,S], const int* nfull [B], int B, int S, int Hq, int Hkv,
//    int window, float scale_log2)      grid = (ceil(S/BM) + 1) * B * Hq blocks.
// swiattn_bf16_route_compact(const uint8_t* z [B,S], int* order [B,S], int* nfull [B], int S): grid B, block 1024.
#include "attn_fwd_bf16.cuh"

#define SWIATTN_BF16_FWD(D, BM, MT, ST, QREG, MINB, NAME)                                                       \
    extern "C" __global__ void __launch_bounds__(BM / (16 * MT) * 32, MINB)                                     \
        NAME(const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K,                          \
             const __nv_bfloat16* __restrict__ V, __nv_bfloat16* __restrict__ O, float* __restrict__ LSE,       \
             const int* __restrict__ order, const int* __restrict__ nfull, int B, int S, int Hq, int Hkv,       \
             int window, float scale_log2) {                                                                    \
        swiattn_bf16::routed_fwd_body<D, BM, MT, ST, QREG>(Q, K, V, O, LSE, order, nfull, B, S, Hq, Hkv, window, \
                                                           scale_log2);                                         \
    }

// D = 128
SWIATTN_BF16_FWD(128, 128, 1, 2, true, 1, swiattn_bf16_fwd_d128_m128_t1_s2_q)
SWIATTN_BF16_FWD(128, 64, 1, 2, true, 2, swiattn_bf16_fwd_d128_m64_t1_s2_q)
SWIATTN_BF16_FWD(128, 128, 2, 2, false, 2, swiattn_bf16_fwd_d128_m128_t2_s2)
SWIATTN_BF16_FWD(128, 128, 1, 3, true, 1, swiattn_bf16_fwd_d128_m128_t1_s3_q)
SWIATTN_BF16_FWD(128, 64, 1, 3, true, 2, swiattn_bf16_fwd_d128_m64_t1_s3_q)
// D = 64
SWIATTN_BF16_FWD(64, 128, 1, 2, true, 1, swiattn_bf16_fwd_d64_m128_t1_s2_q)
SWIATTN_BF16_FWD(64, 64, 1, 2, true, 3, swiattn_bf16_fwd_d64_m64_t1_s2_q)
SWIATTN_BF16_FWD(64, 128, 2, 2, true, 2, swiattn_bf16_fwd_d64_m128_t2_s2_q)

extern "C" __global__ void __launch_bounds__(1024) swiattn_bf16_route_compact(const uint8_t* __restrict__ z,
                                                                             int* __restrict__ order,
                                                                             int* __restrict__ nfull, int S) {
    swiattn_bf16::route_compact_body(z, order, nfull, S);
}

// ---- version 2: wgmma (sm_90a; compiled as empty stubs for other targets) ------------------------------------
// Variant name: swiattn_bf16_wg_d<D>_w<NWG>_s<STAGES>[_o]_b<MINBLOCKS> (_o: P V overlapped with the next softmax); BM = 64*NWG queries, 128*NWG threads.
// Arguments: (const bf16* Q, const bf16* K, const bf16* Vt [B,Hkv,D,Sp], bf16* O, float* LSE, const int* order,
//             const int* nfull, int B, int S, int Sp, int Hq, int Hkv, int window, float scale_log2)
// Dynamic shared memory = 1024 + 64*NWG*D*2 + STAGES*2*64*D*2 + 64*NWG*4 bytes.
// swiattn_bf16_transpose_v(const bf16* V, bf16* Vt, int S, int Sp, int Hkv, int D): grid (Sp/64, D/64, B*Hkv), 256.
#include "attn_fwd_bf16_wgmma.cuh"

#define SWIATTN_BF16_WG(D, NWG, ST, OVL, MINB, NAME)                                                                 \
    extern "C" __global__ void __launch_bounds__(128 * NWG, MINB)                                              \
        NAME(const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K,                          \
             const __nv_bfloat16* __restrict__ Vt, __nv_bfloat16* __restrict__ O, float* __restrict__ LSE,      \
             const int* __restrict__ order, const int* __restrict__ nfull, int B, int S, int Sp, int Hq, int Hkv, \
             int window, float scale_log2) {                                                                    \
        swiattn_bf16::routed_fwd_wgmma_body<D, NWG, ST, OVL>(Q, K, Vt, O, LSE, order, nfull, B, S, Sp, Hq, Hkv, window, \
                                                        scale_log2);                                            \
    }

SWIATTN_BF16_WG(128, 2, 2, false, 1, swiattn_bf16_wg_d128_w2_s2_b1)
SWIATTN_BF16_WG(128, 2, 2, false, 2, swiattn_bf16_wg_d128_w2_s2_b2)
SWIATTN_BF16_WG(128, 1, 2, false, 2, swiattn_bf16_wg_d128_w1_s2_b2)
SWIATTN_BF16_WG(128, 3, 2, false, 1, swiattn_bf16_wg_d128_w3_s2_b1)
SWIATTN_BF16_WG(128, 2, 3, true, 1, swiattn_bf16_wg_d128_w2_s3_o_b1)
SWIATTN_BF16_WG(128, 3, 3, true, 1, swiattn_bf16_wg_d128_w3_s3_o_b1)
SWIATTN_BF16_WG(128, 4, 2, false, 1, swiattn_bf16_wg_d128_w4_s2_b1)
SWIATTN_BF16_WG(64, 2, 2, false, 2, swiattn_bf16_wg_d64_w2_s2_b2)
SWIATTN_BF16_WG(64, 3, 3, true, 1, swiattn_bf16_wg_d64_w3_s3_o_b1)

extern "C" __global__ void __launch_bounds__(256) swiattn_bf16_transpose_v(const __nv_bfloat16* __restrict__ V,
                                                                          __nv_bfloat16* __restrict__ Vt, int S,
                                                                          int Sp, int Hkv, int D) {
    swiattn_bf16::transpose_v_body(V, Vt, S, Sp, Hkv, D);
}
