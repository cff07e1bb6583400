package org.swiattn.properties;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/**
 * Rows of a call taken out as a call of their own, and results put back: what the spec 2.0 properties compare
 * (a packed segment alone, a chunk of a prefill, a decode step). Every helper returns new arrays or writes only
 * the array it says it modifies.
 *
 * <pre>
 *   a tensor of R rows of width W (Q, O, dQ: W = Hq*D; K, V, dK, dV: W = Hkv*D; LSE: W = Hq; route: W = 1)
 *   gather(x, W, rows)      [rows.length * W]   x's rows in the order asked
 *   slice(in, q0, nq, k0, nk, w)               query rows q0 .. q0+nq-1 against key rows k0 .. k0+nk-1:
 *                                              B = 1, Sq = nq, Sk = nk, bottom-right aligned, window w
 * </pre>
 */
public final class SegmentSlices {
    private SegmentSlices() {
    }

    /** The table of a Segments as arrays {qStart, qLen, kStart, kLen}, each [n]. */
    public static int[][] table(Segments seg) {
        int n = seg.count();
        int[][] t = new int[4][n];
        for (int s = 0; s < n; s++) {
            t[0][s] = seg.qStart(s);
            t[1][s] = seg.qLen(s);
            t[2][s] = seg.kStart(s);
            t[3][s] = seg.kLen(s);
        }
        return t;
    }

    /** Query-row width Hq*D. */
    static int qWidth(Shape sh) {
        return sh.qHeads() * sh.headDim();
    }

    /** Key-row width Hkv*D. */
    static int kvWidth(Shape sh) {
        return sh.kvHeads() * sh.headDim();
    }

    /**
     * The rows of x in the order given.
     *
     * @param x    [R * width]; not modified
     * @param rows [n] row indices in [0, R); not modified
     */
    public static double[] gather(double[] x, int width, int[] rows) {
        double[] y = new double[rows.length * width];
        for (int n = 0; n < rows.length; n++) {
            System.arraycopy(x, rows[n] * width, y, n * width, width);
        }
        return y;
    }

    /** The consecutive rows from .. from+n-1. @param x [R * width]; not modified */
    public static double[] rows(double[] x, int width, int from, int n) {
        double[] y = new double[n * width];
        System.arraycopy(x, from * width, y, 0, n * width);
        return y;
    }

    /** from, from+1, .., from+n-1. */
    public static int[] range(int from, int n) {
        int[] r = new int[n];
        for (int t = 0; t < n; t++) {
            r[t] = from + t;
        }
        return r;
    }

    /**
     * Adds src, rows 0 .. n-1, to dst rows at .. at+n-1.
     *
     * @param src [n * width]; not modified
     * @param dst [R * width]; modified
     */
    public static void addRows(double[] src, double[] dst, int width, int at) {
        for (int t = 0; t < src.length; t++) {
            dst[at * width + t] += src[t];
        }
    }

    /**
     * A route over the given rows of a route: logits when it has them, else its mask.
     *
     * @param rows [n] flat query rows; not modified
     */
    public static Route routeRows(Route route, int batch, int seqLen, int[] rows) {
        if (route.hasLogits()) {
            double[] a = new double[rows.length];
            for (int n = 0; n < rows.length; n++) {
                a[n] = route.logit(rows[n]);
            }
            return Route.ofLogits(batch, seqLen, a);
        }
        boolean[] z = new boolean[rows.length];
        for (int n = 0; n < rows.length; n++) {
            z[n] = route.isFull(rows[n]);
        }
        return Route.ofMask(batch, seqLen, z);
    }

    /**
     * Query rows q0 .. q0+nq-1 of a call against its key rows k0 .. k0+nk-1, as a call of their own: B = 1,
     * Sq = nq, Sk = nk, bottom-right aligned (the last query sits at the last key), window w, the same scale,
     * route rows and estimator. Requires {@code 1 <= nq <= nk}.
     *
     * @param in inputs; not modified
     */
    public static AttentionInputs slice(AttentionInputs in, int q0, int nq, int k0, int nk, int window) {
        Shape sh = in.shape();
        Shape one = new Shape(1, nq, sh.qHeads(), sh.kvHeads(), sh.headDim(), nk);
        return AttentionInputs.builder(one).q(rows(in.q(), qWidth(sh), q0, nq))
                .k(rows(in.k(), kvWidth(sh), k0, nk)).v(rows(in.v(), kvWidth(sh), k0, nk)).window(window)
                .scale(in.scale()).route(routeRows(in.route(), 1, nq, range(q0, nq))).estimator(in.estimator())
                .segments(Segments.bottomRight(one)).build();
    }

    /**
     * Segment s of a call alone: its query rows against its key rows, the same window. What the whole call must
     * compute for those rows, since attention never crosses a segment. Requires {@code qLen(s) >= 1}.
     *
     * @param in inputs; not modified
     */
    public static AttentionInputs alone(AttentionInputs in, int s) {
        Segments seg = in.segments();
        return slice(in, seg.qStart(s), seg.qLen(s), seg.kStart(s), seg.kLen(s), in.window());
    }
}
