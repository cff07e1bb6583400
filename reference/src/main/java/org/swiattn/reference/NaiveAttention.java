package org.swiattn.reference;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Bf16;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.Shape;
import org.swiattn.spec.SwitchAttention;
import org.swiattn.spec.Visibility;

/**
 * The naive implementation in a given precision: the yardstick of the low-precision tolerance rule
 * ({@link org.swiattn.spec.Tolerance}), in the manner of FlashAttention's {@code attention_ref(upcast=False)}.
 * It materialises each stage the way a framework would (scores, softmax, product), rounding to the storage
 * precision between stages and accumulating in the accumulation precision:
 *
 * <pre>
 *   precision  storage st(x)        accumulation ac(x)
 *   FP64       x                    x                  (plain, uncompensated sums)
 *   FP32       (float) x            (float) x
 *   BF16       Bf16.round(x)        (float) x          (fp32 accumulation, bf16 tensors, fp32 LSE)
 *
 *   inputs   q, k, v, dO rounded with st
 *   s_j    = st(scale * sum_d q_d k_jd)          sequential sum in ac
 *   P_j    = st(exp(s_j - m) / Z),  Z = sum_j exp(s_j - m)   in ac;  lse = ac(m + log Z)
 *   o      = st(sum_j P_j v_j)                   in ac
 *   backward: dV_j += P_j g;  dP_j = st(&lt;g, v_j&gt;);  Delta = &lt;g, o&gt;;  dS_j = st(P_j (dP_j - Delta));
 *             dQ += scale dS_j k_j;  dK_j += scale dS_j q   (sums in ac, results rounded with st)
 * </pre>
 * Single-threaded and sequential: its rounding is well defined and reproducible.
 */
public final class NaiveAttention implements SwitchAttention {
    private final Precision precision;

    /** @param precision the precision to emulate */
    public NaiveAttention(Precision precision) {
        if (precision == null) {
            throw new IllegalArgumentException("precision: is null");
        }
        this.precision = precision;
    }

    @Override
    public String name() {
        return "naive-" + precision.name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public Precision precision() {
        return precision;
    }

    /** Storage rounding st(x). */
    double st(double x) {
        switch (precision) {
            case FP32:
                return (float) x;
            case BF16:
                return Bf16.round(x);
            default:
                return x;
        }
    }

    /** Accumulation rounding ac(x). */
    double ac(double x) {
        return precision == Precision.FP64 ? x : (float) x;
    }

    private double[] rounded(double[] x) {
        double[] y = new double[x.length];
        for (int n = 0; n < x.length; n++) {
            y[n] = st(x[n]);
        }
        return y;
    }

    /** Sequential dot product accumulated in ac. */
    private double dot(double[] a, int aOff, double[] b, int bOff, int n) {
        double s = 0;
        for (int d = 0; d < n; d++) {
            s = ac(s + ac(a[aOff + d] * b[bOff + d]));
        }
        return s;
    }

    /** Rounded copies of q, k, v (the inputs a naive implementation in this precision would hold). */
    private AttentionInputs roundedInputs(AttentionInputs in) {
        return in.toBuilder().q(rounded(in.q())).k(rounded(in.k())).v(rounded(in.v())).build();
    }

    @Override
    public ForwardResult forward(AttentionInputs in0) {
        AttentionInputs in = roundedInputs(in0);
        Shape sh = in.shape();
        double[] o = new double[sh.qSize()];
        double[] lse = new double[sh.lseSize()];
        double[] oW = new double[sh.headDim()];
        Route route = in.route();
        for (int b = 0; b < sh.batch(); b++) {
            for (int i = 0; i < sh.seqLen(); i++) {
                int r = b * sh.seqLen() + i;
                boolean z = route.isFull(r);
                for (int h = 0; h < sh.qHeads(); h++) {
                    int off = sh.qOffset(b, i, h);
                    if (in.estimator() == Estimator.SOFT) {
                        double lseF = branchForward(in, b, i, h, true, o, off);
                        double lseW = branchForward(in, b, i, h, false, oW, 0);
                        double p = ac(AccurateMath.sigmoid(route.logit(r)));
                        double pc = ac(AccurateMath.sigmoid(-route.logit(r)));
                        for (int d = 0; d < sh.headDim(); d++) {
                            o[off + d] = st(ac(ac(p * o[off + d]) + ac(pc * oW[d])));
                        }
                        lse[sh.lseOffset(b, i, h)] = z ? lseF : lseW;
                    } else {
                        lse[sh.lseOffset(b, i, h)] = branchForward(in, b, i, h, z, o, off);
                    }
                }
            }
        }
        return new ForwardResult(sh, o, lse);
    }

    /** Naive forward of row (b, i, h) on a branch. @param o modified at [oOff, oOff + D) */
    private double branchForward(AttentionInputs in, int b, int i, int h, boolean full, double[] o, int oOff) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int g = sh.kvHeadOf(h);
        int lo = Visibility.firstKey(i, full, in.window());
        double[] p = probabilities(in, b, i, h, lo, null);
        double lse = p[p.length - 1];
        for (int d = 0; d < dim; d++) {
            double acc = 0;
            for (int j = lo; j <= i; j++) {
                acc = ac(acc + ac(p[j - lo] * in.v()[sh.kvOffset(b, j, g) + d]));
            }
            o[oOff + d] = st(acc);
        }
        return lse;
    }

    /**
     * P_j for j in [lo, i] (stored at [j - lo]), and the LSE in the last slot. With {@code lseGiven} non-null the
     * probabilities are recomputed from that LSE (the backward pass) instead.
     */
    private double[] probabilities(AttentionInputs in, int b, int i, int h, int lo, Double lseGiven) {
        Shape sh = in.shape();
        int g = sh.kvHeadOf(h);
        int n = i - lo + 1;
        double[] p = new double[n + 1];
        double m = Double.NEGATIVE_INFINITY;
        for (int j = lo; j <= i; j++) {
            double s = st(ac(in.scale() * dot(in.q(), sh.qOffset(b, i, h), in.k(), sh.kvOffset(b, j, g),
                    sh.headDim())));
            p[j - lo] = s;
            m = Math.max(m, s);
        }
        if (lseGiven != null) {
            for (int t = 0; t < n; t++) {
                p[t] = st(ac(Math.exp(ac(p[t] - lseGiven))));
            }
            p[n] = lseGiven;
            return p;
        }
        double z = 0;
        for (int t = 0; t < n; t++) {
            p[t] = ac(Math.exp(ac(p[t] - m)));
            z = ac(z + p[t]);
        }
        for (int t = 0; t < n; t++) {
            p[t] = st(ac(p[t] / z));
        }
        p[n] = ac(m + ac(Math.log(z)));
        return p;
    }

    @Override
    public BackwardResult backward(AttentionInputs in0, double[] dOut0) {
        in0.checkOutputGradient(dOut0);
        AttentionInputs in = roundedInputs(in0);
        double[] dOut = rounded(dOut0);
        Shape sh = in.shape();
        int dim = sh.headDim();
        Route route = in.route();
        Estimator est = in.estimator();
        double[] dq = new double[sh.qSize()];
        double[] dk = new double[sh.kvSize()];
        double[] dv = new double[sh.kvSize()];
        double[] dA = new double[sh.rows()];
        double[] oF = new double[dim];
        double[] oW = new double[dim];
        double[] gv = new double[dim];
        for (int b = 0; b < sh.batch(); b++) {
            for (int i = 0; i < sh.seqLen(); i++) {
                int r = b * sh.seqLen() + i;
                boolean z = route.isFull(r);
                double routerSum = 0;
                for (int h = 0; h < sh.qHeads(); h++) {
                    int off = sh.qOffset(b, i, h);
                    double lseF = branchForward(in, b, i, h, true, oF, 0);
                    double lseW = branchForward(in, b, i, h, false, oW, 0);
                    double cF = z ? 1 : 0;
                    double cW = z ? 0 : 1;
                    if (est == Estimator.SOFT) {
                        cF = ac(AccurateMath.sigmoid(route.logit(r)));
                        cW = ac(AccurateMath.sigmoid(-route.logit(r)));
                    }
                    if (est == Estimator.SELECTED_BRANCH) {
                        routerSum = ac(routerSum + dot(dOut, off, z ? oF : oW, 0, dim));
                    } else if (est != Estimator.HARD) {
                        routerSum = ac(routerSum + ac(dot(dOut, off, oF, 0, dim) - dot(dOut, off, oW, 0, dim)));
                    }
                    for (int pass = 0; pass < 2; pass++) {
                        boolean full = pass == 0;
                        double c = full ? cF : cW;
                        if (c == 0) {
                            continue;
                        }
                        for (int d = 0; d < dim; d++) {
                            gv[d] = st(ac(c * dOut[off + d]));
                        }
                        branchBackward(in, b, i, h, full, gv, full ? oF : oW, full ? lseF : lseW, dq, dk, dv);
                    }
                }
                if (est != Estimator.HARD) {
                    double p = ac(AccurateMath.sigmoid(route.logit(r)));
                    double pc = ac(AccurateMath.sigmoid(-route.logit(r)));
                    dA[r] = est == Estimator.SELECTED_BRANCH
                            ? ac((z ? pc : -p) * routerSum) : ac(ac(p * pc) * routerSum);
                }
            }
        }
        for (double[] x : new double[][] {dq, dk, dv}) {
            for (int n = 0; n < x.length; n++) {
                x[n] = st(x[n]);
            }
        }
        return new BackwardResult(sh, dq, dk, dv, dA);
    }

    /** Naive backward of one row on one branch; accumulates (in ac) into dq, dk, dv. @param dq modified */
    private void branchBackward(AttentionInputs in, int b, int i, int h, boolean full, double[] g, double[] o,
                                double lse, double[] dq, double[] dk, double[] dv) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int kvh = sh.kvHeadOf(h);
        int lo = Visibility.firstKey(i, full, in.window());
        int qOff = sh.qOffset(b, i, h);
        double[] p = probabilities(in, b, i, h, lo, lse);
        double delta = dot(g, 0, o, 0, dim);
        for (int j = lo; j <= i; j++) {
            int kvOff = sh.kvOffset(b, j, kvh);
            double pj = p[j - lo];
            double dp = st(dot(g, 0, in.v(), kvOff, dim));
            double ds = st(ac(pj * ac(dp - delta)));
            double sds = ac(in.scale() * ds);
            for (int d = 0; d < dim; d++) {
                dv[kvOff + d] = ac(dv[kvOff + d] + ac(pj * g[d]));
                dq[qOff + d] = ac(dq[qOff + d] + ac(sds * in.k()[kvOff + d]));
                dk[kvOff + d] = ac(dk[kvOff + d] + ac(sds * in.q()[qOff + d]));
            }
        }
    }
}
