package org.swiattn.properties;

import java.util.SplittableRandom;

import org.swiattn.spec.Bf16;
import org.swiattn.spec.Shape;

/**
 * Small tensor helpers for the properties: drawing values, copying rows and heads, rearranging heads. Every helper
 * returns a new array and never modifies its arguments.
 */
public final class Tensors {
    private Tensors() {
    }

    /**
     * n values uniform in [-m, m), each rounded to a bf16-representable double.
     *
     * @param rnd random source; advanced
     */
    public static double[] uniformBf16(SplittableRandom rnd, int n, double m) {
        double[] x = new double[n];
        for (int t = 0; t < n; t++) {
            x[t] = Bf16.round(m * (2 * rnd.nextDouble() - 1));
        }
        return x;
    }

    /** n copies of c. */
    public static double[] filled(int n, double c) {
        double[] x = new double[n];
        java.util.Arrays.fill(x, c);
        return x;
    }

    /**
     * x * f, element by element (exact when f is a power of two and nothing overflows).
     *
     * @param x [N]; not modified
     */
    public static double[] scaled(double[] x, double f) {
        double[] y = new double[x.length];
        for (int t = 0; t < x.length; t++) {
            y[t] = x[t] * f;
        }
        return y;
    }

    /**
     * The elements of the (batch, token) rows r with {@code keep[r]} true, in order: a [B,S,H,X] tensor seen as
     * [B*S, H*X] rows of {@code rowWidth} elements.
     *
     * @param x    [B*S*rowWidth]; not modified
     * @param keep [B*S]; not modified
     */
    public static double[] rowsWhere(double[] x, int rowWidth, boolean[] keep) {
        int n = 0;
        for (boolean k : keep) {
            n += k ? 1 : 0;
        }
        double[] y = new double[n * rowWidth];
        int at = 0;
        for (int r = 0; r < keep.length; r++) {
            if (keep[r]) {
                System.arraycopy(x, r * rowWidth, y, at, rowWidth);
                at += rowWidth;
            }
        }
        return y;
    }

    /**
     * K or V [B,S,Hkv,D] with every key/value head repeated G times: [B,S,Hq,D], head h of the result is head
     * h / G of the input (the GQA mapping written out, so an MHA call computes what the GQA call computes).
     *
     * @param kv [B,S,Hkv,D]; not modified
     */
    public static double[] repeatKvHeads(double[] kv, Shape sh) {
        int d = sh.headDim();
        double[] out = new double[sh.qSize()];
        for (int b = 0; b < sh.batch(); b++) {
            for (int j = 0; j < sh.seqLen(); j++) {
                for (int h = 0; h < sh.qHeads(); h++) {
                    System.arraycopy(kv, sh.kvOffset(b, j, sh.kvHeadOf(h)), out, sh.qOffset(b, j, h), d);
                }
            }
        }
        return out;
    }

    /**
     * dK or dV of the repeated-head (MHA) problem [B,S,Hq,D] summed back over each group: [B,S,Hkv,D]. This is
     * what the GQA gradient must be, because the GQA call reads kv head g once for each of its G query heads.
     *
     * @param dkvRepeated [B,S,Hq,D]; not modified
     */
    public static double[] sumGroups(double[] dkvRepeated, Shape sh) {
        int d = sh.headDim();
        double[] out = new double[sh.kvSize()];
        for (int b = 0; b < sh.batch(); b++) {
            for (int j = 0; j < sh.seqLen(); j++) {
                for (int h = 0; h < sh.qHeads(); h++) {
                    int src = sh.qOffset(b, j, h);
                    int dst = sh.kvOffset(b, j, sh.kvHeadOf(h));
                    for (int t = 0; t < d; t++) {
                        out[dst + t] += dkvRepeated[src + t];
                    }
                }
            }
        }
        return out;
    }

    /**
     * Moves head h of a [B,S,H,X] tensor to head perm[h]: {@code out[b,i,perm[h],:] = x[b,i,h,:]}.
     *
     * @param x    [B,S,H,X] with H = perm.length; not modified
     * @param perm [H] a permutation of 0..H-1; not modified
     */
    public static double[] permuteHeads(double[] x, int rows, int[] perm, int width) {
        int heads = perm.length;
        double[] out = new double[x.length];
        for (int r = 0; r < rows; r++) {
            for (int h = 0; h < heads; h++) {
                System.arraycopy(x, (r * heads + h) * width, out, (r * heads + perm[h]) * width, width);
            }
        }
        return out;
    }

    /**
     * One batch element of a [B,S,H,X] tensor: [1,S,H,X].
     *
     * @param x [B,S,H,X]; not modified
     */
    public static double[] batchElement(double[] x, int b, int batch) {
        int len = x.length / batch;
        double[] y = new double[len];
        System.arraycopy(x, b * len, y, 0, len);
        return y;
    }

    /** A uniformly random permutation of 0..n-1 (Fisher-Yates). @param rnd advanced */
    public static int[] permutation(SplittableRandom rnd, int n) {
        int[] p = new int[n];
        for (int t = 0; t < n; t++) {
            p[t] = t;
        }
        for (int t = n - 1; t > 0; t--) {
            int u = rnd.nextInt(t + 1);
            int tmp = p[t];
            p[t] = p[u];
            p[u] = tmp;
        }
        return p;
    }

    /** Largest |x_t|. @param x not modified */
    public static double maxAbs(double[] x) {
        double m = 0;
        for (double t : x) {
            m = Math.max(m, Math.abs(t));
        }
        return m;
    }

    /** Whether every element is finite. @param x not modified */
    public static boolean allFinite(double[] x) {
        for (double t : x) {
            if (!Double.isFinite(t)) {
                return false;
            }
        }
        return true;
    }
}
