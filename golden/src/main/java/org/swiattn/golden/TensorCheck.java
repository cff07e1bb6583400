package org.swiattn.golden;

import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Precision;

/**
 * One row of a comparison table: a candidate (or regenerated) tensor against the golden one.
 *
 * <pre>
 *   maxAbs    max_n |x_n - ref_n|
 *   relErr    ||x - ref||_2 / ||ref||_2   (||x - ref|| when ref = 0); with the term sizes T of SPEC.md section 10,
 *             ||x - ref||_2 / max(||ref||_2, ||T||_2)
 *   worst     position of the largest |x_n - ref_n|, e.g. "b=0 i=5 h=1 d=3"
 *   bound     the tolerance bound of relErr
 *   termNorm  ||T|| of relErr's denominator, 0 when it is ||ref|| alone
 * </pre>
 */
public record TensorCheck(String tensor, String dtype, long elements, double maxAbs, double relErr, String worst,
                          double bound, boolean pass, String note, double termNorm) {

    /**
     * The absolute error the tensor may have: bound * max(||ref||, ||T||) (bound alone where both are 0).
     *
     * @param refNorm ||ref||
     */
    public double budget(double refNorm) {
        double den = Math.max(refNorm, termNorm);
        return bound * (den == 0 ? 1 : den);
    }

    /**
     * Compares two arrays of equal length.
     *
     * @param candidate [N]; not modified
     * @param reference [N]; not modified
     * @param layout    names the positions of flat indices
     */
    public static TensorCheck of(String tensor, String dtype, double[] candidate, double[] reference, Layout layout,
                                 double bound, String note) {
        return of(tensor, dtype, candidate, reference, 0.0, layout, bound, note);
    }

    /**
     * Compares two arrays of equal length with the term-size denominator of SPEC.md section 10: relErr is
     * ||x - ref|| / max(||ref||, termNorm).
     *
     * @param candidate [N]; not modified
     * @param reference [N]; not modified
     * @param termNorm  ||T|| of the reference tensor (0: ||ref|| alone)
     */
    public static TensorCheck of(String tensor, String dtype, double[] candidate, double[] reference, double termNorm,
                                 Layout layout, double bound, String note) {
        int nonFinite = 0;
        int first = -1;
        for (int n = 0; n < candidate.length; n++) {
            if (!Double.isFinite(candidate[n])) {
                nonFinite++;
                first = first < 0 ? n : first;
            }
        }
        if (nonFinite > 0) {   // the error is infinite; a scaled norm would report inf/inf = NaN
            String what = nonFinite + " non-finite value" + (nonFinite == 1 ? "" : "s") + " (first: "
                    + candidate[first] + " at " + layout.position(first) + ")";
            return new TensorCheck(tensor, dtype, candidate.length, Double.POSITIVE_INFINITY,
                    Double.POSITIVE_INFINITY, layout.position(first), bound, false,
                    note == null || note.isEmpty() ? what : note + "; " + what, termNorm);
        }
        double rel = ErrorMeasures.normwiseRelative(candidate, reference, termNorm);
        double maxAbs = ErrorMeasures.maxAbs(candidate, reference);
        int worst = ErrorMeasures.worstIndex(candidate, reference);
        boolean pass = rel <= bound;
        return new TensorCheck(tensor, dtype, candidate.length, maxAbs, rel, layout.position(worst), bound, pass,
                note, termNorm);
    }

    /**
     * Unit roundoff of a floating storage format: 2^-53 (F64), 2^-24 (F32), 2^-11 (F16), 2^-8 (BF16); rounding a
     * value to the format changes it by at most this much relatively.
     */
    public static double storageRoundoff(Dtype dtype) {
        return switch (dtype) {
            case F64 -> 0x1p-53;
            case F32 -> 0x1p-24;
            case F16 -> 0x1p-11;
            case BF16 -> 0x1p-8;
            default -> throw new IllegalArgumentException("dtype: not a floating format, got " + dtype);
        };
    }

    /**
     * Unit roundoff of the format the naive yardstick ({@code NaiveAttention}) stores a golden output in: bf16
     * keeps O, dQ, dK, dV in bf16 and the LSE and the router gradient in fp32 (its accumulation precision); fp32
     * keeps everything in fp32. A candidate storing a tensor more coarsely gains {@link
     * org.swiattn.spec.Tolerance#withStorage} (SPEC.md section 10).
     */
    public static double yardstickRoundoff(Precision precision, String tensor) {
        String base = tensor.endsWith("_rows") ? tensor.substring(0, tensor.length() - 5) : tensor;
        boolean fp32Kept = base.equals("lse") || base.equals("lse_all") || base.equals("d_router_logit");
        return precision == Precision.BF16 && fp32Kept ? Precision.FP32.storageRoundoff() : precision.storageRoundoff();
    }

    /** Names positions of flat indices of a tensor: dimension labels, sizes, and optional row numbers. */
    public record Layout(String[] labels, long[] sizes, int[] rows) {
        /** "b=0 i=5 h=1 d=3" for a flat index; for row tensors the first label is "i" and maps through rows. */
        public String position(long index) {
            if (sizes.length == 0) {
                return "-";
            }
            long[] at = new long[sizes.length];
            long rest = index;
            for (int d = sizes.length - 1; d >= 0; d--) {
                at[d] = sizes[d] == 0 ? 0 : rest % sizes[d];
                rest = sizes[d] == 0 ? 0 : rest / sizes[d];
            }
            StringBuilder sb = new StringBuilder();
            for (int d = 0; d < sizes.length; d++) {
                if (d > 0) {
                    sb.append(' ');
                }
                long v = at[d];
                if (d == 0 && rows != null && v < rows.length) {
                    v = rows[(int) v];
                }
                sb.append(labels[d]).append('=').append(v);
            }
            return sb.toString();
        }
    }

    /** The layout of a golden tensor by name. */
    public static Layout layout(String tensor, long[] shape, int[] rows) {
        String base = tensor.endsWith("_rows") ? tensor.substring(0, tensor.length() - 5) : tensor;
        String[] labels = switch (base) {
            case "o", "dq", "q", "do" -> tensor.endsWith("_rows") ? new String[] {"i", "h", "d"}
                    : new String[] {"b", "i", "h", "d"};
            case "dk", "dv", "k", "v" -> tensor.endsWith("_rows") ? new String[] {"i", "g", "d"}
                    : new String[] {"b", "i", "g", "d"};
            case "lse" -> tensor.endsWith("_rows") ? new String[] {"i", "h"} : new String[] {"b", "i", "h"};
            case "lse_all", "route", "router_logits" -> new String[] {"b", "i"};
            case "d_router_logit" -> tensor.endsWith("_rows") ? new String[] {"i"} : new String[] {"b", "i"};
            default -> new String[] {"b", "i", "x", "y"};
        };
        if (labels.length != shape.length) {
            labels = new String[shape.length];
            for (int d = 0; d < shape.length; d++) {
                labels[d] = "n" + d;
            }
        }
        return new Layout(labels, shape, tensor.endsWith("_rows") ? rows : null);
    }
}
