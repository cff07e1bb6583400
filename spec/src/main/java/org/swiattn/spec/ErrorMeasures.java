package org.swiattn.spec;

/**
 * The error measures of the tolerance policy (SPEC.md section "Tolerance policy").
 *
 * <pre>
 *   normwise relative error  e(x, ref) = ||x - ref||_2 / ||ref||_2      (= ||x - ref||_2 when ref == 0)
 * </pre>
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
     * Normwise relative error of a candidate against a reference.
     *
     * @param candidate [N]; not modified
     * @param reference [N]; not modified
     */
    public static double normwiseRelative(double[] candidate, double[] reference) {
        double diff = normOfDifference(candidate, reference);
        double ref = normOfDifference(reference, null);
        return ref == 0.0 ? diff : diff / ref;
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
