package org.swiattn.properties;

import java.util.SplittableRandom;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Bf16;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Route;
import org.swiattn.spec.Shape;

/**
 * One generated attention problem: a shape, a window, a route, an estimator and the tensors, all drawn from a
 * seed so that a failing case is printed (and shrunk) as a handful of small numbers.
 *
 * <pre>
 *   q      [B,S,Hq,D]   uniform in [-m, m), rounded to bf16-representable doubles (m = magnitude)
 *   k, v   [B,S,Hkv,D]  the same
 *   logits [B,S]        router logits a; their signs follow the route kind (a == 0 appears on purpose: it routes
 *                       to the window branch)
 * </pre>
 * Every value is bf16-representable, so fp64, fp32 and bf16 implementations all see exactly the same inputs (the
 * golden-file convention). The route is always built from logits, so every estimator can run on every case.
 */
public final class AttentionCase {

    /** How the route of a case is drawn. */
    public enum RouteKind {
        /** every token on the full branch */
        ALL_FULL,
        /** every token on the window branch */
        ALL_WINDOW,
        /** full at even positions, window at odd positions */
        ALTERNATING,
        /** each token independently, with some logits exactly 0 (window) */
        RANDOM
    }

    /** How the window of a case relates to S (the edges where off-by-one errors live). */
    public enum WindowKind {
        /** w = 1: each query sees only itself */
        ONE,
        /** w = S-1 (or 1 when S = 1): only the last row misses one key */
        S_MINUS_1,
        /** w = S: the window branch equals the full branch */
        S,
        /** w = S+1 */
        S_PLUS_1,
        /** any w in [1, S] */
        INSIDE,
        /** w far beyond S */
        BEYOND
    }

    /** Whether a case uses the default scale 1/sqrt(D) or another positive scale. */
    public enum ScaleKind {
        /** scale = 1/sqrt(D) */
        DEFAULT,
        /** scale = 10^x, x uniform in [-2, 0.6], rounded to bf16: from 0.01 to about 4 */
        CUSTOM
    }

    private final Shape shape;
    private final WindowKind windowKind;
    private final int window;
    private final RouteKind routeKind;
    private final Estimator estimator;
    private final ScaleKind scaleKind;
    private final double scale;
    private final double magnitude;
    private final long seed;
    private final double[] q;
    private final double[] k;
    private final double[] v;
    private final double[] logits;

    /**
     * Draws the tensors of a case.
     *
     * @param shape      B, S, Hq, Hkv, D
     * @param windowKind the relation of w to S
     * @param windowPick a number in [0, 1) that picks w inside its kind's range
     * @param routeKind  how the route is drawn
     * @param estimator  the estimator of the inputs
     * @param scaleKind  default or custom scale
     * @param magnitude  {@code m > 0}: values are uniform in [-m, m)
     * @param seed       seed of the tensors
     */
    public AttentionCase(Shape shape, WindowKind windowKind, double windowPick, RouteKind routeKind,
                         Estimator estimator, ScaleKind scaleKind, double magnitude, long seed) {
        this.shape = shape;
        this.windowKind = windowKind;
        this.window = windowOf(windowKind, windowPick, shape.seqLen());
        this.routeKind = routeKind;
        this.estimator = estimator;
        this.magnitude = magnitude;
        this.seed = seed;
        SplittableRandom rnd = new SplittableRandom(seed);
        this.scaleKind = scaleKind;
        this.scale = scaleKind == ScaleKind.DEFAULT ? shape.defaultScale()
                : Bf16.round(Math.pow(10, -2 + 2.6 * rnd.nextDouble()));
        this.q = Tensors.uniformBf16(rnd, shape.qSize(), magnitude);
        this.k = Tensors.uniformBf16(rnd, shape.kvSize(), magnitude);
        this.v = Tensors.uniformBf16(rnd, shape.kvSize(), magnitude);
        this.logits = logitsOf(routeKind, shape, rnd);
    }

    /** w for a window kind; S-1 becomes 1 when S = 1 ({@code w >= 1} always). */
    static int windowOf(WindowKind kind, double pick, int seqLen) {
        switch (kind) {
            case ONE:
                return 1;
            case S_MINUS_1:
                return Math.max(1, seqLen - 1);
            case S:
                return seqLen;
            case S_PLUS_1:
                return seqLen + 1;
            case INSIDE:
                return 1 + (int) (pick * seqLen);
            case BEYOND:
                // the largest window there is, now and then (i - w + 1 must not overflow anywhere)
                return pick >= 0.9 ? Integer.MAX_VALUE : seqLen + 2 + (int) (pick * 4 * seqLen);
            default:
                throw new IllegalArgumentException("windowKind: " + kind);
        }
    }

    /**
     * Router logits [B,S] whose signs follow the route kind; magnitudes mostly in (0, 3], some exact zeros, and
     * now and then saturating magnitudes 40, 800 and 1e30 (p rounds to 0 or 1; exp(800) overflows).
     */
    static double[] logitsOf(RouteKind kind, Shape shape, SplittableRandom rnd) {
        double[] a = new double[shape.rows()];
        for (int r = 0; r < a.length; r++) {
            int i = r % shape.seqLen();
            double mag = Bf16.round(0.05 + 2.95 * rnd.nextDouble());
            if (rnd.nextInt(16) == 0) {
                mag = Bf16.round(new double[] {40, 800, 1e30}[rnd.nextInt(3)]);
            }
            boolean full;
            switch (kind) {
                case ALL_FULL:
                    full = true;
                    break;
                case ALL_WINDOW:
                    full = false;
                    break;
                case ALTERNATING:
                    full = i % 2 == 0;
                    break;
                default:
                    full = rnd.nextBoolean();
                    break;
            }
            // a == 0 routes to the window branch; exercise that edge on some window tokens
            a[r] = full ? mag : (rnd.nextInt(8) == 0 ? 0.0 : -mag);
        }
        return a;
    }

    /** The validated inputs of this case (route from logits). */
    public AttentionInputs inputs() {
        return AttentionInputs.builder(shape).q(q).k(k).v(v).window(window).scale(scale)
                .route(route()).estimator(estimator).build();
    }

    /** The route of this case (from its logits). */
    public Route route() {
        return Route.ofLogits(shape.batch(), shape.seqLen(), logits);
    }

    /**
     * A fresh output gradient dO [B,S,Hq,D] for this case, uniform in [-1, 1), drawn from the case's seed.
     */
    public double[] outputGradient() {
        return outputGradientOf(shape, seed);
    }

    /** A random source derived from this case's seed, for properties that draw more numbers. */
    public SplittableRandom random(long salt) {
        return randomOf(seed, salt);
    }

    /** The output gradient dO [rows,Hq,D] of a case of this shape and seed (every kind of case draws it so). */
    static double[] outputGradientOf(Shape shape, long seed) {
        return Tensors.uniformBf16(new SplittableRandom(seed ^ 0x5DEECE66DL), shape.qSize(), 1.0);
    }

    /** The random source {@code salt} of a case of this seed (every kind of case derives it so). */
    static SplittableRandom randomOf(long seed, long salt) {
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + salt);
    }

    public Shape shape() {
        return shape;
    }

    public int window() {
        return window;
    }

    public WindowKind windowKind() {
        return windowKind;
    }

    public RouteKind routeKind() {
        return routeKind;
    }

    public Estimator estimator() {
        return estimator;
    }

    public ScaleKind scaleKind() {
        return scaleKind;
    }

    /** The scale of the inputs. */
    public double scale() {
        return scale;
    }

    public double magnitude() {
        return magnitude;
    }

    public long seed() {
        return seed;
    }

    /** [B,S,Hq,D], a copy. */
    public double[] q() {
        return q.clone();
    }

    /** [B,S,Hkv,D], a copy. */
    public double[] k() {
        return k.clone();
    }

    /** [B,S,Hkv,D], a copy. */
    public double[] v() {
        return v.clone();
    }

    /** [B,S], a copy. */
    public double[] logits() {
        return logits.clone();
    }

    @Override
    public String toString() {
        return "AttentionCase[" + shape + " w=" + window + " (" + windowKind + ") route=" + routeKind
                + " estimator=" + estimator
                + " scale=" + (scaleKind == ScaleKind.DEFAULT ? "1/sqrt(D)" : String.valueOf(scale))
                + " magnitude=" + magnitude + " seed=" + seed + "]";
    }
}
