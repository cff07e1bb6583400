package org.swiattn.properties;

import java.util.Arrays;
import java.util.SplittableRandom;

import org.swiattn.properties.AttentionCase.RouteKind;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/**
 * One generated spec 2.0 problem: flat query and key rows grouped into segments ({@link Segments}), a window, a
 * route, an estimator and the tensors, all drawn from a seed.
 *
 * <pre>
 *   layout         the factory the table comes from ({@link Layout})
 *   qLen[s], kLen[s], gapAfter[s]   segment s: qLen query rows, kLen key rows, then gapAfter unused key rows
 *   q      [B*Sq,Hq,D]    uniform in [-1, 1), bf16-representable
 *   k, v   [B*Sk,Hkv,D]   the same on the key rows inside segments; {@link Fill} on the unused key rows
 *   logits [B*Sq]         router logits of the route kind (a == 0 on purpose, as in {@link AttentionCase})
 * </pre>
 * Unused key rows (cache slots beyond a sequence's length, gaps of a general table) hold NaN, infinities, 1e300 or
 * ordinary values: the spec says they are never read.
 */
public final class SegmentCase {

    /** Which {@link Segments} factory builds the table. */
    public enum Layout {
        /** {@link Segments#packedSelf}: B*S flat rows, documents share one cu_seqlens (pretraining packing) */
        PACKED_SELF,
        /** {@link Segments#packed}: cu_seqlens_q and cu_seqlens_k differ, {@code qLen <= kLen} (varlen prefill) */
        PACKED,
        /** {@link Segments#kvCache}: B sequences of a padded cache of capacity Sk, Sq new rows each (decode) */
        KV_CACHE,
        /** {@link Segments#of}: a general table whose key ranges leave unused rows between and after them */
        GAPS
    }

    /** What the key rows outside every segment hold. */
    public enum Fill {
        /** NaN */
        NAN,
        /** +Inf or -Inf */
        INFINITY,
        /** +-1e300 (scores would overflow if they were read) */
        HUGE,
        /** ordinary values, twice the magnitude of the others */
        ORDINARY;

        /** n values of this fill. @param rnd advanced */
        double[] values(SplittableRandom rnd, int n) {
            double[] x = new double[n];
            for (int t = 0; t < n; t++) {
                double sign = rnd.nextBoolean() ? 1 : -1;
                x[t] = switch (this) {
                    case NAN -> Double.NaN;
                    case INFINITY -> sign * Double.POSITIVE_INFINITY;
                    case HUGE -> sign * 1e300;
                    case ORDINARY -> 2 * (2 * rnd.nextDouble() - 1);
                };
            }
            return x;
        }
    }

    private final Layout layout;
    private final Shape shape;
    private final Segments segments;
    private final int window;
    private final RouteKind routeKind;
    private final Estimator estimator;
    private final Fill fill;
    private final long seed;
    private final double[] q;
    private final double[] k;
    private final double[] v;
    private final double[] logits;

    /**
     * Draws the tensors of a case whose table is already built.
     *
     * @param shape    B, Sq, Hq, Hkv, D, Sk
     * @param segments a table for shape
     */
    SegmentCase(Layout layout, Shape shape, Segments segments, int window, RouteKind routeKind, Estimator estimator,
                Fill fill, long seed) {
        this.layout = layout;
        this.shape = shape;
        this.segments = segments;
        this.window = window;
        this.routeKind = routeKind;
        this.estimator = estimator;
        this.fill = fill;
        this.seed = seed;
        SplittableRandom rnd = new SplittableRandom(seed);
        this.q = Tensors.uniformBf16(rnd, shape.qSize(), 1.0);
        this.k = Tensors.uniformBf16(rnd, shape.kvSize(), 1.0);
        this.v = Tensors.uniformBf16(rnd, shape.kvSize(), 1.0);
        fillUnusedKeyRows(shape, segments, fill, rnd, k, v);
        this.logits = AttentionCase.logitsOf(routeKind, shape, rnd);
    }

    /**
     * Overwrites the key rows outside every segment of k and v with the fill.
     *
     * @param k [B*Sk,Hkv,D] modified
     * @param v [B*Sk,Hkv,D] modified
     */
    static void fillUnusedKeyRows(Shape shape, Segments segments, Fill fill, SplittableRandom rnd, double[] k,
                                  double[] v) {
        int width = shape.kvHeads() * shape.headDim();
        for (int kr = 0; kr < shape.kvRows(); kr++) {
            if (!segments.keyRowUsed(kr)) {
                System.arraycopy(fill.values(rnd, width), 0, k, kr * width, width);
                System.arraycopy(fill.values(rnd, width), 0, v, kr * width, width);
            }
        }
    }

    /** The validated inputs of this case (route from logits, the case's segments). */
    public AttentionInputs inputs() {
        return AttentionInputs.builder(shape).q(q).k(k).v(v).window(window).route(route()).estimator(estimator)
                .segments(segments).build();
    }

    /** The route [B*Sq] of this case, from its logits. */
    public Route route() {
        return Route.ofLogits(shape.batch(), shape.seqLen(), logits);
    }

    /** A fresh output gradient dO [B*Sq,Hq,D], uniform in [-1, 1), drawn from the case's seed. */
    public double[] outputGradient() {
        return AttentionCase.outputGradientOf(shape, seed);
    }

    /** A random source derived from this case's seed, for properties that draw more numbers. */
    public SplittableRandom random(long salt) {
        return AttentionCase.randomOf(seed, salt);
    }

    /** Number of key rows outside every segment. */
    public int unusedKeyRows() {
        int n = 0;
        for (int kr = 0; kr < shape.kvRows(); kr++) {
            n += segments.keyRowUsed(kr) ? 0 : 1;
        }
        return n;
    }

    public Layout layout() {
        return layout;
    }

    public Shape shape() {
        return shape;
    }

    public Segments segments() {
        return segments;
    }

    public int window() {
        return window;
    }

    public Estimator estimator() {
        return estimator;
    }

    public Fill fill() {
        return fill;
    }

    /** [B*Sq,Hq,D], a copy. */
    public double[] q() {
        return q.clone();
    }

    /** [B*Sk,Hkv,D], a copy. */
    public double[] k() {
        return k.clone();
    }

    /** [B*Sk,Hkv,D], a copy. */
    public double[] v() {
        return v.clone();
    }

    /** [B*Sq], a copy. */
    public double[] logits() {
        return logits.clone();
    }

    @Override
    public String toString() {
        int[][] table = SegmentSlices.table(segments);
        return "SegmentCase[" + layout + " " + shape + " w=" + window + " qLen=" + Arrays.toString(table[1])
                + " kLen=" + Arrays.toString(table[3]) + " kStart=" + Arrays.toString(table[2]) + " route="
                + routeKind + " estimator=" + estimator + " fill=" + fill + " seed=" + seed + "]";
    }
}
