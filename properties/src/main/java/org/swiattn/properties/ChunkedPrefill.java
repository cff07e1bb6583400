package org.swiattn.properties;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import org.swiattn.properties.SegmentArbitraries.ChunkEdge;
import org.swiattn.properties.SegmentArbitraries.ChunkLength;
import org.swiattn.properties.SegmentCase.Fill;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;

/**
 * A v1 prefill of B sequences of length S split into chunks at the same positions in every sequence: chunk n
 * holds the queries c0 .. c1-1 and a KV cache with the keys 0 .. c1-1 of each sequence, bottom-right aligned.
 *
 * <pre>
 *   ends [N]             chunk ends c1, ascending, the last = S; chunk n covers [ends[n-1], ends[n])  (ends[-1] = 0)
 *   chunk n, L = c1-c0:  q [B,L,Hq,D]   rows (b, c0 .. c1-1) of the prefill's q
 *     tight cache        k, v [B,c1,Hkv,D]    keys 0 .. c1-1           Segments.bottomRight
 *     padded cache       k, v [B,S+2,Hkv,D]   keys 0 .. S-1, then the fill; cacheSeqlens = c1 (Segments.kvCache):
 *                                             the prefill's later keys sit in the cache beyond the length
 * </pre>
 *
 * @param prefill the whole call (v1 self-attention)
 * @param ends    [N] chunk ends; not modified by any method
 * @param padded  whether the chunks read a padded cache (else a tight one)
 * @param fill    what a padded cache holds beyond the prefill's keys
 */
public record ChunkedPrefill(AttentionCase prefill, int[] ends, boolean padded, Fill fill) {

    /**
     * The split drawn for a prefill: the first chunk ends at w-1, w, w+1 or anywhere (clamped to [1, S]), then
     * chunks of the given lengths, then one chunk to S if any rows remain.
     */
    static ChunkedPrefill of(AttentionCase c, ChunkEdge edge, List<ChunkLength> lengths, boolean padded, Fill fill) {
        int s = c.shape().seqLen();
        long w = c.window();
        SplittableRandom rnd = c.random(40);
        long first = switch (edge) {
            case W_MINUS_1 -> w - 1;
            case W -> w;
            case W_PLUS_1 -> w + 1;
            case ANY -> 1 + rnd.nextInt(s);
        };
        List<Integer> ends = new ArrayList<>();
        int at = (int) Math.max(1, Math.min(s, first));
        ends.add(at);
        for (ChunkLength kind : lengths) {
            if (at >= s) {
                break;
            }
            long len = switch (kind) {
                case ONE -> 1;
                case W -> w;
                case ANY -> 1 + rnd.nextInt(s - at);
            };
            at = (int) Math.min(s, at + len);
            ends.add(at);
        }
        if (at < s) {
            ends.add(s);
        }
        return new ChunkedPrefill(c, ends.stream().mapToInt(Integer::intValue).toArray(), padded, fill);
    }

    /** Number of chunks N. */
    public int count() {
        return ends.length;
    }

    /** First query position of chunk n. */
    public int start(int n) {
        return n == 0 ? 0 : ends[n - 1];
    }

    /** The prefill's flat query rows b*S + i, i in chunk n, in the chunk's row order. */
    public int[] queryRows(int n) {
        int s = prefill.shape().seqLen();
        int len = ends[n] - start(n);
        int[] rows = new int[prefill.shape().batch() * len];
        for (int b = 0; b < prefill.shape().batch(); b++) {
            for (int i = 0; i < len; i++) {
                rows[b * len + i] = b * s + start(n) + i;
            }
        }
        return rows;
    }

    /** Sk of chunk n's cache: c1 (tight) or S + 2 (padded). */
    public int cacheRows(int n) {
        return padded ? prefill.shape().seqLen() + 2 : ends[n];
    }

    /** The inputs of chunk n (see the class comment), the prefill's window, scale, route rows and estimator. */
    public AttentionInputs chunk(int n) {
        AttentionInputs in = prefill.inputs();
        Shape sh = in.shape();
        int s = sh.seqLen();
        int sk = cacheRows(n);
        Shape chunk = new Shape(sh.batch(), ends[n] - start(n), sh.qHeads(), sh.kvHeads(), sh.headDim(), sk);
        int width = SegmentSlices.kvWidth(sh);
        double[] k = new double[chunk.kvSize()];
        double[] v = new double[chunk.kvSize()];
        SplittableRandom rnd = prefill.random(41 + n);
        for (int b = 0; b < sh.batch(); b++) {
            for (int j = 0; j < sk; j++) {
                int to = (b * sk + j) * width;
                if (j < s) {
                    System.arraycopy(in.k(), (b * s + j) * width, k, to, width);
                    System.arraycopy(in.v(), (b * s + j) * width, v, to, width);
                } else {
                    System.arraycopy(fill.values(rnd, width), 0, k, to, width);
                    System.arraycopy(fill.values(rnd, width), 0, v, to, width);
                }
            }
        }
        int[] lengths = new int[sh.batch()];
        Arrays.fill(lengths, ends[n]);
        Segments seg = padded ? Segments.kvCache(chunk, lengths) : Segments.bottomRight(chunk);
        int[] rows = queryRows(n);
        return AttentionInputs.builder(chunk).q(SegmentSlices.gather(in.q(), SegmentSlices.qWidth(sh), rows))
                .k(k).v(v).window(in.window()).scale(in.scale())
                .route(SegmentSlices.routeRows(in.route(), sh.batch(), chunk.seqLen(), rows))
                .estimator(in.estimator()).segments(seg).build();
    }

    @Override
    public String toString() {
        return "ChunkedPrefill[ends=" + Arrays.toString(ends)
                + (padded ? " padded cache, fill " + fill : " tight cache") + " of " + prefill + "]";
    }
}
