package org.swiattn.golden;

import java.util.TreeSet;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/**
 * The inputs of a case, regenerated from its definition. q, k, v and dO come from the portable generator
 * ({@link SplitMix64}: tensor names {@code "q"}, {@code "k"}, {@code "v"}, {@code "do"}, amplitudes from the
 * case); the route, the router logits and the sampled rows come from the same generator too but are stored in the
 * case file, so other implementations read them instead of reproducing them.
 *
 * <pre>
 *   q   [B,Sq,Hq,D]  = ampQ  * golden("q")       k, v [B,Sk,Hkv,D] = ampK * golden("k"), ampV * golden("v")
 *   dO  [B,Sq,Hq,D]  = ampDo * golden("do")      SAMPLED cases: rows outside the case's rows are zero
 *   route, logits [B,Sq]   see {@link #route}
 *   k, v rows in no segment (unused cache slots): golden values, or NaN when the case says unused_kv = nan
 * </pre>
 */
public final class CaseInputs {
    private CaseInputs() {
    }

    /** Validated inputs of a case (allocates q, k, v whole). */
    public static AttentionInputs inputs(CaseSpec c) {
        Shape sh = c.shape();
        double[] q = new double[sh.qSize()];
        double[] k = new double[sh.kvSize()];
        double[] v = new double[sh.kvSize()];
        fillParallel(c.seed(), "q", c.ampQ(), q);
        fillParallel(c.seed(), "k", c.ampK(), k);
        fillParallel(c.seed(), "v", c.ampV(), v);
        Segments segments = c.segments().of(sh);
        if (c.segments().unusedNaN()) {
            unusedToNaN(sh, segments, k);
            unusedToNaN(sh, segments, v);
        }
        return AttentionInputs.builder(sh).q(q).k(k).v(v).window(c.window()).scale(c.effectiveScale())
                .route(route(c)).estimator(c.estimator()).segments(segments).build();
    }

    /**
     * Sets every key row that lies in no segment to NaN.
     *
     * @param x [B,Sk,Hkv,D]; modified
     */
    static void unusedToNaN(Shape sh, Segments segments, double[] x) {
        int rowSize = sh.kvHeads() * sh.headDim();
        for (int kr = 0; kr < sh.kvRows(); kr++) {
            if (!segments.keyRowUsed(kr)) {
                java.util.Arrays.fill(x, kr * rowSize, (kr + 1) * rowSize, Double.NaN);
            }
        }
    }

    /** SplitMix64.fill in chunks on all cores (element n is a closed form of n, so chunks are independent). */
    static void fillParallel(long seed, String name, double amp, double[] out) {
        int chunk = 1 << 16;
        int chunks = (out.length + chunk - 1) / chunk;
        java.util.stream.IntStream.range(0, chunks).parallel().forEach(t -> {
            int off = t * chunk;
            SplitMix64.fill(seed, name, amp, out, off, Math.min(chunk, out.length - off), off);
        });
    }

    /**
     * The upstream gradient dO [B,S,Hq,D]: the generator's "do" tensor, whole for WHOLE cases; for SAMPLED cases
     * zero outside the sampled rows (the loss is restricted to those rows, which keeps dK/dV computable at 32K).
     */
    public static double[] dOut(CaseSpec c, int[] lossRows) {
        Shape sh = c.shape();
        double[] d = new double[sh.qSize()];
        if (c.whole()) {
            fillParallel(c.seed(), "do", c.ampDo(), d);
        } else {
            int hd = sh.qHeads() * sh.headDim();
            for (int r : lossRows) {
                SplitMix64.fill(c.seed(), "do", c.ampDo(), d, r * hd, hd, (long) r * hd);
            }
        }
        return d;
    }

    /**
     * Rows of dO: [R,Hq,D], row n is row rows[n] of the generator's "do" tensor.
     *
     * @param rows [R] flat rows; not modified
     */
    public static double[] dOutRows(CaseSpec c, int[] rows) {
        int hd = c.shape().qHeads() * c.shape().headDim();
        double[] d = new double[rows.length * hd];
        for (int n = 0; n < rows.length; n++) {
            SplitMix64.fill(c.seed(), "do", c.ampDo(), d, n * hd, hd, (long) rows[n] * hd);
        }
        return d;
    }

    /**
     * The route with router logits.
     *
     * <pre>
     *   z:  ALL_FULL 1; ALL_WINDOW 0; ALTERNATING [i even];
     *       RANDOM*: per batch row exactly round(f*S) full tokens, a partial Fisher-Yates shuffle of 0..S-1
     *       driven by SplitMix64(tensorSeed(seed, "route")): step t swaps t with t + (x mod (S - t))
     *       RANDOM_ROWS: the same shuffle once over all B*S flat rows (decode: S = 1)
     *   a_r = (z_r ? +1 : -1) * (1/16 + 4 |u_r|),   u = golden("router_logits") (element r)
     *         SATURATED: magnitude 30 + 8 |u_r|;  RANDOM_ZERO_LOGITS: a_r = 0 (so z_r = 0) for r % 3 == 0
     * </pre>
     */
    public static Route route(CaseSpec c) {
        Shape sh = c.shape();
        int s = sh.seqLen();
        boolean[] z = new boolean[sh.rows()];
        SplitMix64 g = new SplitMix64(SplitMix64.tensorSeed(c.seed(), "route"));
        if (c.route() == CaseSpec.RouteKind.RANDOM_ROWS) {
            shuffleFull(g, z, 0, z.length, c.fullFraction());
        }
        for (int b = 0; b < sh.batch() && c.route() != CaseSpec.RouteKind.RANDOM_ROWS; b++) {
            switch (c.route()) {
                case ALL_FULL -> java.util.Arrays.fill(z, b * s, (b + 1) * s, true);
                case ALL_WINDOW -> { }
                case ALTERNATING -> {
                    for (int i = 0; i < s; i += 2) {
                        z[b * s + i] = true;
                    }
                }
                default -> shuffleFull(g, z, b * s, s, c.fullFraction());
            }
        }
        double[] a = new double[sh.rows()];
        long seed = SplitMix64.tensorSeed(c.seed(), "router_logits");
        for (int r = 0; r < a.length; r++) {
            double u = Math.abs(SplitMix64.goldenElement(seed, r));
            double mag = c.route() == CaseSpec.RouteKind.SATURATED ? 30 + 8 * u : 0.0625 + 4 * u;
            a[r] = z[r] ? mag : -mag;
            if (c.route() == CaseSpec.RouteKind.RANDOM_ZERO_LOGITS && r % 3 == 0) {
                a[r] = 0.0;
            }
        }
        return Route.ofLogits(sh.batch(), s, a);
    }

    /** Marks exactly round(f * n) of z[from .. from+n) full: a partial Fisher-Yates shuffle of 0..n-1 by g. */
    private static void shuffleFull(SplitMix64 g, boolean[] z, int from, int n, double f) {
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        long full = Math.round(f * n);
        for (int t = 0; t < full; t++) {
            int j = t + (int) Long.remainderUnsigned(g.nextLong(), n - t);
            int tmp = perm[t];
            perm[t] = perm[j];
            perm[j] = tmp;
            z[from + perm[t]] = true;
        }
    }

    /**
     * The sampled rows of a SAMPLED case (B = 1), sorted: the first rows 0, 1, 2; rows around the window edge
     * w-2 .. w+1; S-w; the last rows S-3 .. S-1; and one full-routed and one window-routed row drawn at random
     * from [w+2, S-w) (stream "rows").
     *
     * @return [R] flat rows r = i (B = 1)
     */
    public static int[] sampledRows(CaseSpec c, Route route) {
        int s = c.shape().seqLen();
        int w = c.window();
        if (c.shape().batch() != 1) {
            throw new IllegalArgumentException("sampled cases have B = 1, got " + c.shape().batch());
        }
        TreeSet<Integer> rows = new TreeSet<>();
        for (int i : new int[] {0, 1, 2, w - 2, w - 1, w, w + 1, s - w, s - 3, s - 2, s - 1}) {
            if (i >= 0 && i < s) {
                rows.add(i);
            }
        }
        SplitMix64 g = new SplitMix64(SplitMix64.tensorSeed(c.seed(), "rows"));
        int lo = w + 2;
        int hi = s - w;
        if (hi > lo) {
            for (boolean wantFull : new boolean[] {true, false}) {
                for (int tries = 0; tries < 10_000; tries++) {
                    int i = lo + (int) Long.remainderUnsigned(g.nextLong(), hi - lo);
                    if (route.isFull(i) == wantFull && !rows.contains(i)) {
                        rows.add(i);
                        break;
                    }
                }
            }
        }
        return rows.stream().mapToInt(Integer::intValue).toArray();
    }
}
