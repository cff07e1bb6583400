package org.swiattn.training;

import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Route;
import org.swiattn.spec.Sigmoid;

/**
 * The router of one hybrid layer (spec/SPEC.md section "Router"): a linear score on the layer's normalized input
 * (the input of the Q/K/V projections), a sigmoid probability and a hard decision shared by all heads.
 *
 * <pre>{@code
 *   a_r = <x_r, w> + b          x [N,C] normalized input, w [C], b scalar      (paper: linear router)
 *   p_r = sigmoid(a_r)                                                             (paper)
 *   z_r = [a_r > 0]             a_r == 0 goes to the window branch                 (our tie rule)
 * }</pre>
 * Backward, given g_r = dL/da_r (from the attention estimator and from the regularizer):
 * <pre>
 *   dL/dx_r += g_r * w          dL/dw += sum_r g_r * x_r          dL/db += sum_r g_r
 * </pre>
 * Sums run over r in index order (plain left-to-right double sums), so results are reproducible bit for bit.
 */
public final class Router {
    private Router() {
    }

    /**
     * Router logits.
     *
     * <pre>{@code  x [N,C], w [C] -> a [N]  }</pre>
     *
     * @param x [N,C] normalized input; not modified
     * @param n N rows
     * @param c C width
     * @param w [C] router weight; not modified
     * @param b router bias
     * @return a [N] new array
     */
    public static double[] logits(double[] x, int n, int c, double[] w, double b) {
        checkSizes(x, n, c, w);
        InvalidInputException.require(Double.isFinite(b), "routerBias", "must be finite, got " + b);
        double[] a = new double[n];
        // pass 1: one dot product per row
        for (int r = 0; r < n; r++) {
            double s = 0.0;
            int off = r * c;
            for (int j = 0; j < c; j++) {
                s += x[off + j] * w[j];
            }
            a[r] = s + b;
        }
        return a;
    }

    /**
     * Backward of {@link #logits}: accumulates into dx, dw and dBias[0].
     *
     * <pre>{@code  forward: a_r = <x_r, w> + b     dA [N] -> dx [N,C] (+=), dw [C] (+=), dBias [1] (+=)  }</pre>
     *
     * @param dA    [N] dL/da; not modified
     * @param x     [N,C] the forward input; not modified
     * @param n     N
     * @param c     C
     * @param w     [C] the forward weight; not modified
     * @param dx    [N,C] modified (accumulated); may be null to skip
     * @param dw    [C] modified (accumulated)
     * @param dBias [1] modified (accumulated)
     */
    public static void backward(double[] dA, double[] x, int n, int c, double[] w, double[] dx, double[] dw,
                                double[] dBias) {
        checkSizes(x, n, c, w);
        InvalidInputException.require(dA != null && dA.length == n, "dA", "length must be N = " + n);
        InvalidInputException.require(dw != null && dw.length == c, "dw", "length must be C = " + c);
        InvalidInputException.require(dBias != null && dBias.length == 1, "dBias", "length must be 1");
        InvalidInputException.require(dx == null || dx.length == n * c, "dx", "length must be N*C = " + n * c);
        // pass 1: forward line a_r = <x_r, w> + b, differentiated row by row
        for (int r = 0; r < n; r++) {
            double g = dA[r];
            if (g == 0.0) {
                continue;
            }
            int off = r * c;
            for (int j = 0; j < c; j++) {
                if (dx != null) {
                    dx[off + j] += g * w[j];
                }
                dw[j] += g * x[off + j];
            }
            dBias[0] += g;
        }
    }

    /** logit(p) = ln(p / (1 - p)); the inverse of sigmoid. @param p in (0, 1) */
    public static double logit(double p) {
        InvalidInputException.require(p > 0 && p < 1, "p0", "must be in (0, 1), got " + p);
        return Math.log(p) - Math.log1p(-p);
    }

    /**
     * Probabilities of a logit vector.
     *
     * @param a [N]; not modified
     * @return p [N] new array, p_r = sigmoid(a_r)
     */
    public static double[] probabilities(double[] a) {
        double[] p = new double[a.length];
        for (int r = 0; r < a.length; r++) {
            p[r] = Sigmoid.of(a[r]);
        }
        return p;
    }

    /**
     * The route of a logit vector: {@code z = [a > 0]}, logits carried for the training estimators.
     *
     * @param a [B,S]; not modified (copied by {@link Route#ofLogits})
     */
    public static Route route(int batch, int seqLen, double[] a) {
        return Route.ofLogits(batch, seqLen, a);
    }

    /**
     * Chain rule through the sigmoid: dL/da_r = dL/dp_r * p_r (1 - p_r).
     *
     * @param dP [N] dL/dp; not modified
     * @param p  [N] sigmoid(a); not modified
     * @return dL/da [N] new array
     */
    public static double[] sigmoidBackward(double[] dP, double[] p) {
        double[] dA = new double[p.length];
        for (int r = 0; r < p.length; r++) {
            dA[r] = dP[r] * p[r] * (1.0 - p[r]);
        }
        return dA;
    }

    private static void checkSizes(double[] x, int n, int c, double[] w) {
        InvalidInputException.require(n >= 1, "n", "must be >= 1, got " + n);
        InvalidInputException.require(c >= 1, "c", "must be >= 1, got " + c);
        InvalidInputException.require(x != null && x.length == (long) n * c, "x",
                "length must be N*C = " + ((long) n * c) + ", got " + (x == null ? "null" : x.length));
        InvalidInputException.require(w != null && w.length == c, "routerWeight",
                "length must be C = " + c + ", got " + (w == null ? "null" : w.length));
        for (int k = 0; k < x.length; k++) {
            InvalidInputException.require(Double.isFinite(x[k]), "x", "non-finite value " + x[k] + " at index " + k);
        }
        for (int j = 0; j < c; j++) {
            InvalidInputException.require(Double.isFinite(w[j]), "routerWeight",
                    "non-finite value " + w[j] + " at index " + j);
        }
    }
}
