package org.swiattn.properties;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.swiattn.properties.SegmentArbitraries.CacheLength;
import org.swiattn.properties.SegmentCase.Fill;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/**
 * One decode step per sequence of a v1 prefill (B sequences of length S): sequence b decodes its token t_b
 * against a KV cache that holds its keys 0 .. t_b, a batch of different cache lengths.
 *
 * <pre>
 *   positions [B]     t_b; cacheSeqlens = t_b + 1 (the cache length counts the new token)
 *   q     [B,1,Hq,D]       row (b, t_b) of the prefill's q
 *   k, v  [B,S+extra,Hkv,D]  the prefill's keys 0 .. S-1 of sequence b (those after t_b lie beyond the length),
 *                          then the fill
 *   Segments.kvCache(shape, t + 1); the route of row (b, t_b)
 * </pre>
 *
 * @param prefill   the whole call (v1 self-attention)
 * @param positions [B] t_b in [0, S); not modified by any method
 * @param extra     capacity beyond S
 * @param fill      what the cache holds beyond S
 */
public record DecodeStep(AttentionCase prefill, int[] positions, int extra, Fill fill) {

    /** The cache lengths drawn for a prefill: w-1, w, w+1, S or any, clamped to [1, S]. */
    static DecodeStep of(AttentionCase c, List<CacheLength> kinds, int extra, Fill fill) {
        int s = c.shape().seqLen();
        long w = c.window();
        SplittableRandom rnd = c.random(50);
        int[] t = new int[c.shape().batch()];
        for (int b = 0; b < t.length; b++) {
            long len = switch (kinds.get(b)) {
                case W_MINUS_1 -> w - 1;
                case W -> w;
                case W_PLUS_1 -> w + 1;
                case LONG -> s;
                case ANY -> 1 + rnd.nextInt(s);
            };
            t[b] = (int) Math.max(1, Math.min(s, len)) - 1;
        }
        return new DecodeStep(c, t, extra, fill);
    }

    /** The prefill's flat query rows b*S + t_b, one per sequence. */
    public int[] queryRows() {
        int[] rows = new int[positions.length];
        for (int b = 0; b < rows.length; b++) {
            rows[b] = b * prefill.shape().seqLen() + positions[b];
        }
        return rows;
    }

    /** The decode inputs (see the class comment), the prefill's window, scale, route rows and estimator. */
    public AttentionInputs step() {
        AttentionInputs in = prefill.inputs();
        Shape sh = in.shape();
        int s = sh.seqLen();
        int sk = s + extra;
        Shape step = new Shape(sh.batch(), 1, sh.qHeads(), sh.kvHeads(), sh.headDim(), sk);
        int width = SegmentSlices.kvWidth(sh);
        double[] k = new double[step.kvSize()];
        double[] v = new double[step.kvSize()];
        SplittableRandom rnd = prefill.random(51);
        int[] lengths = new int[sh.batch()];
        for (int b = 0; b < sh.batch(); b++) {
            System.arraycopy(in.k(), b * s * width, k, b * sk * width, s * width);
            System.arraycopy(in.v(), b * s * width, v, b * sk * width, s * width);
            System.arraycopy(fill.values(rnd, extra * width), 0, k, (b * sk + s) * width, extra * width);
            System.arraycopy(fill.values(rnd, extra * width), 0, v, (b * sk + s) * width, extra * width);
            lengths[b] = positions[b] + 1;
        }
        int[] rows = queryRows();
        return AttentionInputs.builder(step).q(SegmentSlices.gather(in.q(), SegmentSlices.qWidth(sh), rows))
                .k(k).v(v).window(in.window()).scale(in.scale())
                .route(SegmentSlices.routeRows(in.route(), sh.batch(), 1, rows)).estimator(in.estimator())
                .segments(Segments.kvCache(step, lengths)).build();
    }

    @Override
    public String toString() {
        return "DecodeStep[t=" + Arrays.toString(positions) + " capacity S+" + extra + " fill " + fill + " of "
                + prefill + "]";
    }
}
