package org.swiattn.reference;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;

/**
 * A plain dense fp64 routed attention over flat rows whose visible key rows are given per query row (test oracle
 * of the spec 2.0 mistakes): the independent check of the top-left and crossing-segments transforms.
 *
 * <pre>{@code
 *   query row r, branch F or W: key rows keys.first(r, full) .. keys.last(r), key rows with zero[kr] read as 0
 *   scores, softmax, o, lse, routing and backward as spec sections 5, 6 and 8 (kv head h / G)
 * }</pre>
 */
final class SegmentMistakeOracle {
    /** The visible key rows of a query row. */
    interface Keys {
        int first(int r, boolean full);

        int last(int r);
    }

    double[] o;
    double[] lse;
    double[] dq;
    double[] dk;
    double[] dv;
    double[] dA;

    SegmentMistakeOracle run(AttentionInputs in, double[] dO, Keys keys, boolean[] zero) {
        Shape sh = in.shape();
        int dim = sh.headDim();
        int hq = sh.qHeads();
        int kvd = sh.kvHeads() * dim;
        double[] k = in.k().clone();
        double[] v = in.v().clone();
        for (int kr = 0; kr < sh.kvRows(); kr++) {
            if (zero[kr]) {
                java.util.Arrays.fill(k, kr * kvd, (kr + 1) * kvd, 0.0);
                java.util.Arrays.fill(v, kr * kvd, (kr + 1) * kvd, 0.0);
            }
        }
        o = new double[sh.qSize()];
        lse = new double[sh.lseSize()];
        dq = new double[sh.qSize()];
        dk = new double[sh.kvSize()];
        dv = new double[sh.kvSize()];
        dA = new double[sh.rows()];
        Estimator est = in.estimator();
        for (int r = 0; r < sh.rows(); r++) {
            boolean z = in.route().isFull(r);
            double a = in.route().hasLogits() ? in.route().logit(r) : 0;
            double p = Sigmoid.of(a);
            double pc = Sigmoid.complement(a);
            double cF = est == Estimator.SOFT ? p : z ? 1 : 0;
            double cW = est == Estimator.SOFT ? pc : z ? 0 : 1;
            for (int h = 0; h < hq; h++) {
                int g = h / sh.groupSize();
                int qo = (r * hq + h) * dim;
                int last = keys.last(r);
                double[][] pr = new double[2][];
                double[][] ob = new double[2][dim];
                double[] lb = new double[2];
                for (int br = 0; br < 2; br++) {
                    int lo = keys.first(r, br == 0);
                    pr[br] = new double[last - lo + 1];
                    double m = Double.NEGATIVE_INFINITY;
                    for (int j = lo; j <= last; j++) {
                        pr[br][j - lo] = in.scale() * dot(in.q(), qo, k, j * kvd + g * dim, dim);
                        m = Math.max(m, pr[br][j - lo]);
                    }
                    double sum = 0;
                    for (double s : pr[br]) {
                        sum += Math.exp(s - m);
                    }
                    lb[br] = m + Math.log(sum);
                    for (int j = lo; j <= last; j++) {
                        pr[br][j - lo] = Math.exp(pr[br][j - lo] - lb[br]);
                        for (int d = 0; d < dim; d++) {
                            ob[br][d] += pr[br][j - lo] * v[j * kvd + g * dim + d];
                        }
                    }
                }
                for (int d = 0; d < dim; d++) {
                    o[qo + d] = cF * ob[0][d] + cW * ob[1][d];
                }
                lse[r * hq + h] = z ? lb[0] : lb[1];
                if (dO == null) {
                    continue;
                }
                double dF = dot(dO, qo, ob[0], 0, dim);
                double dW = dot(dO, qo, ob[1], 0, dim);
                if (est == Estimator.SELECTED_BRANCH) {
                    dA[r] += (z ? pc : -p) * (z ? dF : dW);
                } else if (est != Estimator.HARD) {
                    dA[r] += p * pc * (dF - dW);
                }
                for (int br = 0; br < 2; br++) {
                    double c = br == 0 ? cF : cW;
                    if (c == 0) {
                        continue;
                    }
                    int lo = keys.first(r, br == 0);
                    double[] gr = new double[dim];
                    double delta = 0;
                    for (int d = 0; d < dim; d++) {
                        gr[d] = c * dO[qo + d];
                        delta += gr[d] * ob[br][d];
                    }
                    for (int j = lo; j <= last; j++) {
                        double pij = pr[br][j - lo];
                        int kv = j * kvd + g * dim;
                        double ds = pij * (dot(gr, 0, v, kv, dim) - delta);
                        for (int d = 0; d < dim; d++) {
                            dv[kv + d] += pij * gr[d];
                            dq[qo + d] += in.scale() * ds * k[kv + d];
                            dk[kv + d] += in.scale() * ds * in.q()[qo + d];
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
