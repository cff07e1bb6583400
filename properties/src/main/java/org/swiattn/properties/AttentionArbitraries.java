package org.swiattn.properties;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

import org.swiattn.properties.AttentionCase.RouteKind;
import org.swiattn.properties.AttentionCase.ScaleKind;
import org.swiattn.properties.AttentionCase.WindowKind;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Shape;

/**
 * The named generators of the suite. The property classes expose them with {@code @Provide} methods of the same
 * names ({@link AttentionPropertiesBase}); {@link CaseStatistics} proves that the edges below really occur.
 *
 * <p>Edges generated on purpose (each with a probability of at least about 8% in {@link #cases()}):
 * <pre>
 *   S     = 1, 2..4, 5..12, 13..24
 *   w     = 1, S-1, S, S+1, inside [1, S], far beyond S          ({@link WindowKind})
 *   G     = Hq/Hkv in {1, 2, 4, 8}, Hkv in {1, 2, 3}
 *   D     = 1, 2..8, 9..32, 33..128, 129..255, 256
 *   route = all-full, all-window, alternating, random (with a == 0 ties) ({@link RouteKind})
 *   B     = 1, 2
 *   scale = 1/sqrt(D) (70%), or 10^x with x in [-2, 0.6] (30%)
 *   a     = router logits of magnitude 0.05..3, exact zeros, and saturating 40, 800, 1e30 now and then
 * </pre>
 * The edges come from the explicit frequencies above, not from jqwik's edge-case injection: the kinds (window,
 * route, estimator, scale), the seeds and the picks are drawn without it, so they stay equally likely (jqwik
 * would otherwise inject the first and the last enum constant in about a third of the tries), and a combined case
 * then has no jqwik edge cases either. {@link CaseStatistics#checkCoverage} proves every edge occurs.
 *
 * <p>Shapes stay small (B*S*Hq*D at most about 200K, S at most 24) so the reference answers in milliseconds; the
 * oracle and finite-difference generators are smaller still.
 */
public final class AttentionArbitraries {
    private AttentionArbitraries() {
    }

    /** B: mostly 1, sometimes 2 (batch elements must not interact). */
    public static Arbitrary<Integer> batches() {
        return Arbitraries.frequencyOf(Tuple.of(7, Arbitraries.just(1)), Tuple.of(3, Arbitraries.just(2)));
    }

    /** S: 1, 2..4, 5..12, 13..24. */
    public static Arbitrary<Integer> seqLens() {
        return Arbitraries.frequencyOf(
                Tuple.of(15, Arbitraries.just(1)),
                Tuple.of(20, Arbitraries.integers().between(2, 4)),
                Tuple.of(45, Arbitraries.integers().between(5, 12)),
                Tuple.of(20, Arbitraries.integers().between(13, 24)));
    }

    /** G = Hq/Hkv in {1, 2, 4, 8}, equally likely. */
    public static Arbitrary<Integer> groupSizes() {
        return Arbitraries.of(1, 2, 4, 8);
    }

    /** Hkv in {1, 2, 3}. */
    public static Arbitrary<Integer> kvHeadCounts() {
        return Arbitraries.frequencyOf(Tuple.of(6, Arbitraries.just(1)), Tuple.of(3, Arbitraries.just(2)),
                Tuple.of(1, Arbitraries.just(3)));
    }

    /** D from 1 to 256: 1, 2..8, 9..32, 33..128, 129..255, 256. */
    public static Arbitrary<Integer> headDims() {
        return Arbitraries.frequencyOf(
                Tuple.of(12, Arbitraries.just(1)),
                Tuple.of(36, Arbitraries.integers().between(2, 8)),
                Tuple.of(16, Arbitraries.integers().between(9, 32)),
                Tuple.of(12, Arbitraries.integers().between(33, 128)),
                Tuple.of(12, Arbitraries.integers().between(129, 255)),
                Tuple.of(12, Arbitraries.just(256)));
    }

    /** The window kinds, equally likely. */
    public static Arbitrary<WindowKind> windowKinds() {
        return Arbitraries.of(WindowKind.class).withoutEdgeCases();
    }

    /** The route kinds, equally likely. */
    public static Arbitrary<RouteKind> routeKinds() {
        return Arbitraries.of(RouteKind.class).withoutEdgeCases();
    }

    /**
     * The estimators, equally likely. (jqwik would otherwise inject the first and last enum constants as edge
     * cases in about a third of the tries.)
     */
    public static Arbitrary<Estimator> estimators() {
        return Arbitraries.of(Estimator.class).withoutEdgeCases();
    }

    /** Scale kinds: mostly the default 1/sqrt(D), sometimes a custom scale from 0.01 to about 4. */
    public static Arbitrary<ScaleKind> scaleKinds() {
        return Arbitraries.frequency(Tuple.of(7, ScaleKind.DEFAULT), Tuple.of(3, ScaleKind.CUSTOM)).withoutEdgeCases();
    }

    /** Value magnitudes: mostly 1, sometimes 4 (scores up to about 16 * sqrt(D)). */
    public static Arbitrary<Double> magnitudes() {
        return Arbitraries.frequencyOf(Tuple.of(8, Arbitraries.just(1.0)), Tuple.of(2, Arbitraries.just(4.0)));
    }

    /** Seeds of the tensors. */
    public static Arbitrary<Long> seeds() {
        return Arbitraries.longs().withoutEdgeCases();
    }

    /** A number in [0, 1) that picks w inside its window kind. */
    public static Arbitrary<Double> picks() {
        return Arbitraries.integers().between(0, 999).withoutEdgeCases().map(n -> n / 1000.0);
    }

    /** Shapes from the general ranges above. */
    public static Arbitrary<Shape> shapes() {
        return Combinators.combine(batches(), seqLens(), groupSizes(), kvHeadCounts(), headDims())
                .as((b, s, g, hkv, d) -> new Shape(b, s, g * hkv, hkv, d));
    }

    /** The general cases: every edge of the class comment, any estimator. */
    public static Arbitrary<AttentionCase> cases() {
        return casesOf(shapes());
    }

    /** General cases built on the given shapes. */
    public static Arbitrary<AttentionCase> casesOf(Arbitrary<Shape> shapes) {
        return casesOf(shapes, windowKinds());
    }

    /** General cases built on the given shapes and window kinds. */
    public static Arbitrary<AttentionCase> casesOf(Arbitrary<Shape> shapes, Arbitrary<WindowKind> windowKinds) {
        return Combinators.combine(shapes, windowKinds, picks(), routeKinds(), estimators(), scaleKinds(),
                        magnitudes(), seeds())
                .as(AttentionCase::new);
    }

    /**
     * Cases whose window really cuts keys off some window-routed row: {@code w < S} and at least one token
     * {@code i >= w} routed to the window branch (for window-locality).
     */
    public static Arbitrary<AttentionCase> windowCuttingCases() {
        Arbitrary<Shape> atLeastTwo = Combinators.combine(batches(), Arbitraries.integers().between(2, 16),
                        groupSizes(), kvHeadCounts(), headDims())
                .as((b, s, g, hkv, d) -> new Shape(b, s, g * hkv, hkv, d));
        return casesOf(atLeastTwo).filter(AttentionArbitraries::hasCutWindowRow);
    }

    /** Whether some window-routed token i has keys cut off ({@code i >= w}). */
    static boolean hasCutWindowRow(AttentionCase c) {
        double[] a = c.logits();
        for (int r = 0; r < a.length; r++) {
            if (!(a[r] > 0) && r % c.shape().seqLen() >= c.window()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Medium sequences at the scale of GPU tiles: B = 1, S in [33, 200] with the tile edges 63, 64, 65, 127, 128,
     * 129 on purpose, G in {1, 2, 4}, Hkv in {1, 2}, D in {1..16, 64, 128}. Few tries each: one case costs
     * about as much as a hundred general ones.
     */
    public static Arbitrary<AttentionCase> mediumCases() {
        Arbitrary<Integer> s = Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.of(63, 64, 65, 127, 128, 129)),
                Tuple.of(1, Arbitraries.integers().between(33, 200)));
        Arbitrary<Integer> d = Arbitraries.frequencyOf(
                Tuple.of(1, Arbitraries.integers().between(1, 16)),
                Tuple.of(1, Arbitraries.of(64, 128)));
        Arbitrary<Shape> medium = Combinators.combine(s, Arbitraries.of(1, 2, 4), Arbitraries.of(1, 2), d)
                .as((n, g, hkv, dim) -> new Shape(1, n, g * hkv, hkv, dim));
        return casesOf(medium);
    }

    /**
     * Tiny cases for finite differences: B 1..2, S 1..5, G in {1, 2, 4}, Hkv 1..2, D 1..4 (at most a few hundred
     * scalar inputs, each perturbed four times).
     */
    public static Arbitrary<AttentionCase> tinyCases() {
        Arbitrary<Shape> tiny = Combinators.combine(batches(), Arbitraries.integers().between(1, 5),
                        Arbitraries.of(1, 2, 4), Arbitraries.integers().between(1, 2),
                        Arbitraries.integers().between(1, 4))
                .as((b, s, g, hkv, d) -> new Shape(b, s, g * hkv, hkv, d));
        return casesOf(tiny);
    }

    /**
     * Cases small enough for the arbitrary-precision oracle (S*S*Hq*D up to about 2*10^4): D up to 16 with S up to
     * 10, and D in {64, 256} with S up to 4 and Hq up to 2.
     */
    public static Arbitrary<AttentionCase> oracleCases() {
        Arbitrary<Shape> small = Combinators.combine(batches(), Arbitraries.integers().between(1, 10),
                        groupSizes(), Arbitraries.integers().between(1, 2),
                        Arbitraries.frequencyOf(Tuple.of(2, Arbitraries.just(1)),
                                Tuple.of(6, Arbitraries.integers().between(2, 16))))
                .as((b, s, g, hkv, d) -> new Shape(b, s, g * hkv, hkv, d))
                .filter(sh -> sh.qHeads() <= 8);
        Arbitrary<Shape> wide = Combinators.combine(Arbitraries.integers().between(1, 4), Arbitraries.of(1, 2),
                        Arbitraries.of(64, 256))
                .as((s, hq, d) -> new Shape(1, s, hq, 1, d));
        return casesOf(Arbitraries.frequencyOf(Tuple.of(8, small), Tuple.of(2, wide)));
    }

    /**
     * Target score magnitudes M = max |s_ij| for the overflow property: 10^e with e uniform in [0, 4], plus the
     * edges 1e2, 1e3, 1e4.
     */
    public static Arbitrary<Double> scoreMagnitudes() {
        return Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.integers().between(0, 400).map(e -> Math.pow(10, e / 100.0))),
                Tuple.of(6, Arbitraries.of(1e2, 1e3, 1e4)));
    }
}
