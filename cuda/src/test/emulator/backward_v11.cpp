// The v11 fp64 backward kernels on the host emulation (run.sh) against a direct long-double backward of the inputs.
//
//   q, dO [B,S,Hq,D]   k, v [B,S,Hkv,D]   z [B,S] (1 = full)   lists: routed (HARD) or identity per branch (SOFT)
//   reference, per branch Z:  lse_i, o_i of the branch;  c_i = [z_i == Z] (HARD) or p_i, 1 - p_i (SOFT)
//     delta_i = c_i <dO_i, o_i>;  ds_ij = p_ij (c_i <dO_i, v_j> - delta_i)
//     dV_j += p_ij c_i dO_i;  dK_j += scale ds_ij q_i;  dQ_i += scale ds_ij k_j
// Exit code 1 when a normwise relative error passes 1e-13 (or an output element was left unwritten: NaN poison).
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

static Reference reference(const Problem& P, const Inputs& in, double scale) {
    const int B = P.B, S = P.S, Hq = P.Hq, Hkv = P.Hkv, D = P.D, G = Hq / Hkv, w = std::min(P.w, S);
    auto visible = [&](int i, int j, bool full) { return j <= i && (full || j > i - w); };
    auto coef = [&](int r, bool full) {
        return P.soft ? (full ? in.p[r] : 1 - in.p[r]) : (in.z[r] == (full ? 1 : 0) ? 1.0 : 0.0);
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
                    L[rh] = (double)lse;
                    for (int d = 0; d < D; d++) {  // delta = c <dO, o>
                        long double o = 0;
                        for (int j = 0; j <= i; j++)
                            if (visible(i, j, full)) o += std::exp(s[j] - lse) * in.v[kvOff(b, j, g) + d];
                        delta += dOAt(b, i, h)[d] * (long double)(double)o;
                    }
                    const double c = coef(b * S + i, full);
                    Dl[rh] = c * (double)delta;
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

static double normwiseRelative(const std::vector<double>& got, const std::vector<long double>& ref) {
    long double num = 0, den = 0;
    for (size_t i = 0; i < got.size(); i++) {
        if (std::isnan(got[i])) return INFINITY;
        num += (got[i] - ref[i]) * (got[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return (double)std::sqrt(num / std::max(den, (long double)1e-300));
}

static double run(const Problem& P) {
    const int B = P.B, S = P.S, Hq = P.Hq, Hkv = P.Hkv, D = P.D, w = std::min(P.w, S);
    const double scale = 1.0 / std::sqrt((double)D);
    std::mt19937_64 rng(P.seed);
    std::normal_distribution<double> normal;
    std::uniform_real_distribution<double> uniform;
    Inputs in;
    for (auto* x : {&in.q, &in.dO}) x->resize((size_t)B * S * Hq * D);
    for (auto* x : {&in.k, &in.v}) x->resize((size_t)B * S * Hkv * D);
    for (auto* x : {&in.q, &in.k, &in.v, &in.dO})
        for (double& e : *x) e = normal(rng);
    in.z.resize(B * S), in.p.resize(B * S);
    for (int r = 0; r < B * S; r++) in.z[r] = uniform(rng) < P.rho, in.p[r] = 0.05 + 0.9 * uniform(rng);
    const Reference R = reference(P, in, scale);
    const Lists l = compact(in.z, B, S, P.soft);

    // HARD: one lse / delta array holding each row's selected branch, no coefficients; SOFT: per branch
    std::vector<double> lse1(R.lseF.size()), delta1(R.lseF.size());
    for (int r = 0; r < B * S; r++)
        for (int h = 0; h < Hq; h++) {
            lse1[r * Hq + h] = in.z[r] ? R.lseF[r * Hq + h] : R.lseW[r * Hq + h];
            delta1[r * Hq + h] = in.z[r] ? R.deltaF[r * Hq + h] : R.deltaW[r * Hq + h];
        }
    const double* lseF = P.soft ? R.lseF.data() : lse1.data();
    const double* lseW = P.soft ? R.lseW.data() : lse1.data();
    const double* deltaF = P.soft ? R.deltaF.data() : delta1.data();
    const double* deltaW = P.soft ? R.deltaW.data() : delta1.data();
    const double* coefF = P.soft ? R.coefF.data() : nullptr;
    const double* coefW = P.soft ? R.coefW.data() : nullptr;

    std::vector<double> dQ(in.q.size(), NAN), dK(in.k.size(), NAN), dV(in.v.size(), NAN);
    auto kernels = [&](auto dkdv, auto dq, int kvBytes, int qBytes, int qRows) {
        launch((S + 63) / 64, Hkv, B, kvBytes, [&] {
            dkdv(in.q.data(), in.k.data(), in.v.data(), in.dO.data(), l.listF.data(), l.nF.data(), l.listW.data(),
                 l.nW.data(), lseF, lseW, deltaF, deltaW, coefF, coefW, B, S, Hq, Hkv, D, w, scale, dK.data(),
                 dV.data(), nullptr);
        });
        auto dQLaunch = [&](const int* listF, const int* nF, const int* listW, const int* nW, int accumulate) {
            launch(((S + qRows - 1) / qRows + 1) * Hq * B, 1, 1, qBytes, [&] {
                dq(in.q.data(), in.k.data(), in.v.data(), in.dO.data(), listF, nF, listW, nW, lseF, lseW, deltaF,
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
    if (D == DD) kernels(dkdv_v11<DD, false>, dq_v11<DD, false>, BwdV11KvLayout<DD>::BYTES, BwdV11QLayout<DD>::BYTES, 64);
    SWI_EMU_RUN(16)
    SWI_EMU_RUN(32)
    SWI_EMU_RUN(64)
    SWI_EMU_RUN(128)
    const double eQ = normwiseRelative(dQ, R.dQ), eK = normwiseRelative(dK, R.dK), eV = normwiseRelative(dV, R.dV);
    printf("B=%d S=%d Hq=%d Hkv=%d D=%d w=%d rho=%.2f %s: dQ %.2e dK %.2e dV %.2e\n", B, S, Hq, Hkv, D, w, P.rho,
           P.soft ? "SOFT" : "HARD", eQ, eK, eV);
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
    double worst = 0;
    for (const Problem& p : cases) worst = std::max(worst, run(p));
    printf("worst %.2e over %zu cases, %lld warp mma\n", worst, cases.size(), mmaCount);
    return worst < 1e-13 ? 0 : 1;
}
