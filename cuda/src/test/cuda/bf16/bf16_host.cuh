// Host side of the bf16 forward for the standalone harness and the ctypes library (runtime API).
// Variant table, shared-memory opt-in, launch of compaction + forward on a stream.
#pragma once
#include <cstdio>
#include <cstdint>
#include <cuda_runtime.h>
#include "attn_fwd_bf16.cu"  // -I cuda/src/main/cuda/bf16

// kind 1: mma.sync version (attn_fwd_bf16.cuh), kind 2: wgmma version (attn_fwd_bf16_wgmma.cuh, needs Vt).
struct Bf16Variant {
    const char* name;
    int kind, D, BM, MT, ST;
    const void* fn;
    int smem() const {
        return kind == 1 ? BM * 4 + BM * D * 2 + ST * 2 * 64 * D * 2 : 1024 + BM * D * 2 + ST * 2 * 64 * D * 2 + BM * 4;
    }
    int threads() const { return kind == 1 ? BM / (16 * MT) * 32 : BM * 2; }
};

static Bf16Variant kVariants[] = {
    {"d128_m128_t1_s2_q", 1, 128, 128, 1, 2, (const void*)swiattn_bf16_fwd_d128_m128_t1_s2_q},
    {"d128_m64_t1_s2_q", 1, 128, 64, 1, 2, (const void*)swiattn_bf16_fwd_d128_m64_t1_s2_q},
    {"d128_m128_t2_s2", 1, 128, 128, 2, 2, (const void*)swiattn_bf16_fwd_d128_m128_t2_s2},
    {"d128_m128_t1_s3_q", 1, 128, 128, 1, 3, (const void*)swiattn_bf16_fwd_d128_m128_t1_s3_q},
    {"d128_m64_t1_s3_q", 1, 128, 64, 1, 3, (const void*)swiattn_bf16_fwd_d128_m64_t1_s3_q},
    {"d64_m128_t1_s2_q", 1, 64, 128, 1, 2, (const void*)swiattn_bf16_fwd_d64_m128_t1_s2_q},
    {"d64_m64_t1_s2_q", 1, 64, 64, 1, 2, (const void*)swiattn_bf16_fwd_d64_m64_t1_s2_q},
    {"d64_m128_t2_s2_q", 1, 64, 128, 2, 2, (const void*)swiattn_bf16_fwd_d64_m128_t2_s2_q},
    {"wg_d128_w2_s2_b1", 2, 128, 128, 0, 2, (const void*)swiattn_bf16_wg_d128_w2_s2_b1},
    {"wg_d128_w2_s2_b2", 2, 128, 128, 0, 2, (const void*)swiattn_bf16_wg_d128_w2_s2_b2},
    {"wg_d128_w1_s2_b2", 2, 128, 64, 0, 2, (const void*)swiattn_bf16_wg_d128_w1_s2_b2},
    {"wg_d128_w3_s2_b1", 2, 128, 192, 0, 2, (const void*)swiattn_bf16_wg_d128_w3_s2_b1},
    {"wg_d128_w2_s3_o_b1", 2, 128, 128, 0, 3, (const void*)swiattn_bf16_wg_d128_w2_s3_o_b1},
    {"wg_d128_w3_s3_o_b1", 2, 128, 192, 0, 3, (const void*)swiattn_bf16_wg_d128_w3_s3_o_b1},
    {"wg_d128_w4_s2_b1", 2, 128, 256, 0, 2, (const void*)swiattn_bf16_wg_d128_w4_s2_b1},
    {"wg_d64_w2_s2_b2", 2, 64, 128, 0, 2, (const void*)swiattn_bf16_wg_d64_w2_s2_b2},
    {"wg_d64_w3_s3_o_b1", 2, 64, 192, 0, 3, (const void*)swiattn_bf16_wg_d64_w3_s3_o_b1},
};
static const int kNumVariants = sizeof(kVariants) / sizeof(kVariants[0]);

// Sp: S rounded up to 64 (row length of the V^T scratch [B,Hkv,D,Sp] the wgmma version reads).
static inline int bf16_sp(int S) { return (S + 63) / 64 * 64; }

// Raises every variant's dynamic shared-memory limit once. Returns a cudaError_t.
static int bf16_init() {
    static bool done = false;
    if (done) return 0;
    for (int n = 0; n < kNumVariants; n++) {
        cudaError_t e = cudaFuncSetAttribute(kVariants[n].fn, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                             kVariants[n].smem());
        if (e != cudaSuccess) return (int)e;
    }
    done = true;
    return 0;
}

// z [B,S] uint8 -> order [B,S], nfull [B]; (wgmma: V -> vt [B,Hkv,D,Sp]); then the forward. Device pointers.
static int bf16_forward(int variant, const void* q, const void* k, const void* v, void* o, float* lse,
                        const uint8_t* z, int* order, int* nfull, void* vt, int B, int S, int Hq, int Hkv,
                        int window, float scale, cudaStream_t st) {
    int e = bf16_init();
    if (e) return e;
    if (variant < 0 || variant >= kNumVariants) return -1;
    const Bf16Variant& V = kVariants[variant];
    swiattn_bf16_route_compact<<<B, 1024, 0, st>>>(z, order, nfull, S);
    int Sp = bf16_sp(S), D = V.D;
    float sl2 = scale * 1.4426950408889634f;
    const long grid = (long)((S + V.BM - 1) / V.BM + 1) * B * Hq;
    if (V.kind == 2) {
        swiattn_bf16_transpose_v<<<dim3(Sp / 64, D / 64, B * Hkv), 256, 0, st>>>(
            (const __nv_bfloat16*)v, (__nv_bfloat16*)vt, S, Sp, Hkv, D);
        void* args[] = {(void*)&q, (void*)&k, (void*)&vt, (void*)&o, (void*)&lse, (void*)&order, (void*)&nfull,
                        (void*)&B, (void*)&S, (void*)&Sp, (void*)&Hq, (void*)&Hkv, (void*)&window, (void*)&sl2};
        e = (int)cudaLaunchKernel(V.fn, dim3((unsigned)grid), dim3(V.threads()), args, V.smem(), st);
    } else {
        void* args[] = {(void*)&q, (void*)&k, (void*)&v, (void*)&o, (void*)&lse, (void*)&order, (void*)&nfull,
                        (void*)&B, (void*)&S, (void*)&Hq, (void*)&Hkv, (void*)&window, (void*)&sl2};
        e = (int)cudaLaunchKernel(V.fn, dim3((unsigned)grid), dim3(V.threads()), args, V.smem(), st);
    }
    if (e) return e;
    return (int)cudaGetLastError();
}
