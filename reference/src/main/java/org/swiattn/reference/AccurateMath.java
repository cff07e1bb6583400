package org.swiattn.reference;

/**
 * Compensated arithmetic used by the reference.
 *
 * <p>{@link #dot} is the Dot2 algorithm of Ogita, Rump and Oishi ("Accurate sum and dot product", SIAM J. Sci.
 * Comput. 26(6), 2005): every product is split exactly with an FMA ({@code p = a*b, e = fma(a, b, -p)}, so
 * {@code a*b = p + e} exactly) and every sum with Knuth's TwoSum, so the result is as accurate as if computed in
 * twice the working precision and then rounded: |dot - exact| &lt;= u|exact| + gamma_n^2 * sum|a_k b_k|.
 * Commons Math's {@code MathArrays.linearCombination} gives the same accuracy on whole arrays; this version works
 * on strided slices of the flat BSHD tensors without copying (tests check the two agree).
 */
public final class AccurateMath {
    private AccurateMath() {
    }

    /**
     * Compensated dot product sum_{d &lt; n} a[aOff + d] * b[bOff + d].
     *
     * @param a [.. n ..] not modified
     * @param b [.. n ..] not modified
     */
    public static double dot(double[] a, int aOff, double[] b, int bOff, int n) {
        double s = 0.0;  // running sum
        double c = 0.0;  // accumulated rounding errors of products and sums
        for (int d = 0; d < n; d++) {
            double x = a[aOff + d];
            double y = b[bOff + d];
            double p = x * y;
            double pe = Math.fma(x, y, -p);   // x*y = p + pe exactly
            double t = s + p;                   // TwoSum(s, p) = t + te exactly
            double z = t - s;
            double te = (s - (t - z)) + (p - z);
            s = t;
            c += pe + te;
        }
        return s + c;
    }

    /**
     * A compensated running sum (TwoSum / Kahan-Babuska): {@code add} many terms, then {@code value()}.
     * Used for softmax denominators, where terms are all positive.
     */
    public static final class Sum {
        private double s;
        private double c;

        public void add(double x) {
            double t = s + x;
            double z = t - s;
            c += (s - (t - z)) + (x - z);
            s = t;
        }

        public double value() {
            return s + c;
        }
    }

    /**
     * Element-wise compensated accumulation {@code acc[n] += x * y[yOff + n]} for n in [0, len), with the
     * accumulated error kept in {@code err[n]}; the value of element n is {@code acc[n] + err[n]}.
     *
     * @param acc [len] running sums; modified
     * @param err [len] running error terms; modified
     * @param y   [.. len ..] not modified
     */
    public static void axpy(double[] acc, double[] err, int accOff, double x, double[] y, int yOff, int len) {
        for (int n = 0; n < len; n++) {
            double yv = y[yOff + n];
            double p = x * yv;
            double pe = Math.fma(x, yv, -p);
            double s = acc[accOff + n];
            double t = s + p;
            double z = t - s;
            err[accOff + n] += pe + (s - (t - z)) + (p - z);
            acc[accOff + n] = t;
        }
    }

    /** Folds error terms into sums: {@code acc[n] += err[n]}. @param acc modified @param err not modified */
    public static void fold(double[] acc, double[] err) {
        for (int n = 0; n < acc.length; n++) {
            acc[n] += err[n];
        }
    }

    /** sigmoid(a) = 1 / (1 + e^-a), without overflow for any finite a. */
    public static double sigmoid(double a) {
        return a >= 0 ? 1.0 / (1.0 + Math.exp(-a)) : Math.exp(a) / (1.0 + Math.exp(a));
    }
}
