// Host emulation of the CUDA subset the tiled kernels use (fp64 tensor-core and SIMT, forward and backward): one std::thread per CUDA thread, CTAs one at
// a time, mma.sync through a per-warp staging area (emu_mma16x8x16), cp.async as immediate copies (run.sh).
#pragma once
#include <algorithm>
#include <barrier>
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
extern thread_local uint3e threadIdx, blockIdx;
extern uint3e gridDim, blockDim;
extern unsigned char* emu_smem;
struct __nv_bfloat16 { unsigned short x; };
inline float __bfloat162float(__nv_bfloat16) { abort(); }
inline __nv_bfloat16 __float2bfloat16_rn(float) { abort(); }
inline __nv_bfloat16 __double2bfloat16(double) { abort(); }
template <typename T> T __shfl_xor_sync(unsigned, T, int);  // emu_machine.h
inline int __double2loint(double d) { uint64_t u; memcpy(&u, &d, 8); return (int)(uint32_t)u; }
inline int __double2hiint(double d) { uint64_t u; memcpy(&u, &d, 8); return (int)(uint32_t)(u >> 32); }
inline double __hiloint2double(int hi, int lo) {
    uint64_t u = ((uint64_t)(uint32_t)hi << 32) | (uint32_t)lo;
    double d;
    memcpy(&d, &u, 8);
    return d;
}
inline uintptr_t __cvta_generic_to_shared(const void* p) { return (uintptr_t)p; }
struct double2 { double x, y; };
struct float2 { float x, y; };
struct float4 { float x, y, z, w; };
inline double2 make_double2(double a, double b) { return {a, b}; }
void __syncthreads();
void __syncwarp();
void emu_bar_arrive(int id);
void emu_bar_sync(int id);
void emu_mma16x8x16(double (&c)[4], const double (&a)[8], const double (&b)[4]);
void emu_mma16x8x4(double (&c)[4], double a0, double a1, double b0);
