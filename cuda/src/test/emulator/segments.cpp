// The segment-table kernels (<name>_seg: chunked prefill, KV cache with per-sequence lengths, packed batches) on the
// host emulation (run.sh) against a direct long-double forward and backward over the segments.
//
//   segment s: query rows qStart .. qStart+qLen-1, key rows kStart .. kStart+kLen-1, bottom-right aligned:
//     query row qStart + i has position p = kLen - qLen + i; full sees kStart + 0..p, window kStart + max(0,p-w+1)..p
//   kernels: forward v2 (fp64, fp32), v9 (fp64 DMMA); backward v2 dK/dV + dQ (fp64, fp32), v11 (fp64 DMMA; fp64
//   and fp32 storage: the "v11 f32" family, after the fp32 v2 forward)
//   the table as SegmentTable builds it: [5][n] qBase, kStart, kLen, qStart, qLen
// Key rows outside every segment hold NaN (never read); dK, dV rows there must stay unwritten (NaN poison), every other
// output element written. Exit code 1 when a normwise relative error passes the bound (fp64 1e-13, fp32 1e-5;
// v11 with fp32 storage 2^-23 + 1e-13 on dQ, dK, dV: fp64 arithmetic, each output rounded once to fp32, twice for
// SOFT's dQ, against the reference of the same fp32 inputs: q, k, v, dO, scale, lse, delta, coefficients).
#include "emu_cuda.h"
#include <random>
#include "attention_forward.cu"
#include "attention_backward.cu"
#include "attention_backward_tc.cu"
#include "emu_machine.h"
#include "emu_segments.h"

using Problem = SegProblem;

struct Case : SegLayout {
    std::vector<long double> q, k, v, dO;  // the inputs (k, v: NaN outside the segments)
    std::vector<int> z;
    std::vector<double> p;
};

static Case build(const Problem& P, std::mt19937_64& rng) {
    Case c;
    static_cast<SegLayout&>(c) = segLayout(P.segs);
    std::normal_distribution<double> normal;
    std::uniform_real_distribution<double> uniform;
    c.q.resize((size_t)c.qRows * P.Hq * P.D);
    c.dO.resize(c.q.size());
    c.k.assign((size_t)c.kRows * P.Hkv * P.D, NAN);
    c.v.assign(c.k.size(), NAN);
    for (auto* x : {&c.q, &c.dO})
        for (auto& e : *x) e = normal(rng);
    for (int s = 0; s < c.n; s++)
        for (size_t e = (size_t)c.kStart[s] * P.Hkv * P.D; e < (size_t)(c.kStart[s] + P.segs[s].kLen) * P.Hkv * P.D; e++)
            c.k[e] = normal(rng), c.v[e] = normal(rng);
    c.z.resize(c.qRows);
    c.p.resize(c.qRows);
    for (int r = 0; r < c.qRows; r++) c.z[r] = uniform(rng) < P.rho, c.p[r] = 0.05 + 0.9 * uniform(rng);
    return c;
}

// per branch: lse, o, delta of every row; the gradients of the estimator (HARD: selected branch; SOFT: both, p, 1-p)
struct Reference {
    std::vector<long double> lse[2], o[2], delta[2], coef[2], dQ, dK, dV;
};

// Store: the type the kernels receive lse, delta and the coefficients in; they are rounded to it before the gradient
// sums use them (long double: not rounded).
template <typename Store = long double>
static Reference reference(const Problem& P, const Case& c, long double scale) {
    const int Hq = P.Hq, Hkv = P.Hkv, D = P.D, G = Hq / Hkv;
    Reference R;
    R.dQ.assign(c.q.size(), 0);
    R.dK.assign(c.k.size(), 0);
    R.dV.assign(c.k.size(), 0);
    for (int br = 0; br < 2; br++) {
        R.lse[br].resize((size_t)c.qRows * Hq);
        R.delta[br].resize(R.lse[br].size());
        R.o[br].resize(c.q.size());
        R.coef[br].resize(c.qRows);
    }
    for (int s = 0; s < c.n; s++) {
        const Seg& g = P.segs[s];
        for (int i = 0; i < g.qLen; i++) {
            const int r = c.qStart[s] + i, pos = g.kLen - g.qLen + i;
            for (int br = 0; br < 2; br++) {
                const bool full = br == 0;
                const long double cf =
                    (Store)(P.soft ? (full ? c.p[r] : 1 - c.p[r]) : (c.z[r] == (full ? 1 : 0) ? 1 : 0));
                R.coef[br][r] = cf;
                const int lo = full ? 0 : std::max(0, pos - P.w + 1);
                for (int h = 0; h < Hq; h++) {
                    const long double* qr = &c.q[((size_t)r * Hq + h) * D];
                    const long double* dor = &c.dO[((size_t)r * Hq + h) * D];
                    std::vector<long double> sc(pos + 1);
                    long double m = -INFINITY, l = 0;
                    for (int j = lo; j <= pos; j++) {
                        const long double* kr = &c.k[((size_t)(c.kStart[s] + j) * Hkv + h / G) * D];
                        long double x = 0;
                        for (int d = 0; d < D; d++) x += qr[d] * kr[d];
                        sc[j] = x * scale;
                        m = std::max(m, sc[j]);
                    }
                    for (int j = lo; j <= pos; j++) l += std::exp(sc[j] - m);
                    const long double lse = (Store)(m + std::log(l));
                    R.lse[br][(size_t)r * Hq + h] = lse;
                    long double* o = &R.o[br][((size_t)r * Hq + h) * D];
                    for (int j = lo; j <= pos; j++) {
                        const long double* vr = &c.v[((size_t)(c.kStart[s] + j) * Hkv + h / G) * D];
                        for (int d = 0; d < D; d++) o[d] += std::exp(sc[j] - lse) * vr[d];
                    }
                    long double delta = 0;
                    for (int d = 0; d < D; d++) delta += cf * dor[d] * o[d];
                    delta = (Store)delta;
                    R.delta[br][(size_t)r * Hq + h] = delta;
                    if (cf == 0) continue;
                    for (int j = lo; j <= pos; j++) {
                        const size_t kv = ((size_t)(c.kStart[s] + j) * Hkv + h / G) * D;
                        const long double pij = std::exp(sc[j] - lse);
                        long double dp = 0;
                        for (int d = 0; d < D; d++) dp += cf * dor[d] * c.v[kv + d];
                        const long double ds = pij * (dp - delta);
                        for (int d = 0; d < D; d++) {
                            R.dV[kv + d] += pij * cf * dor[d];
                            R.dK[kv + d] += scale * ds * qr[d];
                            R.dQ[((size_t)r * Hq + h) * D + d] += scale * ds * c.k[kv + d];
                        }
                    }
                }
            }
        }
    }
    return R;
}

// The compacted route over the segments (SegmentTable.compact): positions per segment at its list offset.
struct Lists {
    std::vector<int> listF, listW, nF, nW;
};
static Lists compact(const Problem& P, const Case& c, bool identity) {
    Lists l{std::vector<int>(c.qRows, -1), std::vector<int>(c.qRows, -1), std::vector<int>(c.n), std::vector<int>(c.n)};
    for (int s = 0; s < c.n; s++)
        for (int i = 0; i < P.segs[s].qLen; i++) {
            const int r = c.qStart[s] + i, pos = P.segs[s].kLen - P.segs[s].qLen + i;
            if (identity || c.z[r]) l.listF[c.qStart[s] + l.nF[s]++] = pos;
            if (identity || !c.z[r]) l.listW[c.qStart[s] + l.nW[s]++] = pos;
        }
    return l;
}

// Normwise relative error over the elements where `use` holds; NaN in a used element: infinite; a written element
// where `use` is false (poison overwritten): infinite.
template <typename T, typename U>
static double relErr(const std::vector<T>& got, const std::vector<long double>& ref, U use) {
    long double num = 0, den = 0;
    for (size_t i = 0; i < got.size(); i++) {
        if (!use(i)) {
            if (!std::isnan((double)got[i])) return INFINITY;
            continue;
        }
        if (std::isnan((double)got[i])) return INFINITY;
        num += (got[i] - ref[i]) * (got[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return (double)std::sqrt(num / std::max(den, (long double)1e-300));
}

template <typename T>
static std::vector<T> as(const std::vector<long double>& x) {
    return std::vector<T>(x.begin(), x.end());
}

// One kernel family on one case. FWD(ptrs...) etc. are the device functions with their tile sizes. Returns the worst
// forward (o, lse) and backward (dQ, dK, dV) errors.
struct Err {
    double fwd, bwd;
    double max() const { return std::max(fwd, bwd); }
};
template <typename T, typename Fwd, typename Dkdv, typename Dq>
static Err runFamily(const char* family, const Problem& P, const Case& c, const Reference& R, Fwd fwd, int fwdBM,
                     int fwdBytes, Dkdv dkdv, int kvBN, int kvBytes, Dq dq, int dqBM, int dqBytes) {
    const int Hq = P.Hq, Hkv = P.Hkv, D = P.D, n = c.n, S = c.maxK, w = std::min(P.w, c.maxK);
    const T scale = (T)(1.0 / std::sqrt((double)D));
    const std::vector<T> q = as<T>(c.q), k = as<T>(c.k), v = as<T>(c.v), dO = as<T>(c.dO);
    const int* seg = c.table.data();
    // forward, HARD: o, lse of each row's selected branch
    const Lists routed = compact(P, c, false);
    std::vector<T> o(q.size(), NAN), lse((size_t)c.qRows * Hq, NAN);
    launch(((c.maxQ + fwdBM - 1) / fwdBM + 1) * Hq * n, 1, 1, fwdBytes, [&] {
        fwd(q.data(), k.data(), v.data(), o.data(), lse.data(), routed.listF.data(), routed.nF.data(),
            routed.listW.data(), routed.nW.data(), n, S, Hq, Hkv, D, w, scale, seg);
    });
    std::vector<long double> oRef(q.size()), lseRef(lse.size());
    for (int r = 0; r < c.qRows; r++) {
        const int br = c.z[r] ? 0 : 1;
        for (int h = 0; h < Hq; h++) {
            lseRef[(size_t)r * Hq + h] = R.lse[br][(size_t)r * Hq + h];
            for (int d = 0; d < D; d++) oRef[((size_t)r * Hq + h) * D + d] = R.o[br][((size_t)r * Hq + h) * D + d];
        }
    }
    auto all = [](size_t) { return true; };
    const double eO = relErr(o, oRef, all), eL = relErr(lse, lseRef, all);
    // backward of the estimator: lse, delta, coefficients from the reference
    std::vector<T> lseB[2], deltaB[2], coefB[2];
    for (int br = 0; br < 2; br++) {
        lseB[br] = as<T>(R.lse[br]);
        deltaB[br] = as<T>(R.delta[br]);
        coefB[br] = as<T>(R.coef[br]);
    }
    std::vector<T> lse1(lse.size()), delta1(lse.size());
    for (int r = 0; r < c.qRows; r++)
        for (int h = 0; h < Hq; h++) {
            const int br = c.z[r] ? 0 : 1;
            lse1[(size_t)r * Hq + h] = lseB[br][(size_t)r * Hq + h];
            delta1[(size_t)r * Hq + h] = deltaB[br][(size_t)r * Hq + h];
        }
    const T* lseF = P.soft ? lseB[0].data() : lse1.data();
    const T* lseW = P.soft ? lseB[1].data() : lse1.data();
    const T* deltaF = P.soft ? deltaB[0].data() : delta1.data();
    const T* deltaW = P.soft ? deltaB[1].data() : delta1.data();
    const T* coefF = P.soft ? coefB[0].data() : nullptr;
    const T* coefW = P.soft ? coefB[1].data() : nullptr;
    const Lists l = compact(P, c, P.soft);
    std::vector<T> dQ(q.size(), NAN), dK(k.size(), NAN), dV(k.size(), NAN);
    launch((c.maxK + kvBN - 1) / kvBN, Hkv, n, kvBytes, [&] {
        dkdv(q.data(), k.data(), v.data(), dO.data(), l.listF.data(), l.nF.data(), l.listW.data(), l.nW.data(), lseF,
             lseW, deltaF, deltaW, coefF, coefW, n, S, Hq, Hkv, D, w, scale, dK.data(), dV.data(), seg);
    });
    auto dQLaunch = [&](const int* listF, const int* nF, const int* listW, const int* nW, int accumulate) {
        launch(((c.maxQ + dqBM - 1) / dqBM + 1) * Hq * n, 1, 1, dqBytes, [&] {
            dq(q.data(), k.data(), v.data(), dO.data(), listF, nF, listW, nW, lseF, lseW, deltaF, deltaW, coefF, coefW,
               n, S, Hq, Hkv, D, w, scale, dQ.data(), accumulate, seg);
        });
    };
    if (P.soft) {  // as CudaAttention: the full branch's rows, then the window branch's added
        dQLaunch(l.listF.data(), l.nF.data(), nullptr, nullptr, 0);
        dQLaunch(nullptr, nullptr, l.listW.data(), l.nW.data(), 1);
    } else {
        dQLaunch(l.listF.data(), l.nF.data(), l.listW.data(), l.nW.data(), 0);
    }
    auto keyUsed = [&](size_t e) { return !std::isnan((double)c.k[e]); };
    const double eQ = relErr(dQ, R.dQ, all), eK = relErr(dK, R.dK, keyUsed), eV = relErr(dV, R.dV, keyUsed);
    printf("  %-9s %-28s o %.1e lse %.1e dQ %.1e dK %.1e dV %.1e\n", family, P.name, eO, eL, eQ, eK, eV);
    fflush(stdout);
    return {std::max(eO, eL), std::max({eQ, eK, eV})};
}

int main(int argc, char** argv) {
    // {qLen, kLen, gap before the keys}
    std::vector<Problem> cases = {
        {"chunked prefill B=2", {{40, 150, 0}, {40, 150, 0}}, 2, 1, 32, 37, 0.4, false, 1},
        {"kv cache, lengths < = > w", {{5, 36, 0}, {5, 37, 27}, {5, 38, 26}, {5, 90, 12}}, 4, 2, 32, 37, 0.5, true, 2},
        {"packed self, len 1 and > w", {{1, 1, 0}, {70, 70, 0}, {13, 13, 0}, {90, 90, 0}}, 2, 2, 32, 20, 0.5, false, 3},
        {"packed, qLen < kLen, qLen 0", {{7, 30, 0}, {0, 11, 0}, {64, 140, 0}, {3, 3, 0}}, 2, 1, 32, 33, 0.3, true, 4},
        {"chunk at the window edge", {{33, 97, 0}}, 2, 1, 64, 64, 0.5, false, 5},
        {"kv cache D=16, GQA 2", {{3, 70, 0}, {9, 9, 61}}, 2, 1, 16, 40, 0.5, false, 6},
        {"packed D=128, SOFT", {{20, 20, 0}, {45, 45, 0}}, 2, 2, 128, 16, 0.5, true, 7},
    };
    if (argc > 1) cases.resize(std::min<size_t>(cases.size(), atoi(argv[1])));
    const double bound64 = 1e-13, bound32 = 1e-5, bound32tc = std::ldexp(1.0, -23) + 1e-13;
    double worst64 = 0, worst32 = 0, worst32tc = 0;
    for (const Problem& P : cases) {
        std::mt19937_64 rng(P.seed);
        const Case c = build(P, rng);
        const Reference R = reference(P, c, 1.0L / std::sqrt((long double)P.D));
        // the same case in fp32 (NaN stays NaN) and its reference: fp32 scale, lse, delta, coefficients
        Case c32 = c;
        for (auto* x : {&c32.q, &c32.k, &c32.v, &c32.dO})
            for (auto& e : *x) e = (float)e;
        const Reference R32 = reference<float>(P, c32, (float)(1.0 / std::sqrt((double)P.D)));
#define SWI_EMU_SEG(DD)                                                                                            \
        if (P.D == DD) {                                                                                           \
            worst64 = std::max(worst64, runFamily<double>("v2 fp64", P, c, R,                                      \
                fwd_v2<double, DD, 64, 32, 256, 4, 2, true>, 64, FwdV2Layout<double, DD, 64, 32>::BYTES,           \
                dkdv_v2<double, double, DD, 32, 32, 256, 2, 2, 2, true>, 32, BwdV2Layout<double, DD, 32, 32>::BYTES, \
                dq_v2<double, double, DD, 32, 32, 256, 2, 2, 2, true>, 32,                                         \
                BwdV2Layout<double, DD, 32, 32>::BYTES).max());                                                    \
            worst32 = std::max(worst32, runFamily<float>("v2 fp32", P, c, R,                                       \
                fwd_v2<float, DD, 64, 64, 256, 4, 4, true>, 64, FwdV2Layout<float, DD, 64, 64>::BYTES,             \
                dkdv_v2<float, float, DD, 64, 64, 256, 4, 4, 4, true>, 64, BwdV2Layout<float, DD, 64, 64>::BYTES,  \
                dq_v2<float, float, DD, 64, 64, 256, 4, 4, 4, true>, 64,                                           \
                BwdV2Layout<float, DD, 64, 64>::BYTES).max());                                                     \
            worst64 = std::max(worst64, runFamily<double>("v9/v11", P, c, R, fwd_v9<DD, true>, 128,               \
                FwdV9Layout<DD>::BYTES, dkdv_v11<double, DD, true>, 64, BwdV11KvLayout<DD>::BYTES,                 \
                dq_v11<double, DD, true>, 64, BwdV11QLayout<DD>::BYTES).max());                                    \
            const Err e = runFamily<float>("v11 f32", P, c32, R32,                                                 \
                fwd_v2<float, DD, 64, 64, 256, 4, 4, true>, 64, FwdV2Layout<float, DD, 64, 64>::BYTES,             \
                dkdv_v11<float, DD, true>, 64, BwdV11KvLayout<DD>::BYTES, dq_v11<float, DD, true>, 64,             \
                BwdV11QLayout<DD>::BYTES);                                                                         \
            worst32 = std::max(worst32, e.fwd);                                                                    \
            worst32tc = std::max(worst32tc, e.bwd);                                                                \
        }
        SWI_EMU_SEG(16)
        SWI_EMU_SEG(32)
        SWI_EMU_SEG(64)
        SWI_EMU_SEG(128)
    }
    printf("worst fp64 %.2e (bound %.0e), fp32 %.2e (bound %.0e), v11 f32 backward %.2e (bound %.2e) over %zu cases\n",
           worst64, bound64, worst32, bound32, worst32tc, bound32tc, cases.size());
    return worst64 < bound64 && worst32 < bound32 && worst32tc < bound32tc ? 0 : 1;
}
