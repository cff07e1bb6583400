package org.swiattn.spec;

/**
 * The router's sigmoid, the one definition every module calls (SPEC.md section "Router").
 *
 * <pre>{@code
 *   of(a)         = sigmoid(a)  = 1 / (1 + e^-a)
 *   complement(a) = 1 - sigmoid(a) = sigmoid(-a)
 * }</pre>
 * Both are evaluated without overflow for every finite a, and {@code complement} never subtracts: when p is close
 * to 1, {@code 1 - p} computed as a difference keeps only the bits of p that were not rounded away (for a = 30,
 * 1 - p = 9.4e-14 is known to 3 digits), while {@code sigmoid(-a)} is accurate to the last bit.
 */
public final class Sigmoid {
    private Sigmoid() {
    }

    /** p = sigmoid(a) = 1 / (1 + e^-a), without overflow for any finite a. */
    public static double of(double a) {
        return a >= 0 ? 1.0 / (1.0 + Math.exp(-a)) : Math.exp(a) / (1.0 + Math.exp(a));
    }

    /** 1 - sigmoid(a), computed as sigmoid(-a) (no cancellation when p is close to 1). */
    public static double complement(double a) {
        return of(-a);
    }
}
