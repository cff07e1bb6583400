// The v11 backward kernels on the host emulation (run.sh) against a direct long-double backward of the inputs, for
// both storage types: fp64 (_f64) and fp32 (_f32: fp32 q, k, v, dO, lse, delta, coef, scale, fp64 arithmetic, the
// outputs rounded once to fp32). The fp32 cases draw fp32 inputs and give the reference the same fp32 values
// (lse, delta, coefficients and scale rounded to fp32 as the kernels receive them), so the errors left are the
// kernels' own.
//
//   q, dO [B,S,Hq,D]   k, v [B,S,Hkv,D]   z [B,S] (1 = full)   lists: routed (HARD) or identity per branch (SOFT)
//   reference, per branch Z:  lse_i, o_i of the branch;  c_i = [z_i == Z] (HARD) or p_i, 1 - p_i (SOFT)
//     delta_i = c_i <dO_i, o_i>;  ds_ij = p_ij (c_i <dO_i, v_j> - delta_i)
//     dV_j += p_ij c_i dO_i;  dK_j += scale ds_ij q_i;  dQ_i += scale ds_ij k_j
// Exit code 1 when a normwise relative error passes the bound (or an output element was left unwritten: NaN poison):
//   fp64  1e-13
//   fp32  2^-23 + 1e-13: each output element is an fp64 value (error ~1e-15 relative, the fp64 bound above)
//         rounded once to fp32, |err| <= 2^-24 |x|, so normwise <= 2^-24; SOFT's dQ is rounded twice (the full
//         branch's launch stores its sum in fp32, the window branch's adds to it), hence 2 x 2^-24.
#include "emu_cuda.h"
#include <random>
#include "attention_backward_tc.cu"

#include "emu_machine.h"

// ---- one case --------------------------------------------------------------------------------------------------
struct Problem {
    int B, S, Hq, Hkv, D, w;
    double rho;  // full fraction of the route
    bool soft;   // SOFT: both branches for every row, coefficients p and 1 - p; else HARD over the routed lists
    int seed;
};

struct Inputs {
    std::vector<double> q, k, v, dO, p;  // p: SOFT's router probability per row
    std::vector<int> z;
};

struct Lists {  // the kernels' compacted route: ascending positions per batch
    std::vector<int> listF, listW, nF, nW;
};

static Lists compact(const std::vector<int>& z, int B, int S, bool identity) {
    Lists l{std::vector<int>(B * S), std::vector<int>(B * S), std::vector<int>(B), std::vector<int>(B)};
    for (int b = 0; b < B; b++) {
        for (int i = 0; i < S; i++) {
            if (identity || z[b * S + i]) l.listF[b * S + l.nF[b]++] = i;
            if (identity || !z[b * S + i]) l.listW[b * S + l.nW[b]++] = i;
        }
    }
    return l;
}

// The direct backward: per branch lse, o, delta, then the gradient sums in long double.
struct Reference {
    std::vector<double> lseF, lseW, deltaF, deltaW, coefF, coefW;
    std::vector<long double> dQ, dK, dV;
};

// In: the storage type; lse, delta and the coefficients are rounded to it (as the kernels receive them) before the
// gradient sums use them.
template <typename In>
static Reference reference(const Problem& P, const Inputs& in, double scale) {
    const int B = P.B, S = P.S, Hq = P.Hq, Hkv = P.Hkv, D = P.D, G = Hq / Hkv, w = std::min(P.w, S);
    auto visible = [&](int i, int j, bool full) { return j <= i && (full || j > i - w); };
    auto coef = [&](int r, bool full) {
        return (double)(In)(P.soft ? (full ? in.p[r] : 1 - in.p[r]) : (in.z[r] == (full ? 1 : 0) ? 1.0 : 0.0));
    };
    auto qAt = [&](int b, int i, int h) { return &in.q[((size_t)(b * S + i) * Hq + h) * D]; };
    auto dOAt = [&](int b, int i, int h) { return &in.dO[((size_t)(b * S + i) * Hq + h) * D]; };
    auto kvOff = [&](int b, int j, int g) { return ((size_t)(b * S + j) * Hkv + g) * D; };
    Reference R;
    R.lseF.resize(B * S * Hq), R.lseW.resize(B * S * Hq), R.deltaF.resize(B * S * Hq), R.deltaW.resize(B * S * Hq);
    R.coefF.resize(B * S), R.coefW.resize(B * S);
    R.dQ.assign(in.q.size(), 0), R.dK.assign(in.k.size(), 0), R.dV.assign(in.v.size(), 0);
    for (int r = 0; r < B * S; r++) R.coefF[r] = coef(r, true), R.coefW[r] = coef(r, false);
    for (int br = 0; br < 2; br++) {
        const bool full = br == 0;
        std::vector<double>& L = full ? R.lseF : R.lseW;
        std::vector<double>& Dl = full ? R.deltaF : R.deltaW;
        for (int b = 0; b < B; b++)
            for (int i = 0; i < S; i++)
                for (int h = 0; h < Hq; h++) {
                    const int g = h / G, rh = (b * S + i) * Hq + h;
                    std::vector<long double> s(i + 1);
                    long double m = -INFINITY, l = 0, delta = 0;
                    for (int j = 0; j <= i; j++) {
                        if (!visible(i, j, full)) continue;
                        long double x = 0;
                        for (int d = 0; d < D; d++) x += (long double)qAt(b, i, h)[d] * in.k[kvOff(b, j, g) + d];
                        s[j] = x * scale;
                        m = std::max(m, s[j]);
                    }
                    for (int j = 0; j <= i; j++)
                        if (visible(i, j, full)) l += std::exp(s[j] - m);
                    const long double lse = m + std::log(l);
                    L[rh] = (double)(In)lse;
                    for (int d = 0; d < D; d++) {  // delta = c <dO, o>
                        long double o = 0;
                        for (int j = 0; j <= i; j++)
                            if (visible(i, j, full)) o += std::exp(s[j] - lse) * in.v[kvOff(b, j, g) + d];
                        delta += dOAt(b, i, h)[d] * (long double)(double)o;
                    }
                    const double c = coef(b * S + i, full);
                    Dl[rh] = (double)(In)(c * (double)delta);
                    if (c == 0) continue;
                    for (int j = 0; j <= i; j++) {
                        if (!visible(i, j, full)) continue;
                        const size_t ko = kvOff(b, j, g);
                        long double dp = 0;
                        for (int d = 0; d < D; d++) dp += (long double)dOAt(b, i, h)[d] * in.v[ko + d];
                        const long double p = std::exp(s[j] - L[rh]), ds = p * (c * dp - Dl[rh]);
                        for (int d = 0; d < D; d++) {
                            R.dV[ko + d] += p * c * dOAt(b, i, h)[d];
                            R.dK[ko + d] += scale * ds * qAt(b, i, h)[d];
                            R.dQ[((size_t)(b * S + i) * Hq + h) * D + d] += scale * ds * in.k[ko + d];
                        }
                    }
                }
    }
    return R;
}

template <typename In>
static double normwiseRelative(const std::vector<In>& got, const std::vector<long double>& ref) {
    long double num = 0, den = 0;
    for (size_t i = 0; i < got.size(); i++) {
        if (std::isnan((double)got[i])) return INFINITY;
        num += (got[i] - ref[i]) * (got[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return (double)std::sqrt(num / std::max(den, (long double)1e-300));
}

template <typename In>
static double run(const Problem& P) {
    const int B = P.B, S = P.S, Hq = P.Hq, Hkv = P.Hkv, D = P.D, w = std::min(P.w, S);
    const In scale = (In)(1.0 / std::sqrt((double)D));
    std::mt19937_64 rng(P.seed);
    std::normal_distribution<double> normal;
    std::uniform_real_distribution<double> uniform;
    Inputs in;
    for (auto* x : {&in.q, &in.dO}) x->resize((size_t)B * S * Hq * D);
    for (auto* x : {&in.k, &in.v}) x->resize((size_t)B * S * Hkv * D);
    for (auto* x : {&in.q, &in.k, &in.v, &in.dO})
        for (double& e : *x) e = (In)normal(rng);
    in.z.resize(B * S), in.p.resize(B * S);
    for (int r = 0; r < B * S; r++) in.z[r] = uniform(rng) < P.rho, in.p[r] = 0.05 + 0.9 * uniform(rng);
    const Reference R = reference<In>(P, in, scale);
    auto as = [](const std::vector<double>& x) { return std::vector<In>(x.begin(), x.end()); };  // exact: In values
    const std::vector<In> q = as(in.q), k = as(in.k), v = as(in.v), dO = as(in.dO);
    const std::vector<In> lseF0 = as(R.lseF), lseW0 = as(R.lseW), deltaF0 = as(R.deltaF), deltaW0 = as(R.deltaW),
                          coefF0 = as(R.coefF), coefW0 = as(R.coefW);
    const Lists l = compact(in.z, B, S, P.soft);

    // HARD: one lse / delta array holding each row's selected branch, no coefficients; SOFT: per branch
    std::vector<In> lse1(R.lseF.size()), delta1(R.lseF.size());
    for (int r = 0; r < B * S; r++)
        for (int h = 0; h < Hq; h++) {
            lse1[r * Hq + h] = in.z[r] ? lseF0[r * Hq + h] : lseW0[r * Hq + h];
            delta1[r * Hq + h] = in.z[r] ? deltaF0[r * Hq + h] : deltaW0[r * Hq + h];
        }
    const In* lseF = P.soft ? lseF0.data() : lse1.data();
    const In* lseW = P.soft ? lseW0.data() : lse1.data();
    const In* deltaF = P.soft ? deltaF0.data() : delta1.data();
    const In* deltaW = P.soft ? deltaW0.data() : delta1.data();
    const In* coefF = P.soft ? coefF0.data() : nullptr;
    const In* coefW = P.soft ? coefW0.data() : nullptr;

    std::vector<In> dQ(in.q.size(), NAN), dK(in.k.size(), NAN), dV(in.v.size(), NAN);
    auto kernels = [&](auto dkdv, auto dq, int kvBytes, int qBytes, int qRows) {
        launch((S + 63) / 64, Hkv, B, kvBytes, [&] {
            dkdv(q.data(), k.data(), v.data(), dO.data(), l.listF.data(), l.nF.data(), l.listW.data(),
                 l.nW.data(), lseF, lseW, deltaF, deltaW, coefF, coefW, B, S, Hq, Hkv, D, w, scale, dK.data(),
                 dV.data(), nullptr);
        });
        auto dQLaunch = [&](const int* listF, const int* nF, const int* listW, const int* nW, int accumulate) {
            launch(((S + qRows - 1) / qRows + 1) * Hq * B, 1, 1, qBytes, [&] {
                dq(q.data(), k.data(), v.data(), dO.data(), listF, nF, listW, nW, lseF, lseW, deltaF,
                   deltaW, coefF, coefW, B, S, Hq, Hkv, D, w, scale, dQ.data(), accumulate, nullptr);
            });
        };
        if (P.soft) {  // as CudaAttention: the full branch's rows, then the window branch's added
            dQLaunch(l.listF.data(), l.nF.data(), nullptr, nullptr, 0);
            dQLaunch(nullptr, nullptr, l.listW.data(), l.nW.data(), 1);
        } else {
            dQLaunch(l.listF.data(), l.nF.data(), l.listW.data(), l.nW.data(), 0);
        }
    };
#define SWI_EMU_RUN(DD)                                                                                            \
    if (D == DD)                                                                                                   \
        kernels(dkdv_v11<In, DD, false>, dq_v11<In, DD, false>, BwdV11KvLayout<DD>::BYTES,                        \
                BwdV11QLayout<DD>::BYTES, 64);
    SWI_EMU_RUN(16)
    SWI_EMU_RUN(32)
    SWI_EMU_RUN(64)
    SWI_EMU_RUN(128)
    const double eQ = normwiseRelative(dQ, R.dQ), eK = normwiseRelative(dK, R.dK), eV = normwiseRelative(dV, R.dV);
    printf("%s B=%d S=%d Hq=%d Hkv=%d D=%d w=%d rho=%.2f %s: dQ %.2e dK %.2e dV %.2e\n",
           sizeof(In) == 8 ? "f64" : "f32", B, S, Hq, Hkv, D, w, P.rho, P.soft ? "SOFT" : "HARD", eQ, eK, eV);
    fflush(stdout);
    return std::max(eQ, std::max(eK, eV));
}

int main(int argc, char** argv) {
    std::vector<Problem> cases = {
        {1, 150, 2, 1, 128, 37, 0.3, false, 1},   // GQA 2, partial tiles
        {2, 131, 4, 2, 64, 64, 0.5, true, 2},     // SOFT, two batches
        {1, 97, 2, 2, 32, 1, 0.2, false, 3},      // w = 1: each window row sees itself only
        {1, 70, 6, 3, 16, 300, 0.6, true, 4},     // window wider than S, D = 16
        {1, 200, 2, 1, 128, 20, 1.0, false, 5},   // every row full
        {1, 200, 2, 1, 128, 1000, 0.0, false, 6}, // every row window
        {1, 300, 2, 2, 128, 50, 0.25, false, 7},  // several key tiles, both lists
    };
    if (argc > 1) cases.resize(std::min<size_t>(cases.size(), atoi(argv[1])));
    const double bound64 = 1e-13, bound32 = std::ldexp(1.0, -23) + 1e-13;
    double worst64 = 0, worst32 = 0;
    for (const Problem& p : cases) worst64 = std::max(worst64, run<double>(p));
    for (const Problem& p : cases) worst32 = std::max(worst32, run<float>(p));
    printf("worst f64 %.2e (bound %.0e), f32 %.2e (bound %.2e) over %zu cases each, %lld warp mma\n", worst64,
           bound64, worst32, bound32, cases.size(), mmaCount);
    return worst64 < bound64 && worst32 < bound32 ? 0 : 1;
}
