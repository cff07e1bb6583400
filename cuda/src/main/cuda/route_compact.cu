// Route compaction on the GPU: the hard route z [B,S] (uint8, 1 = full) becomes two sorted query lists per batch,
// as the authors' kernel does, so that each branch's kernel visits only its own queries.
//
//   in : z      [B,S] uint8        not modified
//   out: listF  [B,S] int32        listF[b*S + n], n < nF[b]: positions i with z=1, ascending   (rest untouched)
//        listW  [B,S] int32        listW[b*S + n], n < nW[b]: positions i with z=0, ascending   (rest untouched)
//        nF, nW [B]   int32        counts, nF[b] + nW[b] = S
// Launch: grid (B), block (1024), no dynamic shared memory. Deterministic (a block-wide exclusive scan over
// chunks of 1024 positions, in order). Reusable by every precision (fp64, fp32, bf16).
#include "common.cuh"

// One block compacts one list of `len` flags zb into lf (flag 1) and lw (flag 0), writing first + i for flag i, and
// the counts *nf, *nw.
__device__ void swi_compact_block(const unsigned char* zb, int* lf, int* lw, int len, int first, int* nf, int* nw) {
    __shared__ int warpSums[32];
    __shared__ int base;  // full positions emitted so far
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    if (threadIdx.x == 0) base = 0;
    __syncthreads();
    // pass 1..ceil(len/1024): scan one chunk of flags, scatter positions into the two lists
    for (int c0 = 0; c0 < len; c0 += blockDim.x) {
        int i = c0 + threadIdx.x;
        int f = (i < len && zb[i]) ? 1 : 0;
        // inclusive scan within the warp
        int x = f;
        for (int o = 1; o < 32; o <<= 1) {
            int y = __shfl_up_sync(0xffffffffu, x, o);
            if (lane >= o) x += y;
        }
        if (lane == 31) warpSums[warp] = x;
        __syncthreads();
        if (warp == 0) {
            int s = lane < nwarps ? warpSums[lane] : 0;
            for (int o = 1; o < 32; o <<= 1) {
                int y = __shfl_up_sync(0xffffffffu, s, o);
                if (lane >= o) s += y;
            }
            if (lane < nwarps) warpSums[lane] = s;  // inclusive prefix of warp totals
        }
        __syncthreads();
        int before = (warp > 0 ? warpSums[warp - 1] : 0) + x - f;  // exclusive prefix of full flags in the chunk
        int fullBefore = base + before;                               // full positions before i in the list
        if (i < len) {
            if (f) lf[fullBefore] = first + i;
            else lw[i - fullBefore] = first + i;
        }
        __syncthreads();
        if (threadIdx.x == 0) base += warpSums[nwarps - 1];
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        *nf = base;
        *nw = len - base;
    }
}

extern "C" __global__ void __launch_bounds__(1024) swi_route_compact(const unsigned char* z, int* listF, int* nF,
                                                                    int* listW, int* nW, int S) {
    const int b = blockIdx.x;
    swi_compact_block(z + (i64)b * S, listF + (i64)b * S, listW + (i64)b * S, S, 0, nF + b, nW + b);
}

// Segment tables (common.cuh, swi_rows): z [B*Sq] over the flat query rows; segment s = blockIdx.x compacts its
// qLen rows from z[qStart] into listF/listW[qStart ..], as positions kLen - qLen + i (its own key positions).
// Launch: grid (n), block (1024).
extern "C" __global__ void __launch_bounds__(1024) swi_route_compact_seg(const unsigned char* z, int* listF, int* nF,
                                                                        int* listW, int* nW, const int* seg, int n) {
    const int s = blockIdx.x;
    const int qStart = seg[3 * n + s], qLen = seg[4 * n + s], kLen = seg[2 * n + s];
    swi_compact_block(z + qStart, listF + qStart, listW + qStart, qLen, kLen - qLen, nF + s, nW + s);
}

// The identity lists of the SOFT estimator (every query on both branches): list[b*S + i] = i, n[b] = S.
// Launch: grid (ceil(B*S/256)), block (256).
extern "C" __global__ void swi_identity_lists(int* list, int* n, int B, int S) {
    i64 r = (i64)blockIdx.x * blockDim.x + threadIdx.x;
    if (r < (i64)B * S) list[r] = (int)(r % S);
    if (r < B) n[r] = S;
}
