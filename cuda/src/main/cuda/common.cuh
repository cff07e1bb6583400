// Shared helpers of every SwiAttn CUDA kernel, in every precision (fp64, fp32, bf16).
//
// Shape legend (as in the spec module):
//   B batch, S sequence length, Hq query heads, Hkv key/value heads (G = Hq/Hkv), D head dim, w window.
//   Q, O, dQ, dO [B,S,Hq,D]; K, V, dK, dV [B,S,Hkv,D]; LSE [B,S,Hq]; route z [B,S] (1 = full branch).
//   Query head h reads key/value head g = h / G: in every kernel `g` names the kv head.
// Visibility (normative): full branch  keys 0..i;  window branch keys max(0, i-w+1)..i.
// Compacted route (route_compact.cu), the one list format of every kernel:
//   listF[b*S + n], n < nF[b]: full-routed positions, ascending;
//   listW[b*S + n], n < nW[b]: window-routed positions, ascending.
//   A null count pointer switches that branch off; SOFT passes the identity list (swi_identity_lists) as a branch.
// Launchers pass min(w, S) as the window, so i + w and j + w cannot overflow.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <math_constants.h>
#include <stdint.h>

// Offsets are 64-bit: B*S*H*D fits an int (Java arrays) but products of ints in kernels must not overflow.
typedef long long i64;

// Key j >= 0 is visible to query i on the given branch (i < 0 marks a padding row: nothing is visible).
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

// Storage <-> compute conversions: the identity for fp64 and fp32, bf16 <-> fp32 (round to nearest even) for bf16.
//   swi_load<T>(x): a stored element as the compute type T;  swi_store<S>(x): a computed value as the stored type S.
template <typename T, typename S> __device__ __forceinline__ T swi_load(S x) { return (T)x; }
template <> __device__ __forceinline__ float swi_load<float, __nv_bfloat16>(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename S, typename T> __device__ __forceinline__ S swi_store(T x) { return (S)x; }
template <> __device__ __forceinline__ __nv_bfloat16 swi_store<__nv_bfloat16, float>(float x) { return __float2bfloat16_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 swi_store<__nv_bfloat16, double>(double x) { return __double2bfloat16(x); }

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

// Vector loads from shared memory of N consecutive elements of T (16-byte pieces where the alignment allows).
//   p [N] not modified; r [N] written.
template <typename T, int N>
__device__ __forceinline__ void lds_vec(const T* p, T* r) {
    if constexpr (sizeof(T) == 8 && N % 2 == 0) {
#pragma unroll
        for (int u = 0; u < N / 2; u++) { double2 t = reinterpret_cast<const double2*>(p)[u]; r[2 * u] = t.x; r[2 * u + 1] = t.y; }
    } else if constexpr (sizeof(T) == 4 && N % 4 == 0) {
#pragma unroll
        for (int u = 0; u < N / 4; u++) {
            float4 t = reinterpret_cast<const float4*>(p)[u];
            r[4 * u] = t.x; r[4 * u + 1] = t.y; r[4 * u + 2] = t.z; r[4 * u + 3] = t.w;
        }
    } else if constexpr (sizeof(T) == 4 && N % 2 == 0) {
#pragma unroll
        for (int u = 0; u < N / 2; u++) { float2 t = reinterpret_cast<const float2*>(p)[u]; r[2 * u] = t.x; r[2 * u + 1] = t.y; }
    } else {
#pragma unroll
        for (int u = 0; u < N; u++) r[u] = p[u];
    }
}

// One rank-1 step of a register micro-tile product: acc [R][C] += a b^T, a the R elements at pa, b the C elements at
// pb (shared memory, lds_vec). Each acc[r][c] gets one multiply-add, a[r] * b[c] added to it, as written inline.
//   pa [R], pb [C] not modified; acc [R][C] modified.
template <typename T, int R, int C>
__device__ __forceinline__ void swi_rank1_acc(T (&acc)[R][C], const T* pa, const T* pb) {
    T a[R], b[C];
    lds_vec<T, R>(pa, a);
    lds_vec<T, C>(pb, b);
#pragma unroll
    for (int r = 0; r < R; r++)
#pragma unroll
        for (int c = 0; c < C; c++) acc[r][c] += a[r] * b[c];
}

// Asynchronous 16-byte copies global -> shared (cp.async, compute capability 8.0+). srcBytes = 0 writes 16 zero
// bytes and reads nothing (rows past S, padding rows).
__device__ __forceinline__ uint32_t swi_smem_addr(const void* p) {
    return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void swi_cp_async16(uint32_t smem, const void* gmem, int srcBytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem), "l"(gmem), "r"(srcBytes));
}
__device__ __forceinline__ void swi_cp_async16(void* smem, const void* gmem, int srcBytes) {
    swi_cp_async16(swi_smem_addr(smem), gmem, srcBytes);
}
// The same for 8 bytes (cp.async.ca: 16 is the only size of the L2-only .cg form).
__device__ __forceinline__ void swi_cp_async8(void* smem, const void* gmem, int srcBytes) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 8, %2;\n" ::"r"(swi_smem_addr(smem)), "l"(gmem), "r"(srcBytes));
}
// The same for 4 bytes (cp.async.ca): single fp32 / int32 elements (row statistics, list positions).
__device__ __forceinline__ void swi_cp_async4(void* smem, const void* gmem, int srcBytes) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(swi_smem_addr(smem)), "l"(gmem), "r"(srcBytes));
}
__device__ __forceinline__ void swi_cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
// Waits until at most N committed groups are still in flight.
template <int N>
__device__ __forceinline__ void swi_cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }

// Named barriers (ids 1..15; 0 is __syncthreads) over `count` threads, a multiple of 32, for producer/consumer
// hand-offs between warps: producers arrive (their earlier shared-memory writes become visible to the consumers) and
// go on, consumers sync (wait for every arrival).
__device__ __forceinline__ void swi_bar_arrive(int id, int count) {
    asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(count) : "memory");
}
__device__ __forceinline__ void swi_bar_sync(int id, int count) {
    asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(count) : "memory");
}

// Where the rows of "batch" entry b live in the flat tensors. Kernels ending in _seg (spec 2.0 segment tables:
// chunked prefill, a KV cache with per-sequence lengths, packed variable-length batches) read entry b from the table
// seg [5][n] (n = B; built by org.swiattn.cuda.SegmentTable):
//   seg[0n+b] qBase   flat query row of position p: qBase + p  (qBase = qStart - (kLen - qLen); p >= kLen - qLen)
//   seg[1n+b] kStart  flat key row of position j: kStart + j   (0 <= j < kLen)
//   seg[2n+b] kLen    keys of the segment
//   seg[3n+b] qStart  offset of the segment's compacted lists (listF[qStart + n], n < nF[b]) and its first query row
//   seg[4n+b] qLen    queries of the segment
// Positions are the segment's own (0 = its first key), so visibility (swi_visible), key tiles and list order are
// exactly those of self-attention, where entry b is batch row b: qBase = kStart = qStart = b*S, kLen = qLen = S.
//   rows.q + p: flat query row (Q, O, dO, dQ, LSE, delta, coefficients);  rows.k + j: flat key row (K, V, dK, dV);
//   rows.list: list offset;  rows.keys: positions 0 .. keys-1 exist.
struct SwiRows {
    i64 q, k, list;
    int keys;
};
template <bool SEG>
__device__ __forceinline__ SwiRows swi_rows(const int* seg, int B, int S, int b) {
    if constexpr (SEG) {
        return {(i64)seg[b], (i64)seg[B + b], (i64)seg[3 * B + b], seg[2 * B + b]};
    } else {
        return {(i64)b * S, (i64)b * S, (i64)b * S, S};
    }
}

// One branch of a key-tile kernel (dK/dV: branch F = 0, then W = 1) for batch entry b, its lists at listOff: the list
// entries lo .. hi-1 whose positions see some key of j0..jmax (full: pos >= j0; window: j0 <= pos < jmax + w), in
// list order, and the branch's lse, delta and coefficient arrays (coef null = 1). Returns false, x unset, for a null
// count (branch off).
//   listF, listW [..], nF, nW [B], lseF, lseW, deltaF, deltaW [..], coefF, coefW [..] or null   not modified
template <typename T>
struct SwiKeyBranch {
    bool full;
    const int* list;  // the branch's list, already offset by listOff
    int lo, hi;
    const T *lse, *delta, *coef;
};
template <typename T>
__device__ __forceinline__ bool swi_key_branch(int br, const int* listF, const int* nF, const int* listW,
                                               const int* nW, const T* lseF, const T* lseW, const T* deltaF,
                                               const T* deltaW, const T* coefF, const T* coefW, int b, i64 listOff,
                                               int j0, int jmax, int w, SwiKeyBranch<T>& x) {
    const int* cnt = br == 0 ? nF : nW;
    if (!cnt) return false;
    x.full = br == 0;
    x.list = (x.full ? listF : listW) + listOff;
    const int n = cnt[b];
    x.lo = swi_lower_bound(x.list, n, j0);
    x.hi = x.full ? n : swi_lower_bound(x.list, n, jmax + w);
    x.lse = x.full ? lseF : lseW;
    x.delta = x.full ? deltaF : deltaW;
    x.coef = x.full ? coefF : coefW;
    return true;
}

// The row of entry e of batch b in the one-row-per-block (v1) kernels: e < nF[b] is the full query listF[b*S + e],
// then the window queries listW[b*S + e - nF[b]]. Sets full and i; false for an e beyond both lists.
__device__ __forceinline__ bool swi_v1_entry(int e, int b, int S, const int* listF, const int* nF, const int* listW,
                                             const int* nW, bool& full, int& i) {
    const int nf = nF ? nF[b] : 0, nw = nW ? nW[b] : 0;
    if (e < nf) { full = true; i = listF[(i64)b * S + e]; }
    else if (e - nf < nw) { full = false; i = listW[(i64)b * S + e - nf]; }
    else return false;
    return true;
}

// Tile schedule shared by every tiled forward / dQ kernel (one CTA per (list tile, head, batch)).
//   grid.x = tilesPerBatch * Hq * B, linear id x -> h = x % Hq, b = (x / Hq) % B, t = x / (Hq*B).
//   For batch b: tF = ceil(nF[b]/BM) full tiles come first, in DEScending position order (the longest rows are
//   scheduled first), then ceil(nW[b]/BM) window tiles. Returns false for CTAs beyond the batch's tile count.
//   Full tiles are aligned to the END of the list, so the partial tile (nF mod BM rows) holds the lowest positions:
//   a full-branch CTA walks the keys up to its last row, and a partial tile at the high end would walk all S keys
//   for a few rows (at S=4096, rho=0.1: 13 rows over 128 key tiles, a quarter of the branch's key-tile steps).
//   Segment tables (SEG): entry b is segment b, its lists at rows.list (swi_rows); S is unused.
struct SwiTile {
    int b, h, start, count;  // rows list[rows.list + start .. start+count) of the chosen branch
    bool full;
    const int* list;         // the chosen branch's list, already offset by rows.list
    SwiRows rows;            // where entry b's rows live
};
template <bool SEG = false>
__device__ __forceinline__ bool swi_pick_tile(int BM, int Hq, int B, int S, const int* listF, const int* nF,
                                              const int* listW, const int* nW, SwiTile& tile,
                                              const int* seg = nullptr) {
    long long x = blockIdx.x;
    tile.h = (int)(x % Hq);
    tile.b = (int)((x / Hq) % B);
    int t = (int)(x / ((long long)Hq * B));
    int nf = nF ? nF[tile.b] : 0;
    int nw = nW ? nW[tile.b] : 0;
    int tF = (nf + BM - 1) / BM;
    int tW = (nw + BM - 1) / BM;
    tile.rows = swi_rows<SEG>(seg, B, S, tile.b);
    if (t < tF) {
        int end = nf - t * BM;  // t = 0: the last BM rows (highest positions, longest rows) first
        tile.full = true;
        tile.start = max(0, end - BM);
        tile.count = end - tile.start;
        tile.list = listF + tile.rows.list;
        return true;
    }
    t -= tF;
    if (t < tW) {
        tile.full = false;
        tile.start = t * BM;
        tile.count = min(BM, nw - tile.start);
        tile.list = listW + tile.rows.list;
        return true;
    }
    return false;
}

// The rows wr .. wr+15 of a list tile (rowPos: its positions, valid rows first, -1 = padding) that one warp of a
// tensor-core kernel owns: how many are valid, the first and last valid positions (0 and -1 when none), and the
// lane's two rows wr + grp and wr + grp + 8 (the rows of its accumulator fragments).
struct SwiWarpRows {
    int count, first, last, p0, p1;
};
__device__ __forceinline__ SwiWarpRows swi_warp_rows(const int* rowPos, int tileCount, int wr, int grp) {
    SwiWarpRows r;
    r.count = min(max(tileCount - wr, 0), 16);
    r.first = r.count > 0 ? rowPos[wr] : 0;
    r.last = r.count > 0 ? rowPos[wr + r.count - 1] : -1;
    r.p0 = rowPos[wr + grp];
    r.p1 = rowPos[wr + grp + 8];
    return r;
}
