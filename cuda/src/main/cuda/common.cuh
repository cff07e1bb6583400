// Shared helpers of the SwiAttn CUDA kernels (fp64 and fp32; the bf16 kernels may include it too).
//
// Shape legend (as in the spec module):
//   B batch, S sequence length, Hq query heads, Hkv key/value heads (G = Hq/Hkv), D head dim, w window.
//   Q, O, dQ, dO [B,S,Hq,D]; K, V, dK, dV [B,S,Hkv,D]; LSE [B,S,Hq]; route z [B,S] (1 = full branch).
//   Query head h reads key/value head h / G.
// Visibility (normative): full branch  keys 0..i;  window branch keys max(0, i-w+1)..i.
// Compacted route (route_compact.cu): listF[b*S + n], n < nF[b]: full-routed positions, ascending;
//                                     listW[b*S + n], n < nW[b]: window-routed positions, ascending.
#pragma once
#include <cuda_runtime.h>
#include <math_constants.h>

// Offsets are 64-bit: B*S*H*D fits an int (Java arrays) but products of ints in kernels must not overflow.
typedef long long i64;

// Key j is visible to query i on the given branch (i < 0 marks a padding row: nothing is visible).
__device__ __forceinline__ bool swi_visible(int i, int j, bool full, int w) {
    return j <= i && (full || j > i - w);
}

// First index n in [0, count) with list[n] >= x (count if none). list ascending.
__device__ __forceinline__ int swi_lower_bound(const int* list, int count, int x) {
    int lo = 0, hi = count;
    while (lo < hi) {
        int mid = (lo + hi) >> 1;
        if (list[mid] < x) lo = mid + 1; else hi = mid;
    }
    return lo;
}

template <typename T> __device__ __forceinline__ T swi_neg_inf();
template <> __device__ __forceinline__ double swi_neg_inf<double>() { return -CUDART_INF; }
template <> __device__ __forceinline__ float swi_neg_inf<float>() { return -CUDART_INF_F; }

// exp / log in the kernel's own precision (accurate library versions, not the fast intrinsics).
__device__ __forceinline__ double swi_exp(double x) { return exp(x); }
__device__ __forceinline__ float swi_exp(float x) { return expf(x); }
__device__ __forceinline__ double swi_log(double x) { return log(x); }
__device__ __forceinline__ float swi_log(float x) { return logf(x); }

// Sum over the lanes of groups of `width` consecutive lanes (width a power of two <= 32); every lane gets the sum.
// Butterfly order is fixed, so the result is deterministic and equal on every lane of the group.
template <typename T>
__device__ __forceinline__ T swi_group_sum(T x, int width) {
    for (int o = width >> 1; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}
template <typename T>
__device__ __forceinline__ T swi_group_max(T x, int width) {
    for (int o = width >> 1; o > 0; o >>= 1) x = fmax(x, __shfl_xor_sync(0xffffffffu, x, o));
    return x;
}

// Tile schedule shared by every tiled forward / dQ kernel (one CTA per (list tile, head, batch)).
//   grid.x = tilesPerBatch * Hq * B, linear id x -> h = x % Hq, b = (x / Hq) % B, t = x / (Hq*B).
//   For batch b: tF = ceil(nF[b]/BM) full tiles come first, in DEScending position order (the longest rows are
//   scheduled first), then ceil(nW[b]/BM) window tiles. Returns false for CTAs beyond the batch's tile count.
//   Full tiles are aligned to the END of the list, so the partial tile (nF mod BM rows) holds the lowest positions:
//   a full-branch CTA walks the keys up to its last row, and a partial tile at the high end would walk all S keys
//   for a few rows (at S=4096, rho=0.1: 13 rows over 128 key tiles, a quarter of the branch's key-tile steps).
struct SwiTile {
    int b, h, start, count;  // rows list[b*S + start .. start+count) of the chosen branch
    bool full;
    const int* list;         // the chosen branch's list, already offset by b*S
};
__device__ __forceinline__ bool swi_pick_tile(int BM, int Hq, int B, int S, const int* listF, const int* nF,
                                              const int* listW, const int* nW, SwiTile& tile) {
    long long x = blockIdx.x;
    tile.h = (int)(x % Hq);
    tile.b = (int)((x / Hq) % B);
    int t = (int)(x / ((long long)Hq * B));
    int nf = nF ? nF[tile.b] : 0;
    int nw = nW ? nW[tile.b] : 0;
    int tF = (nf + BM - 1) / BM;
    int tW = (nw + BM - 1) / BM;
    if (t < tF) {
        int end = nf - t * BM;  // t = 0: the last BM rows (highest positions, longest rows) first
        tile.full = true;
        tile.start = max(0, end - BM);
        tile.count = end - tile.start;
        tile.list = listF + (i64)tile.b * S;
        return true;
    }
    t -= tF;
    if (t < tW) {
        tile.full = false;
        tile.start = t * BM;
        tile.count = min(BM, nw - tile.start);
        tile.list = listW + (i64)tile.b * S;
        return true;
    }
    return false;
}
