// Host side of the bf16 forward for the standalone harness and the ctypes library (runtime API).
// Variant table, shared-memory opt-in, launch of compaction + forward on a stream.
#pragma once
#include <cstdio>
#include <cstdint>
#include <cuda_runtime.h>
#include "attn_fwd_bf16.cu"  // -I cuda/src/main/cuda/bf16

typedef void (*fwd_fn)(const __nv_bfloat16*, const __nv_bfloat16*, const __nv_bfloat16*, __nv_bfloat16*, float*,
                       const int*, const int*, int, int, int, int, int, float);

struct Bf16Variant {
    const char* name;
    int D, BM, MT, ST;
    fwd_fn fn;
    int smem() const { return BM * 4 + BM * D * 2 + ST * 2 * 64 * D * 2; }
    int threads() const { return BM / (16 * MT) * 32; }
};

static Bf16Variant kVariants[] = {
    {"d128_m128_t1_s2_q", 128, 128, 1, 2, swiattn_bf16_fwd_d128_m128_t1_s2_q},
    {"d128_m64_t1_s2_q", 128, 64, 1, 2, swiattn_bf16_fwd_d128_m64_t1_s2_q},
    {"d128_m128_t2_s2", 128, 128, 2, 2, swiattn_bf16_fwd_d128_m128_t2_s2},
    {"d128_m128_t1_s3_q", 128, 128, 1, 3, swiattn_bf16_fwd_d128_m128_t1_s3_q},
    {"d128_m64_t1_s3_q", 128, 64, 1, 3, swiattn_bf16_fwd_d128_m64_t1_s3_q},
    {"d64_m128_t1_s2_q", 64, 128, 1, 2, swiattn_bf16_fwd_d64_m128_t1_s2_q},
    {"d64_m64_t1_s2_q", 64, 64, 1, 2, swiattn_bf16_fwd_d64_m64_t1_s2_q},
    {"d64_m128_t2_s2_q", 64, 128, 2, 2, swiattn_bf16_fwd_d64_m128_t2_s2_q},
};
static const int kNumVariants = sizeof(kVariants) / sizeof(kVariants[0]);

// Raises every variant's dynamic shared-memory limit once. Returns a cudaError_t.
static int bf16_init() {
    static bool done = false;
    if (done) return 0;
    for (int n = 0; n < kNumVariants; n++) {
        cudaError_t e = cudaFuncSetAttribute((const void*)kVariants[n].fn,
                                             cudaFuncAttributeMaxDynamicSharedMemorySize, kVariants[n].smem());
        if (e != cudaSuccess) return (int)e;
    }
    done = true;
    return 0;
}

// z [B,S] uint8 -> order [B,S], nfull [B]; then the forward. All pointers are device pointers.
static int bf16_forward(int variant, const void* q, const void* k, const void* v, void* o, float* lse,
                        const uint8_t* z, int* order, int* nfull, int B, int S, int Hq, int Hkv, int window,
                        float scale, cudaStream_t st) {
    int e = bf16_init();
    if (e) return e;
    if (variant < 0 || variant >= kNumVariants) return -1;
    const Bf16Variant& V = kVariants[variant];
    swiattn_bf16_route_compact<<<B, 1024, 0, st>>>(z, order, nfull, S);
    const long grid = (long)((S + V.BM - 1) / V.BM + 1) * B * Hq;
    V.fn<<<(unsigned)grid, V.threads(), V.smem(), st>>>(
        (const __nv_bfloat16*)q, (const __nv_bfloat16*)k, (const __nv_bfloat16*)v, (__nv_bfloat16*)o, lse, order,
        nfull, B, S, Hq, Hkv, window, scale * 1.4426950408889634f);
    return (int)cudaGetLastError();
}
