// The bf16 tensor-core forward (bf16/attn_fwd_bf16.cu: version 1, the mma.sync variants
// swi_fwd_mma_bf16_d64_m128_t2_s2 and swi_fwd_mma_bf16_d128_m64_t1_s3; version 3, the wgmma variants
// swi_fwd_wgmmav_bf16_d64_w2_s2_b2 and swi_fwd_wgmmav_bf16_d128_w2_s2_b2, run beside version 1 on the same inputs and
// lists, same bounds; version 1's outputs feed the backward) and backward (bf16/attn_bwd_bf16.cu: the tensor-core
// version mma2, swi_bwd_dkdv_mma2_bf16_d<D>, swi_bwd_dq_mma2_bf16_d<D>; and the SIMT backward
// swi_bwd_dkdv_v2_bf16_d<D>, swi_bwd_dq_v2_bf16_d<D> on the same operands, same bound) on the host emulation
// (run.sh), chained as org.swiattn.cuda.bf16.Bf16Attention chains them, against a direct long-double forward and
// backward of the same
// bf16 inputs.
//
//   q, dO [B,S,Hq,D]   k, v [B,S,Hkv,D]   z [B,S] (1 = full), p [B,S] (SOFT's router probability)   all bf16 / fp32
//   HARD: lists = the compaction of z; forward o, lse of each row's branch; delta = <dO, o> (swi_delta_bf16);
//         dK, dV (both lists), dQ (each tile through its own branch)
//   SOFT: identity lists; forward per branch, o = p oF + (1 - p) oW (swi_soft_combine_bf16), lse = z ? lseF : lseW;
//         deltaB = cB <dO, oB>, cF = p, cW = 1 - p; dK, dV over both identity lists, dQ with both = 1
//   reference per branch: s_ij = scale <q_i, k_j>, lse_i, o_i (long double);  ds_ij = p_ij (c_i <dO_i, v_j> - delta_i)
//     dV_j += c_i p_ij dO_i,  dK_j += scale ds_ij q_i,  dQ_i += scale ds_ij k_j
// Also over segment tables (chunked prefill, KV cache with gaps, packed; HARD, and one SOFT table): the forward's
// <variant>_seg entry points of both versions, then the backward's _seg kernels of both versions on the same operands
// (mma2: swi_bwd_dkdv_mma2_bf16_d<D>_seg, swi_bwd_dq_mma2_bf16_d<D>_seg, the version Bf16Attention takes by default;
// SIMT: the v2 _seg kernels), same bounds; dK, dV rows outside every segment must stay unwritten (NaN poison).
// Bounds: o per (row, head) max_d |o - o_ref| <= 1e-2 max_d |o_ref| (SOFT: 1.5e-2 max_d p |oF_ref| + (1 - p) |oW_ref|:
// oF and oW are rounded to bf16, then their mix), |lse - lse_ref| <= 1e-4 (fp32 softmax, P and O rounded to bf16); dQ, dK, dV normwise relative error <= 1e-2 (P, dS
// and the outputs rounded to bf16). Exit code 1 when a bound fails (or an output was left unwritten: NaN).
#include "emu_cuda.h"
#include <random>
#include "attention_util.cu"
#include "bf16/attn_fwd_bf16.cu"
#include "bf16/attn_bwd_bf16.cu"

#include "emu_machine.h"
#include "emu_segments.h"

struct Problem {
    int B, S, Hq, Hkv, D, w;
    double rho;  // full fraction of the route
    bool soft;
    int seed;
};

static __nv_bfloat16 bf(double x) { return __float2bfloat16_rn((float)x); }
static double f(__nv_bfloat16 x) { return __bfloat162float(x); }
static const __nv_bfloat16 NAN16 = {0x7fc0};

struct Lists {  // the kernels' compacted route: ascending positions per batch
    std::vector<int> listF, listW, nF, nW;
};
static Lists compact(const std::vector<unsigned char>& z, int B, int S, bool identity) {
    Lists l{std::vector<int>(B * S), std::vector<int>(B * S), std::vector<int>(B), std::vector<int>(B)};
    for (int b = 0; b < B; b++)
        for (int i = 0; i < S; i++) {
            if (identity || z[b * S + i]) l.listF[b * S + l.nF[b]++] = i;
            if (identity || !z[b * S + i]) l.listW[b * S + l.nW[b]++] = i;
        }
    return l;
}

// The tensor-core backward kernels of one version (wg: wgmma, else mma2) at head dimension D, self-attention and
// segment-table forms, with the version's _cfg export (the names Bf16Kernels.dKdVmma / dQmma launch).
struct TcBackward {
    const int* cfg;
    decltype(&swi_bwd_dkdv_mma2_bf16_d64) dkdv;
    decltype(&swi_bwd_dq_mma2_bf16_d64) dq;
    decltype(&swi_bwd_dkdv_mma2_bf16_d64_seg) dkdvSeg;
    decltype(&swi_bwd_dq_mma2_bf16_d64_seg) dqSeg;
};
static TcBackward tcBackward(bool wg, int D) {
    if (wg)
        return D == 64 ? TcBackward{swi_bwd_wgmma_bf16_d64_cfg, swi_bwd_dkdv_wgmma_bf16_d64, swi_bwd_dq_wgmma_bf16_d64,
                                    swi_bwd_dkdv_wgmma_bf16_d64_seg, swi_bwd_dq_wgmma_bf16_d64_seg}
                       : TcBackward{swi_bwd_wgmma_bf16_d128_cfg, swi_bwd_dkdv_wgmma_bf16_d128,
                                    swi_bwd_dq_wgmma_bf16_d128, swi_bwd_dkdv_wgmma_bf16_d128_seg,
                                    swi_bwd_dq_wgmma_bf16_d128_seg};
    return D == 64 ? TcBackward{swi_bwd_mma2_bf16_d64_cfg, swi_bwd_dkdv_mma2_bf16_d64, swi_bwd_dq_mma2_bf16_d64,
                                swi_bwd_dkdv_mma2_bf16_d64_seg, swi_bwd_dq_mma2_bf16_d64_seg}
                   : TcBackward{swi_bwd_mma2_bf16_d128_cfg, swi_bwd_dkdv_mma2_bf16_d128, swi_bwd_dq_mma2_bf16_d128,
                                swi_bwd_dkdv_mma2_bf16_d128_seg, swi_bwd_dq_mma2_bf16_d128_seg};
}

static double normwise(const std::vector<__nv_bfloat16>& got, const std::vector<long double>& ref) {
    long double num = 0, den = 0;
    for (size_t i = 0; i < got.size(); i++) {
        const double g = f(got[i]);
        if (std::isnan(g)) return INFINITY;
        num += (g - ref[i]) * (g - ref[i]);
        den += ref[i] * ref[i];
    }
    return (double)std::sqrt(num / std::max(den, (long double)1e-300));
}

struct Errors {
    double o, lse, grad;
    double ratio;  // the largest error over its bound
};

static Errors run(const Problem& P) {
    const int B = P.B, S = P.S, Hq = P.Hq, Hkv = P.Hkv, D = P.D, G = Hq / Hkv, w = std::min(P.w, S);
    const double scale = 1.0 / std::sqrt((double)D);
    std::mt19937_64 rng(P.seed);
    std::normal_distribution<double> normal;
    std::uniform_real_distribution<double> uniform;
    const size_t nq = (size_t)B * S * Hq * D, nkv = (size_t)B * S * Hkv * D, nl = (size_t)B * S * Hq;
    std::vector<__nv_bfloat16> q(nq), k(nkv), v(nkv), dO(nq);
    for (auto* x : {&q, &k, &v, &dO})
        for (auto& e : *x) e = bf(normal(rng));
    std::vector<unsigned char> z(B * S);
    std::vector<float> pF(B * S), pW(B * S);
    for (int r = 0; r < B * S; r++) {
        z[r] = uniform(rng) < P.rho;
        pF[r] = (float)(0.05 + 0.9 * uniform(rng));
        pW[r] = 1.f - pF[r];
    }

    // ---- reference: per branch lse, o, delta, then the gradient sums --------------------------------------------
    auto qAt = [&](int b, int i, int h, int d) { return f(q[((size_t)(b * S + i) * Hq + h) * D + d]); };
    auto dOAt = [&](int b, int i, int h, int d) { return f(dO[((size_t)(b * S + i) * Hq + h) * D + d]); };
    auto kvAt = [&](const std::vector<__nv_bfloat16>& x, int b, int j, int g, int d) {
        return f(x[((size_t)(b * S + j) * Hkv + g) * D + d]);
    };
    std::vector<long double> oRef[2], lseRef[2];
    std::vector<long double> dQr(nq, 0), dKr(nkv, 0), dVr(nkv, 0);
    for (int br = 0; br < 2; br++) {
        const bool full = br == 0;
        oRef[br].assign(nq, 0), lseRef[br].assign(nl, 0);
        for (int b = 0; b < B; b++)
            for (int i = 0; i < S; i++) {
                const int r = b * S + i;
                const long double c = P.soft ? (full ? pF[r] : pW[r]) : (z[r] == (full ? 1 : 0) ? 1 : 0);
                const int j0 = full ? 0 : std::max(0, i - w + 1);
                for (int h = 0; h < Hq; h++) {
                    const int g = h / G;
                    std::vector<long double> s(i + 1);
                    long double m = -INFINITY, l = 0;
                    for (int j = j0; j <= i; j++) {
                        long double x = 0;
                        for (int d = 0; d < D; d++) x += (long double)qAt(b, i, h, d) * kvAt(k, b, j, g, d);
                        s[j] = x * scale;
                        m = std::max(m, s[j]);
                    }
                    for (int j = j0; j <= i; j++) l += std::exp(s[j] - m);
                    const long double L = m + std::log(l);
                    lseRef[br][r * Hq + h] = L;
                    long double* o = &oRef[br][((size_t)r * Hq + h) * D];
                    for (int j = j0; j <= i; j++)
                        for (int d = 0; d < D; d++) o[d] += std::exp(s[j] - L) * kvAt(v, b, j, g, d);
                    if (c == 0) continue;
                    long double delta = 0;
                    for (int d = 0; d < D; d++) delta += dOAt(b, i, h, d) * o[d];
                    delta *= c;
                    for (int j = j0; j <= i; j++) {
                        long double dp = 0;
                        for (int d = 0; d < D; d++) dp += (long double)dOAt(b, i, h, d) * kvAt(v, b, j, g, d);
                        const long double p = std::exp(s[j] - L), ds = p * (c * dp - delta);
                        const size_t ko = ((size_t)(b * S + j) * Hkv + g) * D;
                        for (int d = 0; d < D; d++) {
                            dVr[ko + d] += c * p * dOAt(b, i, h, d);
                            dKr[ko + d] += scale * ds * qAt(b, i, h, d);
                            dQr[((size_t)r * Hq + h) * D + d] += scale * ds * kvAt(k, b, j, g, d);
                        }
                    }
                }
            }
    }

    // ---- the kernels, chained as Bf16Attention chains them -------------------------------------------------------
    const Lists l = compact(z, B, S, P.soft);
    const float scaleLog2 = (float)(scale * 1.4426950408889634);
    // the forward of version 1 (mma.sync) or 3 (wgmma), configuration from the kernel's _cfg export
    auto forward = [&](int version, const int* listF, const int* nF, const int* listW, const int* nW,
                       std::vector<__nv_bfloat16>& o, std::vector<float>& lse) {
        o.assign(nq, NAN16), lse.assign(nl, NAN);
        const int* cfg = version == 3
                             ? (D == 64 ? swi_fwd_wgmmav_bf16_d64_w2_s2_b2_cfg : swi_fwd_wgmmav_bf16_d128_w2_s2_b2_cfg)
                             : (D == 64 ? swi_fwd_mma_bf16_d64_m128_t2_s2_cfg : swi_fwd_mma_bf16_d128_m64_t1_s3_cfg);
        auto kernel = version == 3 ? (D == 64 ? swi_fwd_wgmmav_bf16_d64_w2_s2_b2 : swi_fwd_wgmmav_bf16_d128_w2_s2_b2)
                                   : (D == 64 ? swi_fwd_mma_bf16_d64_m128_t2_s2 : swi_fwd_mma_bf16_d128_m64_t1_s3);
        launch(((S + cfg[0] - 1) / cfg[0] + 1) * B * Hq, 1, 1, cfg[3], [&] {
            kernel(q.data(), k.data(), v.data(), o.data(), lse.data(), listF, nF, listW, nW, B, S, Hq, Hkv, w,
                   scaleLog2);
        }, cfg[2]);
    };
    auto delta = [&](const std::vector<__nv_bfloat16>& o, const float* coef, std::vector<float>& out) {
        out.assign(nl, NAN);
        launch((int)((nl + 7) / 8), 1, 1, 0, [&] {
            swi_delta_bf16(dO.data(), o.data(), coef, out.data(), B * S, Hq, D);
        }, 256);
    };
    // HARD: one launch over both lists; SOFT: one per branch over the identity lists, then combined
    auto forwardAll = [&](int version, std::vector<__nv_bfloat16>& o, std::vector<float>& lse,
                          std::vector<__nv_bfloat16>& oF, std::vector<__nv_bfloat16>& oW, std::vector<float>& lseF,
                          std::vector<float>& lseW) {
        if (P.soft) {
            forward(version, l.listF.data(), l.nF.data(), nullptr, nullptr, oF, lseF);
            forward(version, nullptr, nullptr, l.listW.data(), l.nW.data(), oW, lseW);
            o.assign(nq, NAN16), lse.assign(nl, NAN);
            launch((int)((nq + 255) / 256), 1, 1, 0, [&] {
                swi_soft_combine_bf16(oF.data(), oW.data(), pF.data(), pW.data(), lseF.data(), lseW.data(), z.data(),
                                      o.data(), lse.data(), B * S, Hq, D);
            }, 256);
        } else {
            forward(version, l.listF.data(), l.nF.data(), l.listW.data(), l.nW.data(), o, lse);
            lseF = lseW = lse;
        }
    };
    std::vector<__nv_bfloat16> o, oF, oW;
    std::vector<float> lse, lseF, lseW, deltaF, deltaW;
    forwardAll(1, o, lse, oF, oW, lseF, lseW);  // version 1 feeds the backward, as Bf16Attention's default
    if (P.soft) {
        delta(oF, pF.data(), deltaF);
        delta(oW, pW.data(), deltaW);
    } else {
        delta(o, nullptr, deltaF);
        deltaW = deltaF;
    }
    std::vector<__nv_bfloat16> o3, oF3, oW3;  // version 3 (wgmma), checked beside it
    std::vector<float> lse3, lseF3, lseW3;
    forwardAll(3, o3, lse3, oF3, oW3, lseF3, lseW3);
    std::vector<__nv_bfloat16> dQ(nq, NAN16), dK(nkv, NAN16), dV(nkv, NAN16);
    const float* coefF = P.soft ? pF.data() : nullptr;
    const float* coefW = P.soft ? pW.data() : nullptr;
    // the tensor-core backward (versions mma2 and wgmma, Bf16Kernels.dKdVmma / dQmma)
    std::vector<__nv_bfloat16> dQw(nq, NAN16), dKw(nkv, NAN16), dVw(nkv, NAN16);
    auto backwardTc = [&](bool wg, std::vector<__nv_bfloat16>& dQ, std::vector<__nv_bfloat16>& dK,
                          std::vector<__nv_bfloat16>& dV) {
        const TcBackward kn = tcBackward(wg, D);
        const int* cfg = kn.cfg;
        launch((S + cfg[1] - 1) / cfg[1] * Hkv * B, 1, 1, cfg[3], [&] {
            kn.dkdv(q.data(), k.data(), v.data(), dO.data(), l.listF.data(), l.nF.data(), l.listW.data(),
                    l.nW.data(), lseF.data(), lseW.data(), deltaF.data(), deltaW.data(), coefF, coefW, dK.data(),
                    dV.data(), B, S, Hq, Hkv, w, (float)scale);
        }, cfg[2]);
        launch(((S + cfg[0] - 1) / cfg[0] + 1) * Hq * B, 1, 1, cfg[3], [&] {
            kn.dq(q.data(), k.data(), v.data(), dO.data(), l.listF.data(), l.nF.data(),
                  P.soft ? nullptr : l.listW.data(), P.soft ? nullptr : l.nW.data(), lseF.data(), lseW.data(),
                  deltaF.data(), deltaW.data(), coefF, coefW, dQ.data(), B, S, Hq, Hkv, w, (float)scale,
                  P.soft ? 1 : 0);
        }, cfg[2]);
    };
    backwardTc(false, dQ, dK, dV);
    backwardTc(true, dQw, dKw, dVw);

    // the SIMT backward (Bf16Kernels.dKdVsimt, dQsimt: the fp32 v2 templates with bf16 storage) on the same operands,
    // dQ in an fp32 scratch (SOFT: the full branch's rows, then the window branch's added), rounded by swi_to_bf16_f32
    std::vector<__nv_bfloat16> dQs(nq, NAN16), dKs(nkv, NAN16), dVs(nkv, NAN16);
    {
        const int* cfg = D == 64 ? swi_bwd_v2_bf16_d64_cfg : swi_bwd_v2_bf16_d128_cfg;
        auto dkdvS = D == 64 ? swi_bwd_dkdv_v2_bf16_d64 : swi_bwd_dkdv_v2_bf16_d128;
        auto dqS = D == 64 ? swi_bwd_dq_v2_bf16_d64 : swi_bwd_dq_v2_bf16_d128;
        launch((S + cfg[1] - 1) / cfg[1], Hkv, B, cfg[3], [&] {
            dkdvS(q.data(), k.data(), v.data(), dO.data(), l.listF.data(), l.nF.data(), l.listW.data(), l.nW.data(),
                  lseF.data(), lseW.data(), deltaF.data(), deltaW.data(), coefF, coefW, B, S, Hq, Hkv, D, w,
                  (float)scale, dKs.data(), dVs.data());
        }, cfg[2]);
        std::vector<float> dQacc(nq, NAN);
        auto dqLaunch = [&](const int* listF, const int* nF, const int* listW, const int* nW, int accumulate) {
            launch(((S + 63) / 64 + 1) * Hq * B, 1, 1, cfg[3], [&] {
                dqS(q.data(), k.data(), v.data(), dO.data(), listF, nF, listW, nW, lseF.data(), lseW.data(),
                    deltaF.data(), deltaW.data(), coefF, coefW, B, S, Hq, Hkv, D, w, (float)scale, dQacc.data(),
                    accumulate);
            }, cfg[2]);
        };
        if (P.soft) {
            dqLaunch(l.listF.data(), l.nF.data(), nullptr, nullptr, 0);
            dqLaunch(nullptr, nullptr, l.listW.data(), l.nW.data(), 1);
        } else {
            dqLaunch(l.listF.data(), l.nF.data(), l.listW.data(), l.nW.data(), 0);
        }
        launch((int)((nq + 255) / 256), 1, 1, 0, [&] { swi_to_bf16_f32(dQacc.data(), dQs.data(), (i64)nq); }, 256);
    }

    // ---- errors -------------------------------------------------------------------------------------------------
    // the forward's o (per row and head, relative) and lse (absolute) errors
    auto fwdErr = [&](const std::vector<__nv_bfloat16>& o, const std::vector<float>& lse, double& eo, double& el) {
        eo = el = 0;
        for (int r = 0; r < B * S; r++)
            for (int h = 0; h < Hq; h++) {
                const size_t rh = (size_t)r * Hq + h;
                long double big = 0, err = 0;
                for (int d = 0; d < D; d++) {
                    const long double ref = P.soft ? pF[r] * oRef[0][rh * D + d] + pW[r] * oRef[1][rh * D + d]
                                                   : oRef[z[r] ? 0 : 1][rh * D + d];
                    const double got = f(o[rh * D + d]);
                    // SOFT: relative to p |oF| + (1 - p) |oW| (oF and oW are rounded to bf16 before they are mixed)
                    big = std::max(big, P.soft ? pF[r] * std::fabs(oRef[0][rh * D + d]) +
                                                     pW[r] * std::fabs(oRef[1][rh * D + d])
                                               : std::fabs(ref));
                    err = std::isnan(got) ? INFINITY : std::max(err, std::fabs(got - ref));
                }
                eo = std::max(eo, (double)(err / big));
                const double L = lse[rh];
                el = std::max(el, std::isnan(L) ? INFINITY : (double)std::fabs(L - lseRef[z[r] ? 0 : 1][rh]));
            }
    };
    Errors e{0, 0, 0, 0};
    double o3e, lse3e;
    fwdErr(o, lse, e.o, e.lse);
    fwdErr(o3, lse3, o3e, lse3e);
    const double fwd1o = e.o, fwd1lse = e.lse;
    e.o = std::max(e.o, o3e), e.lse = std::max(e.lse, lse3e);
    const double eQ = normwise(dQ, dQr), eK = normwise(dK, dKr), eV = normwise(dV, dVr);
    const double wQ = normwise(dQw, dQr), wK = normwise(dKw, dKr), wV = normwise(dVw, dVr);
    e.grad = std::max({eQ, eK, eV, wQ, wK, wV});
    e.ratio = std::max({e.o / (P.soft ? 1.5e-2 : 1e-2), e.lse / 1e-4, e.grad / 1e-2});
    const double sQ = normwise(dQs, dQr), sK = normwise(dKs, dKr), sV = normwise(dVs, dVr);
    e.ratio = std::max(e.ratio, std::max({sQ, sK, sV}) / 1e-2);
    printf("B=%d S=%d Hq=%d Hkv=%d D=%d w=%d rho=%.2f %s: o %.2e lse %.2e (wgmma forward: o %.2e lse %.2e) dQ %.2e "
           "dK %.2e dV %.2e (wgmma backward: dQ %.2e dK %.2e dV %.2e; SIMT backward: dQ %.2e dK %.2e dV %.2e)\n", B, S,
           Hq, Hkv, D, w, P.rho, P.soft ? "SOFT" : "HARD", fwd1o, fwd1lse, o3e, lse3e, eQ, eK, eV, wQ, wK, wV, sQ, sK,
           sV);
    fflush(stdout);
    return e;
}

// ---- segment tables (<variant>_seg forward, _seg backward: chunked prefill, KV cache, packed batches) -----------
// segment s: query rows qStart .. +qLen-1 at positions kLen - qLen + i, key rows kStart .. +kLen-1 (bottom-right
// aligned); the table as org.swiattn.cuda.SegmentTable builds it, [5][n] qBase, kStart, kLen, qStart, qLen; lists
// at the segment's qStart; key rows outside every segment hold NaN. HARD: the compacted route, one forward; SOFT:
// the identity lists of every segment, one forward per branch, coefficients p, 1 - p per flat query row.
static Errors runSeg(const SegProblem& P) {
    const int n = (int)P.segs.size(), Hq = P.Hq, Hkv = P.Hkv, D = P.D, G = Hq / Hkv;
    const double scale = 1.0 / std::sqrt((double)D);
    const SegLayout L = segLayout(P.segs);
    const std::vector<int>&qStart = L.qStart, &kStart = L.kStart, &table = L.table;
    const int qRows = L.qRows, kRows = L.kRows, maxQ = L.maxQ, maxK = L.maxK;
    std::mt19937_64 rng(P.seed);
    std::normal_distribution<double> normal;
    std::uniform_real_distribution<double> uniform;
    std::vector<__nv_bfloat16> q((size_t)qRows * Hq * D), k((size_t)kRows * Hkv * D, NAN16), v(k.size(), NAN16);
    for (auto& e : q) e = bf(normal(rng));
    for (int s = 0; s < n; s++)
        for (size_t e = (size_t)kStart[s] * Hkv * D; e < (size_t)(kStart[s] + P.segs[s].kLen) * Hkv * D; e++)
            k[e] = bf(normal(rng)), v[e] = bf(normal(rng));
    std::vector<unsigned char> z(qRows);
    for (auto& x : z) x = uniform(rng) < P.rho;
    std::vector<__nv_bfloat16> dO(q.size());
    for (auto& x : dO) x = bf(normal(rng));
    std::vector<float> pF(qRows), pW(qRows);
    for (int r = 0; r < qRows; r++) pF[r] = (float)(0.05 + 0.9 * uniform(rng)), pW[r] = 1.f - pF[r];
    std::vector<int> listF(qRows, -1), listW(qRows, -1), nF(n), nW(n);
    for (int s = 0; s < n; s++)
        for (int i = 0; i < P.segs[s].qLen; i++) {
            const int r = qStart[s] + i, pos = P.segs[s].kLen - P.segs[s].qLen + i;
            if (P.soft || z[r]) listF[qStart[s] + nF[s]++] = pos;
            if (P.soft || !z[r]) listW[qStart[s] + nW[s]++] = pos;
        }
    // the forward: o, lse of each branch (HARD: one launch over both lists, the same arrays for both branches)
    const size_t nl = (size_t)qRows * Hq;
    std::vector<__nv_bfloat16> oB[2], oB3[2];  // oB3, lseB3: version 3 (wgmma), checked beside version 1
    std::vector<float> lseB[2], deltaB[2], lseB3[2];
    const int wEff = std::min(P.w, maxK);
    auto forward = [&](const int* lF, const int* cF, const int* lW, const int* cW, int br) {
        for (int version : {1, 3}) {
            std::vector<__nv_bfloat16>& o = version == 3 ? oB3[br] : oB[br];
            std::vector<float>& lse = version == 3 ? lseB3[br] : lseB[br];
            o.assign(q.size(), NAN16), lse.assign(nl, NAN);
            const int* cfg =
                version == 3 ? (D == 64 ? swi_fwd_wgmmav_bf16_d64_w2_s2_b2_cfg : swi_fwd_wgmmav_bf16_d128_w2_s2_b2_cfg)
                             : (D == 64 ? swi_fwd_mma_bf16_d64_m128_t2_s2_cfg : swi_fwd_mma_bf16_d128_m64_t1_s3_cfg);
            auto kernel = version == 3
                              ? (D == 64 ? swi_fwd_wgmmav_bf16_d64_w2_s2_b2_seg : swi_fwd_wgmmav_bf16_d128_w2_s2_b2_seg)
                              : (D == 64 ? swi_fwd_mma_bf16_d64_m128_t2_s2_seg : swi_fwd_mma_bf16_d128_m64_t1_s3_seg);
            launch(((maxQ + cfg[0] - 1) / cfg[0] + 1) * n * Hq, 1, 1, cfg[3], [&] {
                kernel(q.data(), k.data(), v.data(), o.data(), lse.data(), lF, cF, lW, cW, n, maxK, Hq, Hkv, wEff,
                       (float)(scale * 1.4426950408889634), table.data());
            }, cfg[2]);
        }
    };
    auto delta = [&](int br, const float* coef) {
        deltaB[br].assign(nl, NAN);
        launch((int)((nl + 7) / 8), 1, 1, 0, [&] {
            swi_delta_bf16(dO.data(), oB[br].data(), coef, deltaB[br].data(), qRows, Hq, D);
        }, 256);
    };
    if (P.soft) {
        forward(listF.data(), nF.data(), nullptr, nullptr, 0);
        forward(nullptr, nullptr, listW.data(), nW.data(), 1);
        delta(0, pF.data());
        delta(1, pW.data());
    } else {
        forward(listF.data(), nF.data(), listW.data(), nW.data(), 0);
        delta(0, nullptr);
        oB[1] = oB[0], lseB[1] = lseB[0], deltaB[1] = deltaB[0], oB3[1] = oB3[0], lseB3[1] = lseB3[0];
    }
    const float* coefF = P.soft ? pF.data() : nullptr;
    const float* coefW = P.soft ? pW.data() : nullptr;
    // the SIMT backward over the table (Bf16Kernels.dKdVsimt / dQsimt with a SegmentTable): dQ through the fp32
    // scratch (SOFT: the full branch's rows, then the window branch's added); dK, dV rows outside every segment must
    // stay unwritten (NaN poison)
    std::vector<float> dQacc(q.size(), NAN);
    std::vector<__nv_bfloat16> dQ(q.size(), NAN16), dK(k.size(), NAN16), dV(k.size(), NAN16);
    std::vector<__nv_bfloat16> dQm(q.size(), NAN16), dKm(k.size(), NAN16), dVm(k.size(), NAN16);
    {
        const int* bc = D == 64 ? swi_bwd_v2_bf16_d64_cfg : swi_bwd_v2_bf16_d128_cfg;
        auto dkdvS = D == 64 ? swi_bwd_dkdv_v2_bf16_d64_seg : swi_bwd_dkdv_v2_bf16_d128_seg;
        auto dqS = D == 64 ? swi_bwd_dq_v2_bf16_d64_seg : swi_bwd_dq_v2_bf16_d128_seg;
        launch((maxK + bc[1] - 1) / bc[1], Hkv, n, bc[3], [&] {
            dkdvS(q.data(), k.data(), v.data(), dO.data(), listF.data(), nF.data(), listW.data(), nW.data(),
                  lseB[0].data(), lseB[1].data(), deltaB[0].data(), deltaB[1].data(), coefF, coefW, n, maxK, Hq, Hkv,
                  D, wEff, (float)scale, dK.data(), dV.data(), table.data());
        }, bc[2]);
        auto dqLaunch = [&](const int* lF, const int* cF, const int* lW, const int* cW, int accumulate) {
            launch(((maxQ + bc[0] - 1) / bc[0] + 1) * Hq * n, 1, 1, bc[3], [&] {
                dqS(q.data(), k.data(), v.data(), dO.data(), lF, cF, lW, cW, lseB[0].data(), lseB[1].data(),
                    deltaB[0].data(), deltaB[1].data(), coefF, coefW, n, maxK, Hq, Hkv, D, wEff, (float)scale,
                    dQacc.data(), accumulate, table.data());
            }, bc[2]);
        };
        if (P.soft) {
            dqLaunch(listF.data(), nF.data(), nullptr, nullptr, 0);
            dqLaunch(nullptr, nullptr, listW.data(), nW.data(), 1);
        } else {
            dqLaunch(listF.data(), nF.data(), listW.data(), nW.data(), 0);
        }
        launch((int)((q.size() + 255) / 256), 1, 1, 0, [&] {
            swi_to_bf16_f32(dQacc.data(), dQ.data(), (i64)q.size());
        }, 256);
    }
    // the tensor-core backward over the table (versions mma2 and wgmma, Bf16Kernels.dKdVmma / dQmma with a
    // SegmentTable): grids from the longest segment's keys (dK/dV) and queries (dQ), dQ written in bf16 directly
    // (SOFT: both = 1 over the full identity list)
    std::vector<__nv_bfloat16> dQw(dQm.size(), NAN16), dKw(dKm.size(), NAN16), dVw(dVm.size(), NAN16);
    auto backwardTc = [&](bool wg, std::vector<__nv_bfloat16>& dQm, std::vector<__nv_bfloat16>& dKm,
                          std::vector<__nv_bfloat16>& dVm) {
        const TcBackward kn = tcBackward(wg, D);
        const int* mc = kn.cfg;
        launch((maxK + mc[1] - 1) / mc[1] * Hkv * n, 1, 1, mc[3], [&] {
            kn.dkdvSeg(q.data(), k.data(), v.data(), dO.data(), listF.data(), nF.data(), listW.data(), nW.data(),
                       lseB[0].data(), lseB[1].data(), deltaB[0].data(), deltaB[1].data(), coefF, coefW, dKm.data(),
                       dVm.data(), n, maxK, Hq, Hkv, wEff, (float)scale, table.data());
        }, mc[2]);
        launch(((maxQ + mc[0] - 1) / mc[0] + 1) * Hq * n, 1, 1, mc[3], [&] {
            kn.dqSeg(q.data(), k.data(), v.data(), dO.data(), listF.data(), nF.data(),
                     P.soft ? nullptr : listW.data(), P.soft ? nullptr : nW.data(), lseB[0].data(), lseB[1].data(),
                     deltaB[0].data(), deltaB[1].data(), coefF, coefW, dQm.data(), n, maxK, Hq, Hkv, wEff,
                     (float)scale, P.soft ? 1 : 0, table.data());
        }, mc[2]);
    };
    backwardTc(false, dQm, dKm, dVm);
    backwardTc(true, dQw, dKw, dVw);
    std::vector<long double> dQr(q.size(), 0), dKr(k.size(), 0), dVr(k.size(), 0);

    // reference per (row, head, branch): HARD the routed branch with c = 1; SOFT both, c = p (full), 1 - p (window)
    Errors e{0, 0, 0, 0};
    double o3e = 0, lse3e = 0;  // version 3's forward
    for (int s = 0; s < n; s++)
        for (int i = 0; i < P.segs[s].qLen; i++) {
            const int r = qStart[s] + i, pos = P.segs[s].kLen - P.segs[s].qLen + i;
            for (int br = 0; br < 2; br++) {
                const bool full = br == 0;
                if (!P.soft && (z[r] != 0) != full) continue;
                const long double c = P.soft ? (full ? pF[r] : pW[r]) : 1;
                const int lo = full ? 0 : std::max(0, pos - P.w + 1);
                for (int h = 0; h < Hq; h++) {
                    const int g = h / G;
                    auto kv = [&](const std::vector<__nv_bfloat16>& x, int j, int d) {
                        return f(x[((size_t)(kStart[s] + j) * Hkv + g) * D + d]);
                    };
                    std::vector<long double> sc(pos + 1), ref(D, 0);
                    long double m = -INFINITY, l = 0;
                    for (int j = lo; j <= pos; j++) {
                        long double x = 0;
                        for (int d = 0; d < D; d++) x += (long double)f(q[((size_t)r * Hq + h) * D + d]) * kv(k, j, d);
                        sc[j] = x * scale;
                        m = std::max(m, sc[j]);
                    }
                    for (int j = lo; j <= pos; j++) l += std::exp(sc[j] - m);
                    const long double L = m + std::log(l);
                    long double big = 0, err = 0;
                    for (int d = 0; d < D; d++) {
                        for (int j = lo; j <= pos; j++) ref[d] += std::exp(sc[j] - L) * kv(v, j, d);
                        big = std::max(big, std::fabs(ref[d]));
                    }
                    long double err3 = 0;
                    for (int d = 0; d < D; d++) {
                        const double got = f(oB[br][((size_t)r * Hq + h) * D + d]);
                        err = std::isnan(got) ? INFINITY : std::max(err, std::fabs(got - ref[d]));
                        const double got3 = f(oB3[br][((size_t)r * Hq + h) * D + d]);
                        err3 = std::isnan(got3) ? INFINITY : std::max(err3, std::fabs(got3 - ref[d]));
                    }
                    e.o = std::max(e.o, (double)(err / big));
                    o3e = std::max(o3e, (double)(err3 / big));
                    const double got = lseB[br][(size_t)r * Hq + h], got3 = lseB3[br][(size_t)r * Hq + h];
                    e.lse = std::max(e.lse, std::isnan(got) ? INFINITY : (double)std::fabs(got - L));
                    lse3e = std::max(lse3e, std::isnan(got3) ? INFINITY : (double)std::fabs(got3 - L));
                    // the backward of the branch: delta = c <dO, o>, ds = p (c dp - delta)
                    const size_t rq = ((size_t)r * Hq + h) * D;
                    long double dl = 0;
                    for (int d = 0; d < D; d++) dl += f(dO[rq + d]) * ref[d];
                    dl *= c;
                    for (int j = lo; j <= pos; j++) {
                        long double dp = 0;
                        for (int d = 0; d < D; d++) dp += (long double)f(dO[rq + d]) * kv(v, j, d);
                        const long double pj = std::exp(sc[j] - L), ds = pj * (c * dp - dl);
                        const size_t ko = ((size_t)(kStart[s] + j) * Hkv + g) * D;
                        for (int d = 0; d < D; d++) {
                            dVr[ko + d] += c * pj * f(dO[rq + d]);
                            dKr[ko + d] += scale * ds * f(q[rq + d]);
                            dQr[rq + d] += scale * ds * kv(k, j, d);
                        }
                    }
                }
            }
        }
    // dK, dV: normwise over the key rows of the segments; a written row outside them fails
    auto keyErr = [&](const std::vector<__nv_bfloat16>& got, const std::vector<long double>& ref) {
        long double num = 0, den = 0;
        for (size_t x = 0; x < got.size(); x++) {
            const bool used = !std::isnan(f(k[x]));
            const double gx = f(got[x]);
            if (used == std::isnan(gx)) return (double)INFINITY;
            if (used) num += (gx - ref[x]) * (gx - ref[x]), den += ref[x] * ref[x];
        }
        return (double)std::sqrt(num / std::max(den, (long double)1e-300));
    };
    const double eQ = normwise(dQ, dQr), eK = keyErr(dK, dKr), eV = keyErr(dV, dVr);
    const double mQ = normwise(dQm, dQr), mK = keyErr(dKm, dKr), mV = keyErr(dVm, dVr);
    const double wQ = normwise(dQw, dQr), wK = keyErr(dKw, dKr), wV = keyErr(dVw, dVr);
    e.grad = std::max({eQ, eK, eV, mQ, mK, mV, wQ, wK, wV});
    printf("segments D=%d Hq=%d Hkv=%d w=%d %s %-28s o %.2e lse %.2e (wgmma forward: o %.2e lse %.2e) dQ %.2e dK %.2e "
           "dV %.2e (wgmma backward: dQ %.2e dK %.2e dV %.2e; SIMT backward: dQ %.2e dK %.2e dV %.2e)\n", D, Hq, Hkv, P.w,
           P.soft ? "SOFT" : "HARD", P.name, e.o, e.lse, o3e, lse3e, mQ, mK, mV, wQ, wK, wV, eQ, eK, eV);
    e.o = std::max(e.o, o3e), e.lse = std::max(e.lse, lse3e);
    e.ratio = std::max({e.o / 1e-2, e.lse / 1e-4, e.grad / 1e-2});
    fflush(stdout);
    return e;
}

int main(int argc, char** argv) {
    std::vector<Problem> cases = {
        {1, 200, 4, 1, 64, 37, 0.4, false, 1},   // GQA 4, partial tiles, both lists
        {1, 150, 4, 1, 64, 37, 0.5, true, 2},    // SOFT
        {2, 130, 8, 2, 128, 20, 0.3, false, 3},  // D = 128, two batches
        {1, 97, 4, 2, 64, 1, 0.2, false, 4},     // w = 1
        {2, 300, 8, 2, 64, 100, 0.5, true, 5},   // SOFT, several key tiles through the 2-stage ring
        {1, 257, 4, 1, 128, 64, 0.6, true, 6},   // SOFT, D = 128
        {1, 190, 4, 4, 64, 190, 0.0, false, 7},  // every row window, w = S, G = 1
        {1, 140, 8, 2, 128, 30, 1.0, false, 8},  // every row full
    };
    if (argc > 1) cases.resize(std::min<size_t>(cases.size(), atoi(argv[1])));
    Errors worst{0, 0, 0, 0};
    for (const Problem& p : cases) {
        const Errors e = run(p);
        worst.o = std::max(worst.o, e.o), worst.lse = std::max(worst.lse, e.lse), worst.grad = std::max(worst.grad, e.grad);
        worst.ratio = std::max(worst.ratio, e.ratio);
    }
    const std::vector<SegProblem> segCases = {  // {qLen, kLen, gap before the keys}
        {"chunked prefill B=2", {{40, 150, 0}, {40, 150, 0}}, 4, 1, 64, 37, 0.4, false, 11},
        {"kv cache, lengths < = > w", {{5, 36, 0}, {5, 37, 27}, {5, 38, 26}, {5, 90, 12}}, 8, 2, 128, 37, 0.5, false,
         12},
        {"packed, qLen < kLen, qLen 0", {{7, 30, 0}, {0, 11, 0}, {64, 140, 0}, {3, 3, 0}}, 4, 1, 64, 33, 0.3, false,
         13},
        {"kv cache with gaps", {{9, 70, 5}, {0, 20, 3}, {70, 80, 0}}, 4, 2, 128, 40, 0.5, true, 14},
    };
    if (argc <= 1 || atoi(argv[1]) > (int)cases.size())
        for (const SegProblem& p : segCases) {
            const Errors e = runSeg(p);
            worst.o = std::max(worst.o, e.o), worst.lse = std::max(worst.lse, e.lse);
            worst.grad = std::max(worst.grad, e.grad), worst.ratio = std::max(worst.ratio, e.ratio);
        }
    const bool ok = worst.ratio <= 1;
    printf("attn_bf16: worst o %.2e (bound 1e-2, SOFT 1.5e-2), lse %.2e (1e-4), gradients %.2e (1e-2), worst error / "
           "bound %.2f over %zu cases and %zu segment tables, %lld warp mma, %lld wgmma: %s\n", worst.o, worst.lse,
           worst.grad, worst.ratio, cases.size(), argc <= 1 || atoi(argv[1]) > (int)cases.size() ? segCases.size() : 0,
           mmaCount, wgmmaCount, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
