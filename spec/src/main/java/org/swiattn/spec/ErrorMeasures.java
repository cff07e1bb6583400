package org.swiattn.spec;

/**
 * The error measures of the tolerance policy (SPEC.md section "Tolerance policy").
 *
 * <pre>
 *   normwise relative error      e(x, ref)    = ||x - ref||_2 / ||ref||_2                     (golden tools)
 *   with the term-size allowance e(x, ref; T) = ||x - ref||_2 / max(||ref||_2, ||T||_2)      (spec 1.1)
 *   both                         = ||x - ref||_2 when the denominator is 0
 * </pre>
 * T is the term-magnitude tensor of ref (SPEC.md section 10: the same formula evaluated on absolute values,
 * {@code org.swiattn.reference.TermMagnitudes}); a computed sum satisfies
 * {@code |fl(sum a_i) - sum a_i| <= gamma_n sum |a_i|}, so errors are measured against the size of the terms, not of a possibly cancelled result.
 * Since {@code ||T|| >= ||ref||} for every tensor of the spec, the plain form (T unknown) is never looser.
 * Norms are computed with running scaling (as LAPACK's dnrm2) so no square overflows or underflows.
 */
public final class ErrorMeasures {
    private ErrorMeasures() {
    }

    /**
     * Euclidean norm of x - y (y may be null for ||x||).
     *
     * @param x [N]; not modified
     * @param y [N] or null; not modified
     */
    public static double normOfDifference(double[] x, double[] y) {
        if (y != null && y.length != x.length) {
            throw new IllegalArgumentException("lengths differ: " + x.length + " vs " + y.length);
        }
        double scale = 0.0;
        double ssq = 1.0;
        for (int n = 0; n < x.length; n++) {
            double t = y == null ? x[n] : x[n] - y[n];
            if (Double.isNaN(t)) {
                return Double.NaN;
            }
            if (t != 0.0) {
                double a = Math.abs(t);
                if (scale < a) {
                    ssq = 1.0 + ssq * (scale / a) * (scale / a);
                    scale = a;
                } else {
                    ssq += (a / scale) * (a / scale);
                }
            }
        }
        return scale * Math.sqrt(ssq);
    }

    /**
     * Normwise relative error of a candidate against a reference: ||x - ref|| / ||ref|| (||x - ref|| when
     * ref == 0). Equal to {@link #normwiseRelative(double[], double[], double)} with termNorm = 0, and never
     * smaller than it: the form for tools that do not know the term sizes (golden files).
     *
     * @param candidate [N]; not modified
     * @param reference [N]; not modified
     */
    public static double normwiseRelative(double[] candidate, double[] reference) {
        return normwiseRelative(candidate, reference, 0.0);
    }

    /**
     * Normwise relative error with the term-size allowance of spec 1.1 (SPEC.md section 10):
     * <pre>
     *   e(x, ref; T) = ||x - ref||_2 / max(||ref||_2, termNorm)      (||x - ref||_2 when both are 0)
     *   termNorm     = ||T||_2, T the term-magnitude tensor of ref (same shape, formula on absolute values)
     * </pre>
     *
     * @param candidate [N]; not modified
     * @param reference [N]; not modified
     * @param termNorm  ||T||_2: finite and {@code >= 0} (0: the plain normwise relative error)
     * @throws IllegalArgumentException naming termNorm when it is NaN, negative or infinite (an infinite
     *                                  denominator would accept anything)
     */
    public static double normwiseRelative(double[] candidate, double[] reference, double termNorm) {
        if (!(termNorm >= 0.0) || termNorm == Double.POSITIVE_INFINITY) {
            throw new IllegalArgumentException("termNorm: must be finite and >= 0, got " + termNorm);
        }
        double diff = normOfDifference(candidate, reference);
        double denominator = Math.max(normOfDifference(reference, null), termNorm);
        return denominator == 0.0 ? diff : diff / denominator;
    }

    /** Largest |candidate - reference| (NaN if any element is NaN). */
    public static double maxAbs(double[] candidate, double[] reference) {
        double m = 0;
        for (int n = 0; n < candidate.length; n++) {
            double t = Math.abs(candidate[n] - reference[n]);
            if (Double.isNaN(t)) {
                return Double.NaN;
            }
            m = Math.max(m, t);
        }
        return m;
    }

    /** Index of the largest |candidate - reference| (the first NaN if any). */
    public static int worstIndex(double[] candidate, double[] reference) {
        int worst = 0;
        double m = -1;
        for (int n = 0; n < candidate.length; n++) {
            double t = Math.abs(candidate[n] - reference[n]);
            if (Double.isNaN(t)) {
                return n;
            }
            if (t > m) {
                m = t;
                worst = n;
            }
        }
        return worst;
    }
}
