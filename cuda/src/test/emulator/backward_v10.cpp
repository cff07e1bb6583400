// The v10 fp64 backward kernels on the host emulation (run.sh) against a direct long-double backward of the same inputs.
#include "emu_cuda.h"
#include <thread>
#include <random>
#include "attention_backward_tc.cu"

thread_local uint3e threadIdx, blockIdx;
uint3e gridDim, blockDim;
unsigned char* emu_smem;
static std::unique_ptr<std::barrier<>> ctaBar;
static std::vector<std::unique_ptr<std::barrier<>>> warpBar, namedBar;
struct Stage { double a[32][8], b[32][4], c[32][4]; };
static Stage stage[32];
void __syncthreads() { ctaBar->arrive_and_wait(); }
void __syncwarp() { warpBar[threadIdx.x / 32]->arrive_and_wait(); }
void emu_bar_arrive(int id) { (void)namedBar[id]->arrive(); }
void emu_bar_sync(int id) { namedBar[id]->arrive_and_wait(); }
static long long mmaCount;
void emu_mma16x8x16(double (&c)[4], const double (&a)[8], const double (&b)[4]) {
    const int w = threadIdx.x / 32, lane = threadIdx.x % 32;
    Stage& s = stage[w];
    memcpy(s.a[lane], a, 64); memcpy(s.b[lane], b, 32); memcpy(s.c[lane], c, 32);
    warpBar[w]->arrive_and_wait();
    if (lane == 0) {
        double A[16][16], Bm[16][8], C[16][8];
        for (int l = 0; l < 32; l++) {
            int grp = l >> 2, t = l & 3;
            for (int v0 = 0; v0 < 2; v0++) for (int v1 = 0; v1 < 4; v1++) A[grp + 8 * v0][t + 4 * v1] = s.a[l][v0 + 2 * v1];
            for (int v = 0; v < 4; v++) Bm[t + 4 * v][grp] = s.b[l][v];
            C[grp][2 * t] = s.c[l][0]; C[grp][2 * t + 1] = s.c[l][1]; C[grp + 8][2 * t] = s.c[l][2]; C[grp + 8][2 * t + 1] = s.c[l][3];
        }
        for (int m = 0; m < 16; m++) for (int n = 0; n < 8; n++) { double x = C[m][n]; for (int k = 0; k < 16; k++) x = fma(A[m][k], Bm[k][n], x); C[m][n] = x; }
        for (int l = 0; l < 32; l++) {
            int grp = l >> 2, t = l & 3;
            s.c[l][0] = C[grp][2 * t]; s.c[l][1] = C[grp][2 * t + 1]; s.c[l][2] = C[grp + 8][2 * t]; s.c[l][3] = C[grp + 8][2 * t + 1];
        }
        __atomic_add_fetch(&mmaCount, 1, __ATOMIC_RELAXED);
    }
    warpBar[w]->arrive_and_wait();
    memcpy(c, s.c[lane], 32);
    warpBar[w]->arrive_and_wait();  // staging free again
}
void emu_mma16x8x4(double (&)[4], double, double, double) { abort(); }

template <typename F>
static void launch(int gx, int gy, int gz, int bytes, F body) {
    std::vector<unsigned char> sm(bytes + 64);
    gridDim = {(unsigned)gx, (unsigned)gy, (unsigned)gz};
    for (unsigned z = 0; z < (unsigned)gz; z++) for (unsigned y = 0; y < (unsigned)gy; y++) for (unsigned x = 0; x < (unsigned)gx; x++) {
        std::fill(sm.begin(), sm.end(), 0xFF);  // poison: NaNs where nothing was copied
        emu_smem = sm.data();
        ctaBar = std::make_unique<std::barrier<>>(256);
        warpBar.clear(); namedBar.clear();
        for (int i = 0; i < 8; i++) warpBar.push_back(std::make_unique<std::barrier<>>(32));
        for (int i = 0; i < 16; i++) namedBar.push_back(std::make_unique<std::barrier<>>(64));
        std::vector<std::thread> th;
        for (unsigned t = 0; t < 256; t++) th.emplace_back([=] { threadIdx = {t, 0, 0}; blockIdx = {x, y, z}; body(); });
        for (auto& t : th) t.join();
    }
}

struct Problem { int B, S, Hq, Hkv, D, w; double rho; bool soft; int seed; };

template <bool V11>
static double run(const Problem& P) {
    const int B = P.B, S = P.S, Hq = P.Hq, Hkv = P.Hkv, D = P.D, G = Hq / Hkv, w = std::min(P.w, S);
    std::mt19937_64 rng(P.seed);
    std::normal_distribution<double> nd;
    std::uniform_real_distribution<double> ud;
    auto fill = [&](std::vector<double>& x, size_t n) { x.resize(n); for (auto& e : x) e = nd(rng); };
    std::vector<double> q, k, v, dO;
    fill(q, (size_t)B * S * Hq * D); fill(k, (size_t)B * S * Hkv * D); fill(v, (size_t)B * S * Hkv * D); fill(dO, (size_t)B * S * Hq * D);
    std::vector<int> z(B * S);
    std::vector<double> pr(B * S);
    for (int r = 0; r < B * S; r++) { z[r] = ud(rng) < P.rho; pr[r] = 0.05 + 0.9 * ud(rng); }
    // lists: routed (HARD) or identity (SOFT)
    std::vector<int> listF(B * S), listW(B * S), nF(B), nW(B), idList(B * S), nId(B);
    for (int b = 0; b < B; b++) {
        int f = 0, ww = 0;
        for (int i = 0; i < S; i++) { if (z[b * S + i]) listF[b * S + f++] = i; else listW[b * S + ww++] = i; idList[b * S + i] = i; }
        nF[b] = f; nW[b] = ww; nId[b] = S;
    }
    double scale = 1.0 / std::sqrt((double)D);
    // reference per branch: lse, o, then gradients
    auto vis = [&](int i, int j, bool full) { return j <= i && (full || j > i - w); };
    std::vector<double> lseF(B * S * Hq), lseW(B * S * Hq), oF((size_t)B * S * Hq * D), oW((size_t)B * S * Hq * D);
    for (int br = 0; br < 2; br++) {
        bool full = br == 0;
        auto& L = full ? lseF : lseW; auto& O = full ? oF : oW;
        for (int b = 0; b < B; b++) for (int i = 0; i < S; i++) for (int h = 0; h < Hq; h++) {
            int g = h / G; double m = -1e300; std::vector<double> s(S);
            for (int j = 0; j <= i; j++) if (vis(i, j, full)) { long double x = 0; for (int d = 0; d < D; d++) x += (long double)q[((size_t)(b * S + i) * Hq + h) * D + d] * k[((size_t)(b * S + j) * Hkv + g) * D + d]; s[j] = (double)x * scale; m = std::max(m, s[j]); }
            long double l = 0; for (int j = 0; j <= i; j++) if (vis(i, j, full)) l += std::exp((long double)s[j] - m);
            double lse = m + (double)std::log(l); L[(b * S + i) * Hq + h] = lse;
            for (int d = 0; d < D; d++) { long double x = 0; for (int j = 0; j <= i; j++) if (vis(i, j, full)) x += std::exp((long double)s[j] - lse) * v[((size_t)(b * S + j) * Hkv + g) * D + d]; O[((size_t)(b * S + i) * Hq + h) * D + d] = (double)x; }
        }
    }
    // coefficient per (row, branch): HARD: the selected branch 1, the other 0; SOFT: p, 1 - p
    auto cof = [&](int r, bool full) { return P.soft ? (full ? pr[r] : 1 - pr[r]) : (z[r] == (full ? 1 : 0) ? 1.0 : 0.0); };
    std::vector<double> deltaF(B * S * Hq), deltaW(B * S * Hq), coefF(B * S), coefW(B * S);
    for (int r = 0; r < B * S; r++) { coefF[r] = cof(r, true); coefW[r] = cof(r, false); }
    for (int br = 0; br < 2; br++) {
        bool full = br == 0; auto& Dl = full ? deltaF : deltaW; auto& O = full ? oF : oW;
        for (int r = 0; r < B * S; r++) for (int h = 0; h < Hq; h++) { long double x = 0; for (int d = 0; d < D; d++) x += (long double)dO[((size_t)r * Hq + h) * D + d] * O[((size_t)r * Hq + h) * D + d]; Dl[r * Hq + h] = cof(r, full) * (double)x; }
    }
    std::vector<long double> eQ(q.size(), 0), eK(k.size(), 0), eV(v.size(), 0);
    for (int br = 0; br < 2; br++) {
        bool full = br == 0; auto& L = full ? lseF : lseW; auto& Dl = full ? deltaF : deltaW;
        for (int b = 0; b < B; b++) for (int i = 0; i < S; i++) {
            double c = cof(b * S + i, full); if (c == 0) continue;
            for (int h = 0; h < Hq; h++) { int g = h / G; size_t qo = ((size_t)(b * S + i) * Hq + h) * D;
                for (int j = 0; j <= i; j++) if (vis(i, j, full)) { size_t ko = ((size_t)(b * S + j) * Hkv + g) * D;
                    long double s = 0, dp = 0; for (int d = 0; d < D; d++) { s += (long double)q[qo + d] * k[ko + d]; dp += (long double)dO[qo + d] * v[ko + d]; }
                    long double p = std::exp(s * scale - L[(b * S + i) * Hq + h]); long double ds = p * (c * dp - Dl[(b * S + i) * Hq + h]);
                    for (int d = 0; d < D; d++) { eV[ko + d] += p * c * dO[qo + d]; eK[ko + d] += scale * ds * q[qo + d]; eQ[qo + d] += scale * ds * k[ko + d]; }
                } }
        }
    }
    // kernels
    std::vector<double> gQ(q.size(), NAN), gK(k.size(), NAN), gV(v.size(), NAN);
    const int *lF, *cF, *lW, *cW; const double *cfF, *cfW;
    if (P.soft) { lF = idList.data(); cF = nId.data(); lW = idList.data(); cW = nId.data(); cfF = coefF.data(); cfW = coefW.data(); }
    else { lF = listF.data(); cF = nF.data(); lW = listW.data(); cW = nW.data(); cfF = nullptr; cfW = nullptr; }
    const double *LF = lseF.data(), *LW = lseW.data(), *DF = deltaF.data(), *DW = deltaW.data();
    if (!P.soft) {  // routed: one lse/delta array holding each row's selected branch
        static std::vector<double> L1, D1; L1.resize(lseF.size()); D1.resize(lseF.size());
        for (int r = 0; r < B * S; r++) for (int h = 0; h < Hq; h++) { L1[r * Hq + h] = z[r] ? lseF[r * Hq + h] : lseW[r * Hq + h]; D1[r * Hq + h] = z[r] ? deltaF[r * Hq + h] : deltaW[r * Hq + h]; }
        LF = LW = L1.data(); DF = DW = D1.data();
    }
    auto kv = [&](auto kern, int bytes) {
        launch((S + 63) / 64, Hkv, B, bytes, [&] { kern(q.data(), k.data(), v.data(), dO.data(), lF, cF, lW, cW, LF, LW, DF, DW, cfF, cfW, B, S, Hq, Hkv, D, w, scale, gK.data(), gV.data()); });
    };
    auto dq = [&](auto kern, int bytes, int BMq, const int* l1, const int* c1, const int* l2, const int* c2, int acc) {
        int tiles = (S + BMq - 1) / BMq + 1;
        launch(tiles * Hq * B, 1, 1, bytes, [&] { kern(q.data(), k.data(), v.data(), dO.data(), l1, c1, l2, c2, LF, LW, DF, DW, cfF, cfW, B, S, Hq, Hkv, D, w, scale, gQ.data(), acc); });
    };
#define RUN(DD) \
    if (D == DD) { \
        kv(dkdv_v10<DD, V11>, BwdV10KvLayout<DD>::BYTES); \
        auto f = dq_v10<DD, V11>; int by = BwdV10QLayout<DD>::BYTES; \
        if (P.soft) { dq(f, by, 64, lF, cF, nullptr, nullptr, 0); dq(f, by, 64, nullptr, nullptr, lW, cW, 1); } \
        else dq(f, by, 64, lF, cF, lW, cW, 0); \
    }
    RUN(16) RUN(32) RUN(64) RUN(128)
    auto err = [](const std::vector<double>& g, const std::vector<long double>& e) {
        long double num = 0, den = 0; for (size_t i = 0; i < g.size(); i++) { long double d = g[i] - e[i]; if (std::isnan(g[i])) return (double)INFINITY; num += d * d; den += e[i] * e[i]; }
        return (double)std::sqrt(num / std::max(den, (long double)1e-300));
    };
    double a = err(gQ, eQ), b2 = err(gK, eK), c2 = err(gV, eV);
    printf("B=%d S=%d Hq=%d Hkv=%d D=%d w=%d rho=%.2f %s %s: dQ %.2e dK %.2e dV %.2e\n", B, S, Hq, Hkv, D, w, P.rho, P.soft ? "SOFT" : "HARD", V11 ? "v11" : "v10", a, b2, c2);
    return std::max(a, std::max(b2, c2));
}

int main(int argc, char** argv) {
    std::vector<Problem> ps = {
        {1, 150, 2, 1, 128, 37, 0.3, false, 1},
        {2, 131, 4, 2, 64, 64, 0.5, true, 2},
        {1, 97, 2, 2, 32, 1, 0.2, false, 3},
        {1, 70, 6, 3, 16, 300, 0.6, true, 4},
        {1, 200, 2, 1, 128, 20, 1.0, false, 5},
        {1, 200, 2, 1, 128, 1000, 0.0, false, 6},
        {1, 300, 2, 2, 128, 50, 0.25, false, 7},
    };
    double worst = 0;
    if (argc > 1) ps.resize(atoi(argv[1]));
    for (auto& p : ps) worst = std::max(worst, std::max(run<false>(p), run<true>(p)));
    printf("worst %.2e  mma %lld\n", worst, mmaCount);
    return worst < 1e-13 ? 0 : 1;
}
