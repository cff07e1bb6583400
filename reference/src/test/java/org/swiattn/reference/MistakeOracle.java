package org.swiattn.reference;

import java.util.Arrays;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;

/**
 * A plain fp64 routed attention over flat rows with every catalogued mistake written in directly (test oracle):
 * the independent check that each transform of {@link MistakePlanting} computes what the mistake computes. Loops
 * as the spec's formulas read; no compensation (agreement with the reference is to about 1e-14 on small inputs).
 *
 * <pre>{@code
 *   query row r = b*S + i, head h: z, a come from row src(r, h) (r itself unless route-per-head)
 *   branch B: key rows [first(r, B), last(r)], kv head kvOf(h); key rows with zero[kr] read as 0
 *     self-attention (keys == null): first = b*S (F) or b*S + max(0, i - w' + 1) (W),
 *                                    last = b*S + min(S-1, i + late)
 *     spec 2.0 mistakes: first and last given per query row (keys)
 *   o = cF oF + cW oW (SOFT p, 1-p; else z, 1-z), lse of the selected branch (or the other), maybe / ln 2
 *   backward: g = c dO; Delta = <g, oB> (or <g, o>); dS = P (dP - Delta)
 *   router: 1-p exact or by difference
 * }</pre>
 */
final class MistakeOracle {
    /** The visible key rows [first(r, full), last(r)] of query row r. */
    interface Keys {
        int first(int r, boolean full);

        int last(int r);
    }

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
    /** The visible key rows of each query row; null: self-attention's, with windowDelta and late. */
    Keys keys;
    /** [B*Sk] key rows read as zeros; null: none. */
    boolean[] zero;

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
        Keys visible = keys != null ? keys : new Keys() {
            public int first(int r, boolean full) {
                int b = r / s;
                return full ? b * s : b * s + Math.max(0, r % s - w + 1);
            }

            public int last(int r) {
                int b = r / s;
                return b * s + Math.min(s - 1, r % s + late);
            }
        };
        double[] k = in.k();
        double[] v = in.v();
        if (zero != null) {
            int kvd = sh.kvHeads() * dim;
            k = k.clone();
            v = v.clone();
            for (int kr = 0; kr < sh.kvRows(); kr++) {
                if (zero[kr]) {
                    Arrays.fill(k, kr * kvd, (kr + 1) * kvd, 0.0);
                    Arrays.fill(v, kr * kvd, (kr + 1) * kvd, 0.0);
                }
            }
        }
        o = new double[sh.qSize()];
        lse = new double[sh.lseSize()];
        dq = new double[sh.qSize()];
        dk = new double[sh.kvSize()];
        dv = new double[sh.kvSize()];
        dA = new double[sh.rows()];
        for (int r = 0; r < sh.rows(); r++) {
            int last = visible.last(r);
            for (int h = 0; h < hq; h++) {
                int g = gqaModulo ? h % sh.kvHeads() : h / sh.groupSize();
                int qo = sh.qRowOffset(r, h);
                // forward of both branches: P over key rows lo..last, oB
                double[][] pr = new double[2][];
                double[][] ob = new double[2][dim];
                double[] lb = new double[2];
                for (int br = 0; br < 2; br++) {
                    int lo = visible.first(r, br == 0);
                    pr[br] = new double[Math.max(0, last - lo + 1)];
                    double m = Double.NEGATIVE_INFINITY;
                    for (int j = lo; j <= last; j++) {
                        pr[br][j - lo] = sc * dot(in.q(), qo, k, sh.kvRowOffset(j, g), dim);
                        m = Math.max(m, pr[br][j - lo]);
                    }
                    double sum = 0;
                    for (double x : pr[br]) {
                        sum += Math.exp(x - m);
                    }
                    lb[br] = m + Math.log(sum);
                    for (int j = lo; j <= last; j++) {
                        pr[br][j - lo] = Math.exp(pr[br][j - lo] - lb[br]);
                        for (int d = 0; d < dim; d++) {
                            ob[br][d] += pr[br][j - lo] * v[sh.kvRowOffset(j, g) + d];
                        }
                    }
                }
                // routed output, LSE, backward
                int src = perHead ? (r / s) * s + (int) (((long) (r % s) * hq + h) % s) : r;
                double a = in.route().hasLogits() ? in.route().logit(src) : Double.NaN;
                boolean z = in.route().hasLogits() ? (tieToFull ? a >= 0 : a > 0) : in.route().isFull(src);
                double p = Sigmoid.of(a);
                double pc = oneMinusPByDifference ? 1 - p : Sigmoid.complement(a);
                double cF = est == Estimator.SOFT ? p : z ? 1 : 0;
                double cW = est == Estimator.SOFT ? Sigmoid.complement(a) : z ? 0 : 1;
                for (int d = 0; d < dim; d++) {
                    o[qo + d] = cF * ob[0][d] + cW * ob[1][d];
                }
                double le = lb[(z ^ lseOther) ? 0 : 1];
                lse[r * hq + h] = lseLog2 ? le / Math.log(2) : le;
                if (dO == null) {
                    continue;
                }
                double dF = dot(dO, qo, ob[0], 0, dim);
                double dW = dot(dO, qo, ob[1], 0, dim);
                if (est == Estimator.SELECTED_BRANCH) {
                    dA[src] += (z ? pc : -p) * (z ? dF : dW);
                } else if (est != Estimator.HARD) {
                    dA[src] += p * pc * (dF - dW);
                }
                for (int br = 0; br < 2; br++) {
                    double c = br == 0 ? cF : cW;
                    if (c == 0) {
                        continue;
                    }
                    int lo = visible.first(r, br == 0);
                    double[] gr = new double[dim];
                    double delta = 0;
                    for (int d = 0; d < dim; d++) {
                        gr[d] = c * dO[qo + d];
                        delta += gr[d] * (deltaFromRouted ? o[qo + d] : ob[br][d]);
                    }
                    for (int j = lo; j <= last; j++) {
                        double pij = pr[br][j - lo];
                        int kv = sh.kvRowOffset(j, g);
                        double ds = pij * (dot(gr, 0, v, kv, dim) - delta);
                        for (int d = 0; d < dim; d++) {
                            dv[kv + d] += pij * gr[d];
                            dq[qo + d] += sc * ds * k[kv + d];
                            dk[kv + d] += sc * ds * in.q()[qo + d];
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
