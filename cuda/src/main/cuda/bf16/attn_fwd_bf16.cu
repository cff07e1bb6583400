// Kernel entry points of the bf16 routed-attention forward (math, layouts and schedule: attn_fwd_bf16.cuh and
// attn_fwd_bf16_wgmma.cuh). extern "C" names for the JCuda driver API (org.swiattn.cuda.bf16.Bf16Kernels).
// Each kernel exports its configuration {BM, BN, threads, dynamic shared bytes} as <kernel>_cfg, which
// org.swiattn.cuda.bf16.Bf16Attention.Variant mirrors and a GPU test checks (as the fp64/fp32 kernels do).
//
// Version 1, mma.sync (compute capability 8.0+):   swi_fwd_mma_bf16_d<D>_m<BM>_t<MT>_s<STAGES>
//   BM queries per block, MT m16 tiles per warp, STAGES-deep K/V ring; threads = BM / (16*MT) * 32.
//   (const bf16* Q [B,S,Hq,D], const bf16* K [B,S,Hkv,D], const bf16* V [B,S,Hkv,D], bf16* O [B,S,Hq,D],
//    float* LSE [B,S,Hq], const int* listF [B,S], const int* nF [B], const int* listW [B,S], const int* nW [B],
//    int B, int S, int Hq, int Hkv, int window, float scale_log2)      grid = (ceil(S/BM) + 1) * B * Hq blocks.
//   NAME_seg: the same plus a last argument const int* seg, a segment table (../common.cuh, swi_rows): B entries are
//   segments, Q, O, LSE flat query rows, K, V flat key rows, grid (ceil(max qLen/BM) + 1) * B * Hq.
// Version 3, wgmma (sm_90a; elsewhere the entry points trap):   swi_fwd_wgmmav_bf16_d<D>_w<NWG>_s<STAGES>_b<MINB>
//   BM = 64*NWG queries, 128*NWG threads, MINB blocks per SM (launch bounds); version 1's arguments and grid, and a
//   NAME_seg form. (Version 2, which read a V^T copy, and the later candidates live in git history:
//   bench/results/2026-12-02-bf16-forward-candidates.md.)
// The shipped variants are the fastest measured per version and D (bench/results/2026-11-29-bf16-forward.md); the
// other configurations tried there live in git history (until commit 8836669).
#include "attn_fwd_bf16_wgmma.cuh"

#define SWI_FWD_MMA_BF16(D, BM, MT, ST, MINB, NAME)                                                             \
    extern "C" {                                                                                                \
    __constant__ int NAME##_cfg[4] = {BM, swi_bf16::BN, BM / (16 * MT) * 32, swi_bf16::smem_bytes<D, BM, ST>()}; \
    }                                                                                                           \
    extern "C" __global__ void __launch_bounds__(BM / (16 * MT) * 32, MINB)                                     \
        NAME(const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K,                          \
             const __nv_bfloat16* __restrict__ V, __nv_bfloat16* __restrict__ O, float* __restrict__ LSE,       \
             const int* __restrict__ listF, const int* __restrict__ nF, const int* __restrict__ listW,          \
             const int* __restrict__ nW, int B, int S, int Hq, int Hkv, int window, float scale_log2) {         \
        swi_bf16::routed_fwd_body<D, BM, MT, ST>(Q, K, V, O, LSE, listF, nF, listW, nW, B, S, Hq, Hkv, window,  \
                                                 scale_log2);                                                   \
    }                                                                                                           \
    extern "C" __global__ void __launch_bounds__(BM / (16 * MT) * 32, MINB)                                     \
        NAME##_seg(const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K,                    \
                   const __nv_bfloat16* __restrict__ V, __nv_bfloat16* __restrict__ O, float* __restrict__ LSE, \
                   const int* __restrict__ listF, const int* __restrict__ nF, const int* __restrict__ listW,    \
                   const int* __restrict__ nW, int B, int S, int Hq, int Hkv, int window, float scale_log2,     \
                   const int* __restrict__ seg) {                                                               \
        swi_bf16::routed_fwd_body<D, BM, MT, ST, true>(Q, K, V, O, LSE, listF, nF, listW, nW, B, S, Hq, Hkv,    \
                                                       window, scale_log2, seg);                                \
    }

SWI_FWD_MMA_BF16(128, 64, 1, 3, 2, swi_fwd_mma_bf16_d128_m64_t1_s3)
SWI_FWD_MMA_BF16(64, 128, 2, 2, 2, swi_fwd_mma_bf16_d64_m128_t2_s2)

// Version 3: wgmma reading V itself, with version 1's arguments, and a _seg form.
#define SWI_FWD_WGMMAV_BF16(D, NWG, ST, MINB, NAME)                                                             \
    extern "C" {                                                                                                \
    __constant__ int NAME##_cfg[4] = {64 * NWG, swi_bf16::BN, 128 * NWG, swi_bf16::wg_smem_bytes<D, NWG, ST>()}; \
    }                                                                                                           \
    extern "C" __global__ void __launch_bounds__(128 * NWG, MINB)                                              \
        NAME(const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K,                          \
             const __nv_bfloat16* __restrict__ V, __nv_bfloat16* __restrict__ O, float* __restrict__ LSE,       \
             const int* __restrict__ listF, const int* __restrict__ nF, const int* __restrict__ listW,          \
             const int* __restrict__ nW, int B, int S, int Hq, int Hkv, int window, float scale_log2) {         \
        swi_bf16::routed_fwd_wgmma_body<D, NWG, ST>(Q, K, V, O, LSE, listF, nF, listW, nW, B, S, Hq, Hkv,       \
                                                    window, scale_log2);                                        \
    }                                                                                                           \
    extern "C" __global__ void __launch_bounds__(128 * NWG, MINB)                                              \
        NAME##_seg(const __nv_bfloat16* __restrict__ Q, const __nv_bfloat16* __restrict__ K,                    \
                   const __nv_bfloat16* __restrict__ V, __nv_bfloat16* __restrict__ O, float* __restrict__ LSE, \
                   const int* __restrict__ listF, const int* __restrict__ nF, const int* __restrict__ listW,    \
                   const int* __restrict__ nW, int B, int S, int Hq, int Hkv, int window, float scale_log2,     \
                   const int* __restrict__ seg) {                                                               \
        swi_bf16::routed_fwd_wgmma_body<D, NWG, ST, true>(Q, K, V, O, LSE, listF, nF, listW, nW, B, S, Hq, Hkv, \
                                                          window, scale_log2, seg);                             \
    }

SWI_FWD_WGMMAV_BF16(128, 2, 2, 2, swi_fwd_wgmmav_bf16_d128_w2_s2_b2)
SWI_FWD_WGMMAV_BF16(64, 2, 2, 2, swi_fwd_wgmmav_bf16_d64_w2_s2_b2)
