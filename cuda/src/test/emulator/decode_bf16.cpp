// The bf16 tensor-core decode (bf16/decode_bf16.cu: swi_decode_split_mma_bf16_d128 and _d64, one launch that merges
// the pieces of each (row, kv head) by its last piece, decode.cuh) on the host emulation (run.sh) against a direct
// long-double decode of the same bf16 inputs (the SIMT split kernel swi_decode_split_simt_bf16_d2 / _d4 runs too,
// shown for comparison).
//
//   q [B,1,Hq,D]   k, v [B,Sk,Hkv,D] (cache of capacity Sk; slots len[b].. hold NaN)   route z[b] (1 = full)
//   row b: query position p = len[b] - 1 sees keys first..p, first = 0 (full) or max(0, p - w + 1) (window)
//   work list: org.swiattn.cuda.DecodePlan.withPieceSize over those ranges (reimplemented below) at the case's piece
//   size in tiles, then at 1 tile (every pair of more than one tile split, merged) and at one piece per pair (o and
//   lse written directly); counters zero before the launch and checked zero after it
//   reference:  s_j = scale <q, k_j>,  lse = ln sum_j e^(s_j),  o = sum_j e^(s_j - lse) v_j   (long double)
// Bounds: per (b, h) max_d |o - o_ref| <= 1e-2 max_d |o_ref| (P and O rounded to bf16: 2^-9 relative each, fp32
// softmax) and |lse - lse_ref| <= 1e-4. Exit code 1 when a bound fails (or an output was left unwritten: NaN).
#include "emu_cuda.h"
#include <random>
#include "decode.cu"
#include "bf16/decode_bf16.cu"

#include "emu_machine.h"

// ---- the work list of org.swiattn.cuda.DecodePlan.withPieceSize ---------------------------------------------------
struct Plan {
    std::vector<int4> items;
    std::vector<int> rowStart, rowCount;
    int pieces;
};
static Plan plan(const std::vector<int>& first, const std::vector<int>& end, int kvHeads, int tiles) {
    constexpr long long TILE = 64;
    auto ceilDiv = [](long long a, long long b) { return (a + b - 1) / b; };
    const int batch = (int)first.size();
    Plan P{{}, std::vector<int>(batch * kvHeads), std::vector<int>(batch * kvHeads), 0};
    for (int b = 0; b < batch; b++) {
        if (end[b] <= first[b]) { fprintf(stderr, "row %d sees no key\n", b); exit(2); }
        const int k = (int)ceilDiv(ceilDiv(end[b] - first[b], TILE), tiles);
        for (int g = 0; g < kvHeads; g++) {
            P.rowStart[b * kvHeads + g] = P.pieces;
            P.rowCount[b * kvHeads + g] = k;
            P.pieces += k;
        }
    }
    for (int b = 0; b < batch; b++) {  // launch order b, piece, g; balanced pieces of whole tiles
        const long long r = ceilDiv(end[b] - first[b], TILE);
        const int k = P.rowCount[b * kvHeads];
        for (int i = 0; i < k; i++) {
            const int lo = first[b] + (int)(i * r / k * TILE);
            const int hi = (int)std::min<long long>(end[b], first[b] + (i + 1) * r / k * TILE);
            for (int g = 0; g < kvHeads; g++) P.items.push_back({b * kvHeads + g, i, lo, hi});
        }
    }
    return P;
}

// ---- one case --------------------------------------------------------------------------------------------------
struct Problem {
    std::vector<int> len, full;  // per row: cache length, route (1 = full)
    int Hq, Hkv, D, w, Sk, tiles, seed;  // tiles: the first plan's piece size
};

static __nv_bfloat16 bf(double x) { return __float2bfloat16_rn((float)x); }
static double f(__nv_bfloat16 x) { return __bfloat162float(x); }

struct Errors {
    double o, lse;  // worst o error relative to the row's max |o_ref|; worst |lse - lse_ref|
};
static Errors simtWorst{0, 0};

static Errors run(const Problem& P) {
    const int B = (int)P.len.size(), Hq = P.Hq, Hkv = P.Hkv, D = P.D, G = Hq / Hkv, Sk = P.Sk;
    const double scale = 1.0 / std::sqrt((double)D);
    std::mt19937_64 rng(P.seed);
    std::normal_distribution<double> normal;
    const __nv_bfloat16 nan = {0x7fc0};
    std::vector<__nv_bfloat16> q((size_t)B * Hq * D), k((size_t)B * Sk * Hkv * D, nan), v(k.size(), nan);
    for (auto& x : q) x = bf(normal(rng));
    for (int b = 0; b < B; b++)
        for (int j = 0; j < P.len[b]; j++)
            for (int e = 0; e < Hkv * D; e++) {
                const size_t i = ((size_t)b * Sk + j) * Hkv * D + e;
                k[i] = bf(normal(rng)), v[i] = bf(normal(rng));
            }
    std::vector<int> first(B), end(B);
    for (int b = 0; b < B; b++) {
        const int p = P.len[b] - 1;
        first[b] = P.full[b] ? 0 : std::max(0, p - P.w + 1);
        end[b] = p + 1;
    }
    printf("B=%d Hq=%d Hkv=%d D=%d w=%d Sk=%d len/route:", B, Hq, Hkv, D, P.w, Sk);
    for (int b = 0; b < B; b++) printf(" %d%c", P.len[b], P.full[b] ? 'F' : 'W');
    printf("\n");

    // the reference, per (b, h): o [D], lse
    std::vector<long double> oRef((size_t)B * Hq * D, 0), lseRef((size_t)B * Hq);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < Hq; h++) {
            const int g = h / G;
            std::vector<long double> s(end[b]);
            long double m = -INFINITY, l = 0;
            for (int j = first[b]; j < end[b]; j++) {
                long double x = 0;
                for (int d = 0; d < D; d++)
                    x += (long double)f(q[((size_t)b * Hq + h) * D + d]) * f(k[(((size_t)b * Sk + j) * Hkv + g) * D + d]);
                s[j] = x * scale;
                m = std::max(m, s[j]);
            }
            for (int j = first[b]; j < end[b]; j++) l += std::exp(s[j] - m);
            const long double L = m + std::log(l);
            lseRef[b * Hq + h] = L;
            for (int d = 0; d < D; d++)
                for (int j = first[b]; j < end[b]; j++)
                    oRef[((size_t)b * Hq + h) * D + d] += std::exp(s[j] - L) * f(v[(((size_t)b * Sk + j) * Hkv + g) * D + d]);
        }

    Errors worst{0, 0};
    const float scaleLog2 = (float)(scale * 1.4426950408889634);
    for (int tiles : {P.tiles, 1, 1 << 20}) {
        const Plan pl = plan(first, end, Hkv, tiles);
        const int n = (int)pl.items.size();
        for (int version = 0; version < 2; version++) {  // the tensor-core split kernel (checked), then the SIMT one
            std::vector<float> oPart((size_t)pl.pieces * G * D, NAN), lsePart((size_t)pl.pieces * G, NAN);
            std::vector<float> lse((size_t)B * Hq, NAN);
            std::vector<__nv_bfloat16> o((size_t)B * Hq * D, nan);
            std::vector<int> counters(B * Hkv, 0);
            if (version == 0) {
                auto split = D == 128 ? swi_decode_split_mma_bf16_d128 : swi_decode_split_mma_bf16_d64;
                const int bytes = D == 128 ? swi_decode_mma_bf16_d128_cfg[3] : swi_decode_mma_bf16_d64_cfg[3];
                const int threads = D == 128 ? swi_decode_mma_bf16_d128_cfg[2] : swi_decode_mma_bf16_d64_cfg[2];
                launch(n, 1, 1, bytes, [&] {
                    split(q.data(), k.data(), v.data(), pl.items.data(), pl.rowStart.data(), pl.rowCount.data(),
                          counters.data(), oPart.data(), lsePart.data(), o.data(), lse.data(), Sk, Hq, Hkv, scaleLog2);
                }, threads);
            } else {
                auto split = D <= 64 ? swi_decode_split_simt_bf16_d2 : swi_decode_split_simt_bf16_d4;
                launch(n, 1, 1, 0, [&] {
                    split(q.data(), k.data(), v.data(), pl.items.data(), pl.rowStart.data(), pl.rowCount.data(),
                          counters.data(), oPart.data(), lsePart.data(), o.data(), lse.data(), Sk, Hq, Hkv, D,
                          (float)scale);
                }, 128);
            }
            Errors e{0, 0};
            int wb = 0, wh = 0, lb = 0, lh = 0;
            for (int b = 0; b < B; b++)
                for (int h = 0; h < Hq; h++) {
                    const long double* ref = &oRef[((size_t)b * Hq + h) * D];
                    long double big = 0;
                    for (int d = 0; d < D; d++) big = std::max(big, std::fabs(ref[d]));
                    double eo = 0;
                    for (int d = 0; d < D; d++) {
                        const double got = f(o[((size_t)b * Hq + h) * D + d]);
                        eo = std::isnan(got) ? INFINITY : std::max(eo, (double)(std::fabs(got - ref[d]) / big));
                    }
                    const double got = lse[b * Hq + h];
                    const double el = std::isnan(got) ? INFINITY : (double)std::fabs(got - lseRef[b * Hq + h]);
                    if (eo > e.o) e.o = eo, wb = b, wh = h;
                    if (el > e.lse) e.lse = el, lb = b, lh = h;
                }
            for (int c : counters)
                if (c != 0) e.o = INFINITY;  // a merge counter left for the next launch
            printf("  %s pieces of %7d tiles, %3d items  o %.2e (b %d h %d)  lse %.2e (b %d h %d)\n",
                   version == 0 ? "mma " : "simt", tiles, n, e.o, wb, wh, e.lse, lb, lh);
            if (version == 0) worst.o = std::max(worst.o, e.o), worst.lse = std::max(worst.lse, e.lse);
            else simtWorst.o = std::max(simtWorst.o, e.o), simtWorst.lse = std::max(simtWorst.lse, e.lse);
        }
    }
    fflush(stdout);
    return worst;
}

int main(int argc, char** argv) {
    std::vector<Problem> cases = {
        // lengths 1, w-1, w, w+1 and a few hundred (none a multiple of 64), both routes
        {{1, 36, 37, 38, 300}, {1, 0, 0, 1, 1}, 8, 2, 128, 37, 320, 4, 1},   // G = 4, D = 128
        {{300, 38, 1, 201}, {0, 0, 1, 1}, 20, 1, 64, 37, 310, 4, 2},         // G = 20: two 16-row passes, D = 64
        {{130, 1, 37, 250}, {1, 0, 1, 0}, 20, 1, 128, 37, 260, 4, 3},        // G = 20, D = 128
        {{36, 222, 95}, {0, 1, 1}, 8, 2, 64, 37, 240, 2, 4},                 // G = 4, D = 64
        {{64, 65, 128, 2, 129}, {1, 0, 1, 0, 1}, 3, 3, 64, 1, 200, 4, 5},  // G = 1, w = 1, tile-edge lengths
        {{190, 45, 300}, {0, 1, 0}, 32, 2, 128, 500, 333, 132, 6},         // G = 16 (one full pass), w > S, no split
    };
    // 24 random cases: 3..5 rows, lengths from {1, w-1, w, w+1, 50..400}, random routes, G in {1, 4, 16, 20}
    std::mt19937 pick(7);
    for (int n = 0; n < 24; n++) {
        auto any = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(pick); };
        Problem p;
        p.w = any(2, 80), p.D = any(0, 1) ? 128 : 64, p.Hkv = any(1, 2), p.tiles = std::vector<int>{1, 2, 3, 5}[any(0, 3)];
        p.Hq = p.Hkv * std::vector<int>{1, 4, 16, 20}[any(0, 3)], p.seed = 100 + n;
        const int B = any(3, 5);
        for (int b = 0; b < B; b++) {
            const int kind = any(0, 4);
            p.len.push_back(kind == 0 ? 1 : kind == 1 ? p.w - 1 : kind == 2 ? p.w : kind == 3 ? p.w + 1 : any(50, 400));
            p.full.push_back(any(0, 1));
        }
        p.Sk = *std::max_element(p.len.begin(), p.len.end()) + any(1, 40);
        cases.push_back(p);
    }
    if (argc > 1) cases.resize(std::min<size_t>(cases.size(), atoi(argv[1])));
    Errors worst{0, 0};
    for (const Problem& p : cases) {
        const Errors e = run(p);
        worst.o = std::max(worst.o, e.o), worst.lse = std::max(worst.lse, e.lse);
    }
    printf("decode_bf16: SIMT split kernel (for comparison, same outputs and merge): worst o %.2e, lse %.2e\n", simtWorst.o,
           simtWorst.lse);
    const bool ok = worst.o <= 1e-2 && worst.lse <= 1e-4;
    printf("decode_bf16: worst o %.2e (bound 1e-2), lse %.2e (bound 1e-4) over %zu cases, %lld warp mma: %s\n", worst.o,
           worst.lse, cases.size(), mmaCount, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
