package org.swiattn.spec;

/**
 * The normative tolerance policy (SPEC.md section 10, spec 1.1). Every comparison of a candidate tensor with the
 * fp64 reference is a normwise relative error with the term-size allowance
 * e = ||x - ref|| / max(||ref||, ||T||) ({@link ErrorMeasures#normwiseRelative(double[], double[], double)}, T the
 * term-magnitude tensor of the reference), judged by:
 *
 * <pre>{@code
 *   FP64        e <= FP64_REL * max(1, M)                  M = max |s_ij| over visible pairs (score magnitude)
 *   FP32, BF16  e <= LOW_PRECISION_FACTOR * e_naive + atol(precision) + 8 * 2^-24 * M
 * }</pre>
 * where e_naive is the error of the naive implementation in the same precision on the same inputs (reference
 * module, {@code NaiveAttention}), measured with the same denominator - the FlashAttention rule - and atol is a
 * noise floor; the last term admits the fp32 rounding of a stored log-sum-exp (spec 1.1). The factor max(1, M) for fp64 is the relative condition number of softmax: an absolute error u*M in
 * a score becomes a relative error of that size in the weights. Tools without T (the golden verifier and checker)
 * divide by ||ref|| alone, which is never looser.
 */
public final class Tolerance {
    /** Normwise relative bound for fp64 candidates, before the score-magnitude factor. */
    public static final double FP64_REL = 1e-12;
    /** Factor over the naive same-precision error (FlashAttention uses 2). */
    public static final double LOW_PRECISION_FACTOR = 2.0;
    /** Noise floor for fp32 candidates (normwise relative). */
    public static final double ATOL_FP32 = 1e-6;
    /** Noise floor for bf16 candidates (normwise relative). */
    public static final double ATOL_BF16 = 1e-3;
    /** Unit roundoff of the fp32 accumulation of fp32 and bf16 candidates, 2^-24. */
    public static final double FP32_UNIT_ROUNDOFF = 0x1p-24;
    /**
     * Factor of the low-precision score-magnitude term {@code c * u_fp32 * M} (spec 1.1): a candidate that carries
     * the log-sum-exp (or a score) in fp32, as FlashAttention's backward does, has absolute error ~ u * |lse| in
     * every exponent, a relative error of that size in the weights, which the naive implementation (which never
     * stores an LSE) can be free of.
     */
    public static final double LOW_PRECISION_SCORE_FACTOR = 8.0;

    private Tolerance() {
    }

    /** The verdict of one tensor comparison. */
    public record Verdict(double error, double bound, boolean pass) {
    }

    /**
     * Judges a candidate's error.
     *
     * @param precision      the candidate's precision
     * @param error          normwise relative error of the candidate vs the fp64 reference
     * @param naiveError     normwise relative error of the naive same-precision implementation, with the same
     *                       denominator as error (ignored for FP64)
     * @param scoreMagnitude M = max |s_ij| over visible pairs (used for FP64 only)
     */
    public static Verdict judge(Precision precision, double error, double naiveError, double scoreMagnitude) {
        double bound = bound(precision, naiveError, scoreMagnitude);
        return new Verdict(error, bound, error <= bound);
    }

    /** The low-precision score-magnitude term c * u_fp32 * M (0 for M = 0, e.g. when a tool does not know M). */
    static double scoreTerm(double scoreMagnitude) {
        if (!(scoreMagnitude >= 0)) {
            throw new IllegalArgumentException("scoreMagnitude: must be >= 0, got " + scoreMagnitude);
        }
        return LOW_PRECISION_SCORE_FACTOR * FP32_UNIT_ROUNDOFF * scoreMagnitude;
    }

    /**
     * The bound of a low-precision (fp32, bf16) candidate's tensor stored in a format coarser than the naive
     * yardstick keeps it in (SPEC.md section 10, [ours]): e.g. a bf16 LSE, which the yardstick keeps in fp32.
     * Rounding x to a format of unit roundoff u changes every element by at most u |x|, so
     *
     * <pre>{@code
     *   ||fl(x) - ref|| <= u ||x|| + ||x - ref|| <= u ||ref|| + (1 + u) ||x - ref||
     *   e(fl(x)) <= u + (1 + u) * bound
     * }</pre>
     *
     * @param bound            the bound of {@link #bound} for the tensor
     * @param storageRoundoff  u of the candidate's storage format (2^-8 bf16, 2^-11 fp16)
     * @param yardstickRoundoff u of the format the naive implementation stores the tensor in
     * @return the bound, widened only when {@code storageRoundoff > yardstickRoundoff}
     */
    public static double withStorage(double bound, double storageRoundoff, double yardstickRoundoff) {
        if (!(storageRoundoff >= 0 && storageRoundoff < 1) || !(yardstickRoundoff >= 0 && yardstickRoundoff < 1)) {
            throw new IllegalArgumentException("storageRoundoff, yardstickRoundoff: must be in [0, 1), got "
                    + storageRoundoff + ", " + yardstickRoundoff);
        }
        return storageRoundoff > yardstickRoundoff ? storageRoundoff + (1 + storageRoundoff) * bound : bound;
    }

    /** The bound of {@link #judge}. */
    public static double bound(Precision precision, double naiveError, double scoreMagnitude) {
        switch (precision) {
            case FP64:
                return FP64_REL * Math.max(1.0, scoreMagnitude);
            case FP32:
                return LOW_PRECISION_FACTOR * naiveError + ATOL_FP32 + scoreTerm(scoreMagnitude);
            case BF16:
                return LOW_PRECISION_FACTOR * naiveError + ATOL_BF16 + scoreTerm(scoreMagnitude);
            default:
                throw new IllegalArgumentException("precision: unknown " + precision);
        }
    }
}
