package org.swiattn.training.model;

import org.swiattn.spec.Sigmoid;

/**
 * The decoder's elementwise and matrix operations, forward and backward, on flat row-major arrays. Every backward
 * quotes the forward line it differentiates. Sums run in index order, so results are reproducible bit for bit.
 */
public final class Ops {
    private Ops() {
    }

    /**
     * y = x W.
     *
     * <pre>{@code  x [N,in], W [in,out] at offset wOff of w -> y [N,out] (new)  }</pre>
     *
     * @param x [N,in]; not modified
     * @param w holds W at wOff; not modified
     */
    public static double[] matmul(double[] x, int n, int in, double[] w, int wOff, int out) {
        double[] y = new double[n * out];
        // pass 1: row r of y accumulates x[r,k] * W[k,:] over k (axpy form, cache friendly)
        for (int r = 0; r < n; r++) {
            int yo = r * out;
            for (int k = 0; k < in; k++) {
                double a = x[r * in + k];
                if (a == 0.0) {
                    continue;
                }
                int wo = wOff + k * out;
                for (int c = 0; c < out; c++) {
                    y[yo + c] += a * w[wo + c];
                }
            }
        }
        return y;
    }

    /**
     * Backward of y = x W: dx += dy W^T (if dx != null), dW += x^T dy.
     *
     * @param dy  [N,out]; not modified
     * @param x   [N,in] forward input; not modified
     * @param w   holds W at wOff; not modified
     * @param dx  [N,in] modified (accumulated), or null
     * @param dw  holds dW at wOff (same offset as W); modified (accumulated)
     */
    public static void matmulBackward(double[] dy, double[] x, int n, int in, double[] w, int wOff, int out,
                                      double[] dx, double[] dw) {
        // forward: y[r,c] = sum_k x[r,k] W[k,c]
        for (int r = 0; r < n; r++) {
            int yo = r * out;
            for (int k = 0; k < in; k++) {
                int wo = wOff + k * out;
                double xv = x[r * in + k];
                double acc = 0;
                for (int c = 0; c < out; c++) {
                    double g = dy[yo + c];
                    acc += g * w[wo + c];
                    dw[wo + c] += xv * g;
                }
                if (dx != null) {
                    dx[r * in + k] += acc;
                }
            }
        }
    }

    /**
     * RMSNorm: y_r = x_r * rinv_r * g, rinv_r = 1 / sqrt(mean_j x_rj^2 + eps).
     *
     * <pre>{@code  x [N,C], g [C] at gOff -> y [N,C] (new), rinv [N] (modified)  }</pre>
     */
    public static double[] rmsNorm(double[] x, int n, int c, double[] g, int gOff, double eps, double[] rinv) {
        double[] y = new double[n * c];
        for (int r = 0; r < n; r++) {
            // pass 1: mean square
            double ss = 0;
            for (int j = 0; j < c; j++) {
                ss += x[r * c + j] * x[r * c + j];
            }
            double ri = 1.0 / Math.sqrt(ss / c + eps);
            rinv[r] = ri;
            // pass 2: scale
            for (int j = 0; j < c; j++) {
                y[r * c + j] = x[r * c + j] * ri * g[gOff + j];
            }
        }
        return y;
    }

    /**
     * Backward of RMSNorm. With u_j = dy_j g_j:  dx_j += rinv (u_j - x_j rinv^2 mean_k(u_k x_k)),  dg_j += dy_j x_j rinv.
     *
     * @param dy   [N,C]; not modified
     * @param x    [N,C] forward input; not modified
     * @param rinv [N] from the forward; not modified
     * @param dx   [N,C] modified (accumulated)
     * @param dg   holds dg at gOff; modified (accumulated)
     */
    public static void rmsNormBackward(double[] dy, double[] x, int n, int c, double[] g, int gOff, double[] rinv,
                                       double[] dx, double[] dg) {
        // forward: y_j = x_j * rinv * g_j,  rinv = (mean_k x_k^2 + eps)^(-1/2)
        for (int r = 0; r < n; r++) {
            double ri = rinv[r];
            double dot = 0;
            for (int j = 0; j < c; j++) {
                dot += dy[r * c + j] * g[gOff + j] * x[r * c + j];
            }
            double coef = ri * ri * ri * dot / c;
            for (int j = 0; j < c; j++) {
                int o = r * c + j;
                dx[o] += dy[o] * g[gOff + j] * ri - x[o] * coef;
                dg[gOff + j] += dy[o] * x[o] * ri;
            }
        }
    }

    /**
     * Rotary positions in place ("rotate half" pairing, as Llama / Hugging Face): for each head and pair
     * t in [0, D/2), angle = pos * base^(-2t/D), pos = r mod S:
     * <pre>
     *   y_t       = x_t cos - x_{t+D/2} sin
     *   y_{t+D/2} = x_t sin + x_{t+D/2} cos
     * </pre>
     * With inverse = true it applies the transpose rotation ({@code angle -> -angle}): the backward.
     *
     * @param x [N,H*D]; modified
     */
    public static void rope(double[] x, int n, int seqLen, int heads, int d, double base, boolean inverse) {
        int half = d / 2;
        double[] freq = new double[half];
        for (int t = 0; t < half; t++) {
            freq[t] = Math.pow(base, -2.0 * t / d);
        }
        for (int r = 0; r < n; r++) {
            int pos = r % seqLen;
            for (int t = 0; t < half; t++) {
                double ang = pos * freq[t];
                double cs = Math.cos(ang);
                double sn = inverse ? -Math.sin(ang) : Math.sin(ang);
                for (int h = 0; h < heads; h++) {
                    int o = (r * heads + h) * d;
                    double x1 = x[o + t];
                    double x2 = x[o + t + half];
                    x[o + t] = x1 * cs - x2 * sn;
                    x[o + t + half] = x1 * sn + x2 * cs;
                }
            }
        }
    }

    /** silu(h) = h * sigmoid(h), elementwise. @param h [M]; not modified; returns new [M] */
    public static double[] silu(double[] h) {
        double[] y = new double[h.length];
        for (int k = 0; k < h.length; k++) {
            y[k] = h[k] * Sigmoid.of(h[k]);
        }
        return y;
    }

    /**
     * Backward of silu: forward y = h s(h), so dh = dy * s (1 + h (1 - s)).
     *
     * @param dy [M]; not modified
     * @param h  [M] forward input; not modified
     * @return dh [M] new
     */
    public static double[] siluBackward(double[] dy, double[] h) {
        double[] dh = new double[h.length];
        for (int k = 0; k < h.length; k++) {
            double s = Sigmoid.of(h[k]);
            dh[k] = dy[k] * s * (1 + h[k] * (1 - s));
        }
        return dh;
    }

    /**
     * Log-softmax of one row, into out.
     *
     * @param logits holds the row at off, length v; not modified
     * @param out    [v] modified
     */
    public static void logSoftmax(double[] logits, int off, int v, double[] out) {
        double m = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < v; c++) {
            m = Math.max(m, logits[off + c]);
        }
        double s = 0;
        for (int c = 0; c < v; c++) {
            s += Math.exp(logits[off + c] - m);
        }
        double lse = m + Math.log(s);
        for (int c = 0; c < v; c++) {
            out[c] = logits[off + c] - lse;
        }
    }
}
