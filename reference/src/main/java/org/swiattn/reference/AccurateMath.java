package org.swiattn.reference;

/**
 * Compensated arithmetic used by the reference.
 *
 * <p>{@link #dot} is the Dot2 algorithm of Ogita, Rump and Oishi ("Accurate sum and dot product", SIAM J. Sci.
 * Comput. 26(6), 2005): every product is split exactly with an FMA ({@code p = a*b, e = fma(a, b, -p)}, so
 * {@code a*b = p + e} exactly) and every sum with Knuth's TwoSum, so the result is as accurate as if computed in
 * twice the working precision and then rounded:
 * <pre>{@code
 *   |dot - exact| <= u |exact| + gamma_n^2 * sum_k |a_k b_k|
 * }</pre>
 * Commons Math's {@code MathArrays.linearCombination} gives the same accuracy on whole arrays; this version works
 * on strided slices of the flat BSHD tensors without copying (tests check the two agree).
 */
public final class AccurateMath {
    private AccurateMath() {
    }

    /**
     * Compensated dot product {@code sum_{d < n} a[aOff + d] * b[bOff + d]}.
     *
     * @param a [.. n ..] not modified
     * @param b [.. n ..] not modified
     */
    public static double dot(double[] a, int aOff, double[] b, int bOff, int n) {
        return dotPair(a, aOff, b, bOff, n, null, 0);
    }

    /**
     * Dot2 as an unevaluated pair: returns hi = fl(s + c) and, when {@code lo} is non-null, stores
     * lo[loIdx] = the part of s + c lost in that rounding, so hi + lo carries about twice the working precision.
     *
     * @param lo [..] receives the low part at loIdx; modified (may be null)
     */
    public static double dotPair(double[] a, int aOff, double[] b, int bOff, int n, double[] lo, int loIdx) {
        // four independent compensated lanes (d mod 4) so the dependency chains overlap; then the lanes are
        // summed with TwoSum too, so the result keeps the Dot2 error bound
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;   // running sums of each lane
        double c0 = 0, c1 = 0, c2 = 0, c3 = 0;   // accumulated rounding errors of each lane
        int d = 0;
        for (; d + 3 < n; d += 4) {
            double p;
            double t;
            double z;
            p = a[aOff + d] * b[bOff + d];
            c0 += Math.fma(a[aOff + d], b[bOff + d], -p);       // product error: a*b = p + pe exactly
            t = s0 + p;
            z = t - s0;
            c0 += (s0 - (t - z)) + (p - z);                    // TwoSum error: s + p = t + te exactly
            s0 = t;
            p = a[aOff + d + 1] * b[bOff + d + 1];
            c1 += Math.fma(a[aOff + d + 1], b[bOff + d + 1], -p);
            t = s1 + p;
            z = t - s1;
            c1 += (s1 - (t - z)) + (p - z);
            s1 = t;
            p = a[aOff + d + 2] * b[bOff + d + 2];
            c2 += Math.fma(a[aOff + d + 2], b[bOff + d + 2], -p);
            t = s2 + p;
            z = t - s2;
            c2 += (s2 - (t - z)) + (p - z);
            s2 = t;
            p = a[aOff + d + 3] * b[bOff + d + 3];
            c3 += Math.fma(a[aOff + d + 3], b[bOff + d + 3], -p);
            t = s3 + p;
            z = t - s3;
            c3 += (s3 - (t - z)) + (p - z);
            s3 = t;
        }
        for (; d < n; d++) {   // tail, into lane 0
            double p = a[aOff + d] * b[bOff + d];
            c0 += Math.fma(a[aOff + d], b[bOff + d], -p);
            double t = s0 + p;
            double z = t - s0;
            c0 += (s0 - (t - z)) + (p - z);
            s0 = t;
        }
        // combine the lanes: s0 + s1 + s2 + s3 with TwoSum, errors into c
        double c = c0 + c1 + c2 + c3;
        double s = s0;
        for (double x : new double[] {s1, s2, s3}) {
            double t = s + x;
            double z = t - s;
            c += (s - (t - z)) + (x - z);
            s = t;
        }
        double hi = s + c;
        if (lo != null) {
            lo[loIdx] = c - (hi - s);   // exact when |s| >= |c| (FastTwoSum), which Dot2 guarantees but for ties
        }
        return hi;
    }

    /** An unevaluated pair hi + lo (|lo| at most half an ulp of hi): about twice the working precision. */
    public record Pair(double hi, double lo) {
    }

    /**
     * x * (hi + lo) as a pair: returns the rounded product and stores its low part in lo[idx].
     *
     * @param lo [..] holds the input low part at idx and receives the output low part; modified
     */
    public static double scalePair(double x, double hi, double[] lo, int idx) {
        double p = x * hi;
        lo[idx] = Math.fma(x, hi, -p) + x * lo[idx];
        return p;
    }

    /** (aHi + aLo) - (bHi + bLo), rounded once at the end (TwoSum on the high parts). */
    public static double difference(double aHi, double aLo, double bHi, double bLo) {
        double t = aHi - bHi;
        double z = t - aHi;
        double e = (aHi - (t - z)) + (-bHi - z);   // TwoSum(aHi, -bHi) = t + e exactly
        return t + (e + (aLo - bLo));
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
     * Element-wise compensated accumulation, the error term of element n kept beside it:
     * <pre>{@code
     *   acc[accOff + n] + err[accOff + n]  +=  x * y[yOff + n]      n in [0, len)
     * }</pre>
     *
     * @param acc [.. len ..] running sums at accOff; modified
     * @param err [.. len ..] running error terms at accOff; modified
     * @param y   [.. len ..] not modified
     */
    public static void axpy(double[] acc, double[] err, int accOff, double x, double[] y, int yOff, int len) {
        axpy(acc, err, accOff, accOff, x, y, yOff, len);
    }

    /**
     * As {@link #axpy(double[], double[], int, double, double[], int, int)}, with the error term of element n at
     * {@code err[errOff + n]} (e.g. a [D] scratch row for an output row inside a larger tensor).
     *
     * @param acc [.. len ..] running sums at accOff; modified
     * @param err [.. len ..] running error terms at errOff; modified
     * @param y   [.. len ..] not modified
     */
    public static void axpy(double[] acc, double[] err, int accOff, int errOff, double x, double[] y, int yOff,
                            int len) {
        for (int n = 0; n < len; n++) {
            double yv = y[yOff + n];
            double p = x * yv;
            double pe = Math.fma(x, yv, -p);   // x*y = p + pe exactly
            double s = acc[accOff + n];
            double t = s + p;                   // TwoSum(s, p) = t + te exactly
            double z = t - s;
            err[errOff + n] += pe + (s - (t - z)) + (p - z);
            acc[accOff + n] = t;
        }
    }

    /** Folds error terms into sums: {@code acc[n] += err[n]}. @param acc modified @param err not modified */
    public static void fold(double[] acc, double[] err) {
        for (int n = 0; n < acc.length; n++) {
            acc[n] += err[n];
        }
    }
}
