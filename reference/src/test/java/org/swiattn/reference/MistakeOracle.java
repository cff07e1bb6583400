package org.swiattn.reference;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;

/**
 * A plain dense fp64 routed attention with every catalogued mistake written in directly (test oracle): the
 * independent check that each transform of {@link MistakePlanting} computes what the mistake computes. Loops as
 * the spec's formulas read; no compensation (agreement with the reference is to about 1e-14 on small inputs).
 *
 * <pre>{@code
 *   per (b, h): z, a of head h at token i come from token src(i, h) (identity unless route-per-head)
 *   branch B: keys [lo, hi]: lo = 0 (F) or max(0, i - w' + 1) (W), hi = min(S-1, i + late); kv head kvOf(h)
 *   o = cF oF + cW oW (SOFT p, 1-p; else z, 1-z), lse of the selected branch (or the other), maybe / ln 2
 *   backward: g = c dO; Delta = <g, oB> (or <g, o>); dS = P (dP - Delta)
 *   router: 1-p exact or by difference
 * }</pre>
 */
final class MistakeOracle {
    int windowDelta;
    int late;
    boolean lseLog2;
    boolean lseOther;
    boolean gqaModulo;
    double scale = Double.NaN;
    boolean tieToFull;
    boolean perHead;
    boolean deltaFromRouted;
    boolean oneMinusPByDifference;

    double[] o;
    double[] lse;
    double[] dq;
    double[] dk;
    double[] dv;
    double[] dA;

    MistakeOracle run(AttentionInputs in, double[] dO) {
        Shape sh = in.shape();
        int s = sh.seqLen();
        int dim = sh.headDim();
        int hq = sh.qHeads();
        int w = in.window() + windowDelta;
        double sc = Double.isNaN(scale) ? in.scale() : scale;
        Estimator est = in.estimator();
        o = new double[sh.qSize()];
        lse = new double[sh.lseSize()];
        dq = new double[sh.qSize()];
        dk = new double[sh.kvSize()];
        dv = new double[sh.kvSize()];
        dA = new double[sh.rows()];
        for (int b = 0; b < sh.batch(); b++) {
            for (int h = 0; h < hq; h++) {
                int g = gqaModulo ? h % sh.kvHeads() : h / sh.groupSize();
                double[][][] p = new double[2][s][s];
                double[][][] ob = new double[2][s][dim];
                double[][] l = new double[2][s];
                // forward of both branches
                for (int br = 0; br < 2; br++) {
                    for (int i = 0; i < s; i++) {
                        int lo = br == 0 ? 0 : Math.max(0, i - w + 1);
                        int hi = Math.min(s - 1, i + late);
                        double m = Double.NEGATIVE_INFINITY;
                        for (int j = lo; j <= hi; j++) {
                            p[br][i][j] = sc * dot(in.q(), sh.qOffset(b, i, h), in.k(), sh.kvOffset(b, j, g), dim);
                            m = Math.max(m, p[br][i][j]);
                        }
                        double z = 0;
                        for (int j = lo; j <= hi; j++) {
                            z += Math.exp(p[br][i][j] - m);
                        }
                        l[br][i] = m + Math.log(z);
                        for (int j = 0; j < s; j++) {
                            p[br][i][j] = j >= lo && j <= hi ? Math.exp(p[br][i][j] - l[br][i]) : 0;
                            for (int d = 0; d < dim; d++) {
                                ob[br][i][d] += p[br][i][j] * (j >= lo && j <= hi ? in.v()[sh.kvOffset(b, j, g) + d]
                                        : 0);
                            }
                        }
                    }
                }
                // routed output, LSE, backward
                for (int i = 0; i < s; i++) {
                    int src = perHead ? (int) (((long) i * hq + h) % s) : i;
                    int r = b * s + src;
                    double a = in.route().hasLogits() ? in.route().logit(r) : Double.NaN;
                    boolean z = in.route().hasLogits() ? (tieToFull ? a >= 0 : a > 0) : in.route().isFull(r);
                    double pr = Sigmoid.of(a);
                    double pc = oneMinusPByDifference ? 1 - pr : Sigmoid.complement(a);
                    double cF = est == Estimator.SOFT ? pr : z ? 1 : 0;
                    double cW = est == Estimator.SOFT ? Sigmoid.complement(a) : z ? 0 : 1;
                    int off = sh.qOffset(b, i, h);
                    for (int d = 0; d < dim; d++) {
                        o[off + d] = cF * ob[0][i][d] + cW * ob[1][i][d];
                    }
                    double le = l[(z ^ lseOther) ? 0 : 1][i];
                    lse[sh.lseOffset(b, i, h)] = lseLog2 ? le / Math.log(2) : le;
                    if (dO == null) {
                        continue;
                    }
                    double dF = dot(dO, off, ob[0][i], 0, dim);
                    double dW = dot(dO, off, ob[1][i], 0, dim);
                    if (est == Estimator.SELECTED_BRANCH) {
                        dA[r] += (z ? pc : -pr) * (z ? dF : dW);
                    } else if (est != Estimator.HARD) {
                        dA[r] += pr * pc * (dF - dW);
                    }
                    for (int br = 0; br < 2; br++) {
                        double c = br == 0 ? cF : cW;
                        if (c == 0) {
                            continue;
                        }
                        double[] gr = new double[dim];
                        double delta = 0;
                        for (int d = 0; d < dim; d++) {
                            gr[d] = c * dO[off + d];
                            delta += gr[d] * (deltaFromRouted ? o[off + d] : ob[br][i][d]);
                        }
                        for (int j = 0; j < s; j++) {
                            double pij = p[br][i][j];
                            if (pij == 0) {
                                continue;
                            }
                            int kv = sh.kvOffset(b, j, g);
                            double ds = pij * (dot(gr, 0, in.v(), kv, dim) - delta);
                            for (int d = 0; d < dim; d++) {
                                dv[kv + d] += pij * gr[d];
                                dq[off + d] += sc * ds * in.k()[kv + d];
                                dk[kv + d] += sc * ds * in.q()[off + d];
                            }
                        }
                    }
                }
            }
        }
        return this;
    }

    private static double dot(double[] x, int xo, double[] y, int yo, int n) {
        double t = 0;
        for (int d = 0; d < n; d++) {
            t += x[xo + d] * y[yo + d];
        }
        return t;
    }
}
