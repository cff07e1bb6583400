package org.swiattn.properties;

import java.util.SplittableRandom;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Route;
import org.swiattn.spec.Shape;

/**
 * Every bad input of SPEC.md section 9 is rejected with an {@link InvalidInputException} whose
 * {@link InvalidInputException#argument()} names the argument and whose message carries the offending value or
 * index. Nothing is silently clamped.
 *
 * <pre>{@code
 *   argument        bad input                                                 where it is caught
 *   q, k, v         wrong length, null, NaN or +-Inf (message: the index)     AttentionInputs.build
 *   qHeads          Hq % Hkv != 0                                             Shape
 *   headDim, ...    D < 1 (and B, S, Hq, Hkv < 1)                         Shape
 *   window          w < 1, or not given                                    AttentionInputs.build
 *   route           mask of the wrong length; route of another B or S;        Route / AttentionInputs.build
 *                   a mask-only route for an estimator that needs logits
 *   routerLogits    wrong length, NaN or +-Inf                                Route.ofLogits
 *   scale           NaN, +-Inf, 0, -0.0, negative                             AttentionInputs.build
 *   dOut            wrong length, null, non-finite                            implementation().backward
 *   rows            an index outside [0, B*S)                                 implementation().forwardRows
 * }</pre>
 * The last two go through the implementation under test; the others through the spec's validation, which every
 * implementation shares because it can only be called with validated {@link AttentionInputs}.
 */
public abstract class ValidationProperties extends AttentionPropertiesBase {

    /** Runs the action and returns the InvalidInputException it must throw. */
    static InvalidInputException rejected(Runnable action, Object context) {
        return thrown(InvalidInputException.class, action, "bad input was accepted", context);
    }

    /**
     * Runs the action and returns the exception of the given type it must throw; fails with {@code ifNone} when it
     * throws nothing, and with the exception when it throws another.
     */
    static <E extends RuntimeException> E thrown(Class<E> type, Runnable action, String ifNone, Object context) {
        try {
            action.run();
        } catch (RuntimeException e) {
            if (type.isInstance(e)) {
                return type.cast(e);
            }
            throw new AssertionError("expected " + type.getSimpleName() + ", got " + e + "\n  case: " + context, e);
        }
        throw new AssertionError(ifNone + "\n  case: " + context);
    }

    /** Requires the exception to name the argument and to mention every one of the offending details. */
    static void names(InvalidInputException e, String argument, Object context, Object... details) {
        Checks.that(argument.equals(e.argument()), "argument() is '" + e.argument() + "', expected '" + argument
                + "' (message: " + e.getMessage() + ")", context);
        Checks.that(e.getMessage().contains(argument), "message does not name '" + argument + "': "
                + e.getMessage(), context);
        for (Object d : details) {
            Checks.that(e.getMessage().contains(String.valueOf(d)), "message does not mention '" + d + "': "
                    + e.getMessage(), context);
        }
    }

    /** Non-finite doubles. */
    @Provide
    Arbitrary<Double> nonFinite() {
        return Arbitraries.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY);
    }

    /** Scales that are not finite and positive. */
    @Provide
    Arbitrary<Double> badScales() {
        return Arbitraries.oneOf(Arbitraries.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY,
                        0.0, -0.0, -Double.MIN_VALUE, -Double.MAX_VALUE),
                Arbitraries.doubles().between(-1e6, -1e-6).ofScale(12));
    }

    /** Windows below 1. */
    @Provide
    Arbitrary<Integer> badWindows() {
        return Arbitraries.oneOf(Arbitraries.of(0, -1, Integer.MIN_VALUE), Arbitraries.integers().lessOrEqual(0));
    }

    /** A tensor of q, k, v whose length is not the shape's (or null) is rejected, naming the tensor. */
    @Property(tries = 50)
    @Label("q, k, v of the wrong length (or null) are rejected")
    void tensorsOfTheWrongLengthAreRejected(@ForAll("cases") AttentionCase c) {
        SplittableRandom rnd = c.random(20);
        String which = new String[] {"q", "k", "v"}[rnd.nextInt(3)];
        int good = which.equals("q") ? c.shape().qSize() : c.shape().kvSize();
        int[] lengths = {good - 1, good + 1, 2 * good, 0, -1};
        int len = lengths[rnd.nextInt(lengths.length)];
        double[] bad = len < 0 ? null : new double[len];
        AttentionInputs.Builder b = c.inputs().toBuilder();
        switch (which) {
            case "q":
                b.q(bad);
                break;
            case "k":
                b.k(bad);
                break;
            default:
                b.v(bad);
                break;
        }
        CaseStatistics.record("bad tensor", which + (bad == null ? " null" : " length"));
        InvalidInputException e = rejected(b::build, c);
        if (bad == null) {
            names(e, which, c, "null");
        } else {
            names(e, which, c, len);
        }
    }

    /** Hq % Hkv != 0 is rejected, naming qHeads and both counts. */
    @Property(tries = 50)
    @Label("Hq % Hkv != 0 is rejected")
    void headCountsThatDoNotDivideAreRejected(@ForAll("cases") AttentionCase c) {
        Shape sh = c.shape();
        int hkv = 2 + c.random(21).nextInt(7);
        int hq = hkv * (1 + c.random(22).nextInt(3)) + 1 + c.random(23).nextInt(hkv - 1);
        InvalidInputException e = rejected(() -> new Shape(sh.batch(), sh.seqLen(), hq, hkv, sh.headDim()), c);
        names(e, "qHeads", c, hq, hkv);
    }

    /** {@code D < 1} (and {@code B, S, Hq, Hkv < 1}) is rejected, naming the size and its value. */
    @Property(tries = 50)
    @Label("D < 1 (and B, S, Hq, Hkv < 1) is rejected")
    void nonPositiveSizesAreRejected(@ForAll("cases") AttentionCase c, @ForAll("badWindows") int bad) {
        Shape sh = c.shape();
        String[] names = {"headDim", "batch", "seqLen", "qHeads", "kvHeads"};
        String which = names[c.random(24).nextInt(names.length)];
        CaseStatistics.record("bad size", which);
        InvalidInputException e = rejected(() -> new Shape(
                which.equals("batch") ? bad : sh.batch(),
                which.equals("seqLen") ? bad : sh.seqLen(),
                which.equals("qHeads") ? bad : sh.qHeads(),
                which.equals("kvHeads") ? bad : sh.kvHeads(),
                which.equals("headDim") ? bad : sh.headDim()), c);
        names(e, which, c, bad);
    }

    /** {@code w < 1} is rejected, naming window and its value; so is a missing window. */
    @Property(tries = 50)
    @Label("w < 1 (or no window) is rejected")
    void windowsBelowOneAreRejected(@ForAll("cases") AttentionCase c, @ForAll("badWindows") int w) {
        names(rejected(() -> c.inputs().toBuilder().window(w).build(), c), "window", c, w);
        AttentionInputs in = c.inputs();
        names(rejected(() -> AttentionInputs.builder(in.shape()).q(in.q()).k(in.k()).v(in.v()).route(in.route())
                .build(), c), "window", c);
    }

    /**
     * A route of the wrong length is rejected: a mask (argument route) or logits (argument routerLogits) whose
     * length is not B*S, and a route built for another B or S (argument route).
     */
    @Property(tries = 50)
    @Label("a route of the wrong length is rejected")
    void routesOfTheWrongLengthAreRejected(@ForAll("cases") AttentionCase c) {
        Shape sh = c.shape();
        SplittableRandom rnd = c.random(25);
        int good = sh.rows();
        int len = rnd.nextBoolean() ? good + 1 + rnd.nextInt(3) : rnd.nextInt(good);
        names(rejected(() -> Route.ofMask(sh.batch(), sh.seqLen(), new boolean[len]), c), "route", c, len);
        names(rejected(() -> Route.ofLogits(sh.batch(), sh.seqLen(), new double[len]), c), "routerLogits", c, len);
        int otherS = sh.seqLen() + 1 + rnd.nextInt(3);
        Route other = rnd.nextBoolean() ? Route.allFull(sh.batch(), otherS) : Route.allWindow(sh.batch() + 1,
                sh.seqLen());
        names(rejected(() -> c.inputs().toBuilder().route(other).estimator(Estimator.HARD).build(), c), "route", c);
    }

    /**
     * NaN, +Inf or -Inf anywhere in q, k, v is rejected, naming the tensor, the value and its index; in the
     * router logits likewise (argument routerLogits).
     */
    @Property(tries = 60)
    @Label("non-finite q, k, v or router logits are rejected with their index")
    void nonFiniteInputsAreRejected(@ForAll("cases") AttentionCase c, @ForAll("nonFinite") double bad) {
        SplittableRandom rnd = c.random(26);
        String which = new String[] {"q", "k", "v", "routerLogits"}[rnd.nextInt(4)];
        CaseStatistics.record("non-finite", which);
        if (which.equals("routerLogits")) {
            double[] a = c.logits();
            int at = rnd.nextInt(a.length);
            a[at] = bad;
            names(rejected(() -> Route.ofLogits(c.shape().batch(), c.shape().seqLen(), a), c), which, c, bad, at);
            return;
        }
        double[] x = which.equals("q") ? c.q() : which.equals("k") ? c.k() : c.v();
        int at = rnd.nextInt(x.length);
        x[at] = bad;
        AttentionInputs.Builder b = c.inputs().toBuilder();
        if (which.equals("q")) {
            b.q(x);
        } else if (which.equals("k")) {
            b.k(x);
        } else {
            b.v(x);
        }
        names(rejected(b::build, c), which, c, bad, "index " + at);
    }

    /** A scale that is not finite and positive (NaN, +-Inf, 0, -0.0, negative) is rejected, naming scale. */
    @Property(tries = 50)
    @Label("a scale that is not finite and > 0 is rejected")
    void badScalesAreRejected(@ForAll("cases") AttentionCase c, @ForAll("badScales") double scale) {
        names(rejected(() -> c.inputs().toBuilder().scale(scale).build(), c), "scale", c, scale);
    }

    /**
     * STRAIGHT_THROUGH, SELECTED_BRANCH and SOFT need router logits: a mask-only route is rejected (argument
     * route, message names the estimator); HARD accepts it and runs.
     */
    @Property(tries = 50)
    @Label("estimators other than HARD reject a route without logits")
    void missingLogitsAreRejected(@ForAll("cases") AttentionCase c, @ForAll("estimators") Estimator estimator) {
        Shape sh = c.shape();
        Route mask = Route.ofMask(sh.batch(), sh.seqLen(), c.route().mask());
        AttentionInputs.Builder b = c.inputs().toBuilder().route(mask).estimator(estimator);
        if (estimator == Estimator.HARD) {
            AttentionInputs in = b.build();
            Checks.that(Tensors.allFinite(forward(in).o()), "HARD with a mask route gave non-finite output", c);
        } else {
            names(rejected(b::build, c), "route", c, estimator);
        }
    }

    /** backward rejects a dO of the wrong length, null, or with a non-finite element, naming dOut. */
    @Property(tries = 50)
    @Label("backward rejects a bad dOut")
    void badOutputGradientsAreRejected(@ForAll("cases") AttentionCase c, @ForAll("nonFinite") double bad) {
        AttentionInputs in = c.inputs();
        assumeSupported(in);
        SplittableRandom rnd = c.random(27);
        int kind = rnd.nextInt(3);
        CaseStatistics.record("bad dOut", kind == 0 ? "length" : kind == 1 ? "null" : "non-finite");
        if (kind == 0) {
            int len = c.shape().qSize() + (rnd.nextBoolean() ? 1 : -1);
            names(rejected(() -> implementation().backward(in, new double[len]), c), "dOut", c, len);
        } else if (kind == 1) {
            names(rejected(() -> implementation().backward(in, null), c), "dOut", c);
        } else {
            double[] dOut = c.outputGradient();
            int at = rnd.nextInt(dOut.length);
            dOut[at] = bad;
            names(rejected(() -> implementation().backward(in, dOut), c), "dOut", c, bad, "index " + at);
        }
    }

    /** forwardRows rejects a row index outside [0, B*S), naming rows and the index. */
    @Property(tries = 50)
    @Label("forwardRows rejects rows out of range")
    void rowsOutOfRangeAreRejected(@ForAll("cases") AttentionCase c) {
        AttentionInputs in = c.inputs();
        assumeSupported(in);
        SplittableRandom rnd = c.random(28);
        int n = c.shape().rows();
        int[] candidates = {-1, n, n + 1 + rnd.nextInt(10), Integer.MIN_VALUE, Integer.MAX_VALUE};
        int bad = candidates[rnd.nextInt(candidates.length)];
        int[] rows = new int[1 + rnd.nextInt(4)];
        for (int t = 0; t < rows.length; t++) {
            rows[t] = rnd.nextInt(n);
        }
        rows[rnd.nextInt(rows.length)] = bad;
        names(rejected(() -> implementation().forwardRows(in, rows), c), "rows", c, bad);
    }
}
