// Host emulation of the CUDA subset the tiled kernels use (fp64 tensor-core and SIMT, forward and backward; the bf16
// mma.sync kernels: bf16 conversions, mma.sync m16n8k16 bf16, ldmatrix, cp.async to shared addresses; the sm_90a
// wgmma kernels: wgmma m64n<N>k16 bf16 from 128-byte-swizzled shared operands, its fences and group waits): one fiber
// per CUDA thread, CTAs one at a time, warp and warpgroup collectives through staging areas, cp.async and wgmma as
// immediate (or deferred) operations (emu_machine.h, run.sh).
#pragma once
// The host copy is built as sm_90a: the wgmma bodies (bf16/attn_fwd_bf16_wgmma.cuh) are compiled, not their trap.
#define __CUDA_ARCH_FEAT_SM90_ALL 1
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>
using std::min; using std::max; using std::fma; using std::exp; using std::log;
#define __device__
#define __host__
#define __global__
#define __forceinline__ inline
#define __constant__
#define __restrict__
#define __launch_bounds__(...)
#define __align__(n)
#define __shared__ static
#define CUDART_INF (1.0/0.0)
#define CUDART_INF_F (1.0f/0.0f)
struct uint3e { unsigned x, y, z; };
extern uint3e threadIdx, blockIdx;
extern uint3e gridDim, blockDim;
extern unsigned char* emu_smem;
// bf16 as the hardware defines it: the upper 16 bits of a binary32; float -> bf16 rounds to nearest even (NaN stays a
// quiet NaN), bf16 -> float is exact; double -> bf16 rounds once, from the double (as __double2bfloat16 does).
struct __nv_bfloat16 { unsigned short x; };
struct __nv_bfloat162 { __nv_bfloat16 x, y; };
inline float __bfloat162float(__nv_bfloat16 h) {
    const uint32_t u = (uint32_t)h.x << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return {(unsigned short)((u >> 16) | 0x40)};  // NaN: quiet, sign kept
    u += 0x7fffu + ((u >> 16) & 1);
    return {(unsigned short)(u >> 16)};
}
inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }
inline __nv_bfloat16 __double2bfloat16(double d) {
    // the two bf16 neighbours of d (truncation of the float rounded toward zero, and the next one), the nearer wins,
    // ties to the even one
    if (std::isnan(d)) return __float2bfloat16_rn(NAN);
    float f = (float)d;
    if (std::fabs((double)f) > std::fabs(d)) f = std::nextafter(f, 0.0f);  // toward zero: a truncation stays below
    uint32_t u;
    memcpy(&u, &f, 4);
    const __nv_bfloat16 lo = {(unsigned short)(u >> 16)};
    if (std::isinf(f)) return lo;
    __nv_bfloat16 hi = {(unsigned short)(lo.x + 1)};
    const double dl = std::fabs(d - (double)__bfloat162float(lo)), dh = std::fabs((double)__bfloat162float(hi) - d);
    return dl < dh || (dl == dh && (lo.x & 1) == 0) ? lo : hi;
}
inline __nv_bfloat162 __floats2bfloat162_rn(float lo, float hi) { return {__float2bfloat16_rn(lo), __float2bfloat16_rn(hi)}; }
inline float __low2float(__nv_bfloat162 v) { return __bfloat162float(v.x); }
inline float __high2float(__nv_bfloat162 v) { return __bfloat162float(v.y); }
// ex2.approx.ftz.f32: 2^x with subnormal inputs and results flushed to zero; exp2f stands in for the hardware's
// approximation (a few ulp off the exact value, not emulated bit for bit)
inline float emu_ex2_approx_ftz(float x) {
    if (std::fpclassify(x) == FP_SUBNORMAL) x = 0.f;
    const float y = exp2f(x);
    return std::fpclassify(y) == FP_SUBNORMAL ? 0.f : y;
}
inline float __log2f(float x) { return log2f(x); }
inline float __expf(float x) { return expf(x); }
inline float __fdividef(float a, float b) { return a / b; }
template <typename T> T __shfl_xor_sync(unsigned, T, int, int width = 32);  // emu_machine.h
template <typename T> T __shfl_sync(unsigned, T, int, int width = 32);
template <typename T> T __shfl_up_sync(unsigned, T, unsigned, int width = 32);
template <typename T> T __shfl_down_sync(unsigned, T, unsigned, int width = 32);
unsigned __ballot_sync(unsigned, int);
inline int __double2loint(double d) { uint64_t u; memcpy(&u, &d, 8); return (int)(uint32_t)u; }
inline int __double2hiint(double d) { uint64_t u; memcpy(&u, &d, 8); return (int)(uint32_t)(u >> 32); }
inline double __hiloint2double(int hi, int lo) {
    uint64_t u = ((uint64_t)(uint32_t)hi << 32) | (uint32_t)lo;
    double d;
    memcpy(&d, &u, 8);
    return d;
}
// Shared-memory addresses (the .shared window of ldmatrix and cp.async) are byte offsets into the emulated block.
inline uintptr_t __cvta_generic_to_shared(const void* p) { return (uintptr_t)((const unsigned char*)p - emu_smem); }
struct double2 { double x, y; };
struct float2 { float x, y; };
struct float4 { float x, y, z, w; };
// Device-wide memory operations of the one-launch decode (decode.cuh): the emulated blocks run one after another on
// one OS thread, so L2-only loads are plain loads, fences order nothing further and atomics need no lock.
template <typename T> inline T __ldcg(const T* p) { return *p; }
inline void __threadfence() {}
inline int atomicAdd(int* p, int v) { const int old = *p; *p = old + v; return old; }
inline double2 make_double2(double a, double b) { return {a, b}; }
inline __nv_bfloat162 __float22bfloat162_rn(float2 v) { return __floats2bfloat162_rn(v.x, v.y); }
struct int4 { int x, y, z, w; };
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
struct int2 { int x, y; };
struct uint4 { unsigned x, y, z, w; };
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }
inline double cospi(double x) { return std::cos(M_PI * x); }
void __syncthreads();
void __syncwarp();
void emu_bar_arrive(int id);
void emu_bar_sync(int id);
void emu_mma16x8x16(double (&c)[4], const double (&a)[8], const double (&b)[4]);
void emu_mma16x8x4(double (&c)[4], double a0, double a1, double b0);
// the bf16 tensor-core kernels (bf16/attn_fwd_bf16.cuh: ldsm_x4, ldsm_x4_t, mma16816, swi_cp_async16 on a shared
// address)
void emu_ldsm_x4(uint32_t& r0, uint32_t& r1, uint32_t& r2, uint32_t& r3, uint32_t addr, bool trans);
void emu_mma16816(float* c, const uint32_t* a, uint32_t b0, uint32_t b1);
void emu_cp_async(uint32_t smem, const void* gmem, int bytes, int srcBytes);
void emu_cp_async_commit();
void emu_cp_async_wait(int n);
// the wgmma kernels (bf16/wgmma_ops.cuh): d (n/2 fp32 accumulators per thread) += A [64x16] B [16xn]; A from registers
// (aRegs, the mma.sync A layout per warp) or from shared memory (aDesc, K-major); B from shared memory (bDesc),
// MN-major when transB
void emu_wgmma(float* d, int n, const uint32_t* aRegs, uint64_t aDesc, uint64_t bDesc, bool transB);
void emu_wgmma_fence();
void emu_wgmma_commit();
void emu_wgmma_wait(int n);
void emu_fence_proxy_async();
[[noreturn]] void emu_unemulated(const char* ptx);  // inline PTX without an emulation (host_sources.py)
