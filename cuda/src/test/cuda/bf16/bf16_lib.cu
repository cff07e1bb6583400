// ctypes entry points (libswiattn_bf16.so) for bench/peers/peer_side_by_side.py: the same kernels, called on
// PyTorch's stream with PyTorch-owned device buffers.
#include "bf16_host.cuh"

extern "C" int swiattn_bf16_num_variants() { return kNumVariants; }
extern "C" const char* swiattn_bf16_variant_name(int n) { return n >= 0 && n < kNumVariants ? kVariants[n].name : ""; }
extern "C" int swiattn_bf16_sp(int S) { return bf16_sp(S); }
extern "C" int swiattn_bf16_variant_d(int n) { return n >= 0 && n < kNumVariants ? kVariants[n].D : 0; }
extern "C" int swiattn_bf16_forward(int variant, const void* q, const void* k, const void* v, void* o, float* lse,
                                    const uint8_t* z, int* order, int* nfull, void* vt, int B, int S, int Hq, int Hkv,
                                    int window, float scale, void* stream) {
    return bf16_forward(variant, q, k, v, o, lse, z, order, nfull, vt, B, S, Hq, Hkv, window, scale,
                        (cudaStream_t)stream);
}
