package org.swiattn.properties;

import org.swiattn.spec.ErrorMeasures;

/**
 * The comparisons of the suite, each failing with a message that says what was compared, the error, the bound and
 * where the worst element is.
 *
 * <pre>
 *   relative error  e(x, ref; T) = ||x - ref||_2 / max(||ref||_2, ||T||_2)            (spec 1.1, SPEC.md 10)
 *   LSE error       e(x, ref; T) = ||x - ref||_2 / max(||ref||_2, ||T||_2, sqrt(n))
 * </pre>
 * T is the term-magnitude tensor of the expected value ({@link org.swiattn.reference.TermMagnitudes}): the same
 * formula on absolute values. Every comparison takes its norm ||T|| (termNorm): a computed sum is accurate relative
 * to the size of its terms, not of a result that cancelled to (near) zero. termNorm = 0 gives the plain normwise
 * relative error of spec 1.0.
 *
 * <p>LSE is a logarithm: its absolute error is what matters (an absolute error e in lse is a relative error e in
 * exp(lse) and in every attention weight), and an LSE vector can be near zero (S = 1, small scores) where a plain
 * relative error means nothing. The floor sqrt(n) makes the LSE error an RMS absolute error whenever the LSE values
 * are below 1 in RMS, and a normwise relative error otherwise (a suite choice, looser than the spec only there).
 */
public final class Checks {
    private Checks() {
    }

    /** ||x||_2 (a term norm from a term-magnitude tensor). @param x [N]; not modified */
    public static double norm(double[] x) {
        return ErrorMeasures.normOfDifference(x, null);
    }

    /**
     * Normwise relative error with the term-size allowance.
     *
     * @param x        [N]; not modified
     * @param ref      [N]; not modified
     * @param termNorm ||T||, T the term-magnitude tensor of ref; {@code >= 0}
     */
    public static double relativeError(double[] x, double[] ref, double termNorm) {
        return ErrorMeasures.normwiseRelative(x, ref, termNorm);
    }

    /**
     * LSE error (see the class comment).
     *
     * @param x        [N]; not modified
     * @param ref      [N]; not modified
     * @param termNorm ||T_LSE||; {@code >= 0}
     */
    public static double lseError(double[] x, double[] ref, double termNorm) {
        double diff = ErrorMeasures.normOfDifference(x, ref);
        double floor = Math.max(Math.max(ErrorMeasures.normOfDifference(ref, null), termNorm),
                Math.sqrt(ref.length));
        return ref.length == 0 ? diff : diff / floor;
    }

    /**
     * Requires {@code relativeError(actual, expected, termNorm) <= bound}; returns the error.
     *
     * @param actual   [N]; not modified
     * @param expected [N]; not modified
     * @param termNorm ||T|| of the expected value (0: the plain normwise relative error)
     * @param context  printed on failure (the case, the inputs)
     */
    public static double close(String what, double[] actual, double[] expected, double bound, double termNorm,
                               Object context) {
        requireSameLength(what, actual, expected);
        double e = relativeError(actual, expected, termNorm);
        require(what + " (normwise relative error, term norm " + String.format("%.3e", termNorm) + ")", e, bound,
                actual, expected, context);
        return e;
    }

    /**
     * Requires {@code ||actual - expected|| <= rel * ||expected|| + abs} (a relative bound with an absolute floor, for
     * comparisons with numerical estimates whose noise does not shrink with the expected value); returns the
     * normwise error ||actual - expected|| / (rel * ||expected|| + abs) relative to the allowance.
     *
     * @param actual   [N]; not modified
     * @param expected [N]; not modified
     */
    public static double closeWithFloor(String what, double[] actual, double[] expected, double rel, double abs,
                                        Object context) {
        requireSameLength(what, actual, expected);
        double diff = ErrorMeasures.normOfDifference(actual, expected);
        double allowed = rel * ErrorMeasures.normOfDifference(expected, null) + abs;
        require(what + " (||actual - expected|| / allowance, allowance = " + rel + " ||expected|| + " + abs + ")",
                diff / allowed, 1.0, actual, expected, context);
        return diff / allowed;
    }

    /**
     * Requires {@code lseError(actual, expected, termNorm) <= bound}; returns the error.
     *
     * @param actual   [N]; not modified
     * @param expected [N]; not modified
     * @param termNorm ||T_LSE|| of the expected value
     */
    public static double lseClose(String what, double[] actual, double[] expected, double bound, double termNorm,
                                  Object context) {
        requireSameLength(what, actual, expected);
        double e = lseError(actual, expected, termNorm);
        require(what + " (LSE error)", e, bound, actual, expected, context);
        return e;
    }

    /**
     * Requires actual and expected to hold the same doubles, element by element (bit for bit up to the sign of a
     * zero, which no arithmetic downstream can tell apart; NaN equals NaN); fails with the first that differs.
     *
     * @param actual   [N]; not modified
     * @param expected [N]; not modified
     */
    public static void identical(String what, double[] actual, double[] expected, Object context) {
        requireSameLength(what, actual, expected);
        for (int n = 0; n < actual.length; n++) {
            if (actual[n] != expected[n] && !(Double.isNaN(actual[n]) && Double.isNaN(expected[n]))) {
                throw new AssertionError(String.format("%s: not the same doubles; first difference at [%d]: actual "
                        + "%.17g, expected %.17g%n  case: %s", what, n, actual[n], expected[n], context));
            }
        }
    }

    /** Requires every element of x to be exactly 0 (+0.0 or -0.0); fails with the first that is not. */
    public static void zero(String what, double[] x, Object context) {
        for (int n = 0; n < x.length; n++) {
            if (x[n] != 0.0) {
                throw new AssertionError(String.format("%s: must be exactly 0, element [%d] is %.17g%n  case: %s",
                        what, n, x[n], context));
            }
        }
    }

    /** Requires {@code ok}, else fails with the message and the context. */
    public static void that(boolean ok, String message, Object context) {
        if (!ok) {
            throw new AssertionError(message + "\n  case: " + context);
        }
    }

    private static void requireSameLength(String what, double[] actual, double[] expected) {
        if (actual.length != expected.length) {
            throw new AssertionError(what + ": length " + actual.length + ", expected " + expected.length);
        }
    }

    private static void require(String what, double e, double bound, double[] actual, double[] expected,
                                Object context) {
        if (!(e <= bound)) {
            int n = ErrorMeasures.worstIndex(actual, expected);
            throw new AssertionError(String.format(
                    "%s: error %.3e > bound %.3e; worst element [%d]: actual %.17g, expected %.17g%n  case: %s",
                    what, e, bound, n, actual.length > 0 ? actual[n] : Double.NaN,
                    expected.length > 0 ? expected[n] : Double.NaN, context));
        }
    }
}
