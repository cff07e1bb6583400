package org.swiattn.spec;

import java.util.Arrays;

/**
 * Which keys each query row can see: the flat query rows and flat key rows of a call grouped into segments
 * (SPEC.md section 2.1). Self-attention prefill, chunked prefill, decode against a KV cache and packed
 * variable-length batches are all tables of this one form.
 *
 * <pre>{@code
 *   n segments s = 0 .. n-1, over flat query rows r in [0, B*Sq) and flat key rows kr in [0, B*Sk):
 *     qStart[s], qLen[s]   query rows qStart .. qStart+qLen-1     (the segments tile [0, B*Sq) in order)
 *     kStart[s], kLen[s]   key rows   kStart .. kStart+kLen-1     (in order, disjoint, inside [0, B*Sk))
 *     0 <= qLen[s] <= kLen[s]
 *
 *   query row r of segment s (bottom-right aligned: its last query is the segment's last key):
 *     position  p  = kLen[s] - qLen[s] + (r - qStart[s])
 *     full      sees key rows kStart[s] + 0              .. kStart[s] + p
 *     window    sees key rows kStart[s] + max(0, p-w+1)  .. kStart[s] + p
 * }</pre>
 * Key rows inside no segment (cache slots beyond a sequence's length) are never read: they may hold any value,
 * NaN included, and their dK, dV are exactly 0. A query row always sees its own position, so no row is empty; a
 * segment with more queries than keys would give rows with nothing to see and is rejected.
 *
 * <p>Immutable; arrays are copied in.
 */
public final class Segments {
    private final int qRows;       // B*Sq
    private final int kRows;       // B*Sk
    private final int[] qStart;    // [n]
    private final int[] qLen;      // [n]
    private final int[] kStart;    // [n]
    private final int[] kLen;      // [n]
    private final int[] rowSegment; // [B*Sq] segment of each query row
    private final boolean self;

    private Segments(Shape shape, int[] qStart, int[] qLen, int[] kStart, int[] kLen, String what) {
        this.qRows = shape.rows();
        this.kRows = shape.kvRows();
        this.qStart = qStart;
        this.qLen = qLen;
        this.kStart = kStart;
        this.kLen = kLen;
        int n = qStart.length;
        rowSegment = new int[qRows];
        int nextQ = 0;
        int nextK = 0;
        for (int s = 0; s < n; s++) {
            String seg = what + " segment " + s;
            InvalidInputException.require(qLen[s] >= 0 && kLen[s] >= 0, "segments",
                    seg + " has a negative length: qLen=" + qLen[s] + ", kLen=" + kLen[s]);
            InvalidInputException.require(qStart[s] == nextQ, "segments",
                    seg + " starts at query row " + qStart[s] + " but the previous segments end at " + nextQ
                            + " (the segments must tile the query rows [0, B*Sq) in order)");
            InvalidInputException.require(kStart[s] >= nextK, "segments",
                    seg + " starts at key row " + kStart[s] + ", before the previous segment's keys end at "
                            + nextK + " (key ranges must be in order and disjoint)");
            InvalidInputException.require((long) kStart[s] + kLen[s] <= kRows, "segments",
                    seg + " has key rows [" + kStart[s] + ", " + ((long) kStart[s] + kLen[s])
                            + ") outside [0, B*Sk) = [0, " + kRows + ")");
            InvalidInputException.require(qLen[s] <= kLen[s], "segments",
                    seg + " has " + qLen[s] + " queries but only " + kLen[s] + " keys: with bottom-right "
                            + "alignment its first " + (qLen[s] - kLen[s]) + " queries would have nothing to see");
            InvalidInputException.require((long) qStart[s] + qLen[s] <= qRows, "segments",
                    seg + " has query rows [" + qStart[s] + ", " + ((long) qStart[s] + qLen[s])
                            + ") outside [0, B*Sq) = [0, " + qRows + ")");
            Arrays.fill(rowSegment, qStart[s], qStart[s] + qLen[s], s);
            nextQ = qStart[s] + qLen[s];
            nextK = kStart[s] + kLen[s];
        }
        InvalidInputException.require(nextQ == qRows, "segments",
                what + " covers query rows [0, " + nextQ + ") but the tensors have B*Sq = " + qRows
                        + " (every query row must belong to a segment)");
        this.self = isSelf(shape);
    }

    private boolean isSelf(Shape shape) {
        if (!shape.squareRows() || qStart.length != shape.batch()) {
            return false;
        }
        int len = shape.seqLen();
        for (int s = 0; s < qStart.length; s++) {
            if (qStart[s] != s * len || qLen[s] != len || kStart[s] != s * len || kLen[s] != len) {
                return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------------------------------------- factories

    /**
     * Self-attention prefill (spec 1.x): batch row b is one segment, queries and keys share positions 0..S-1.
     * Requires Sq = Sk.
     */
    public static Segments selfAttention(Shape shape) {
        requireShape(shape);
        InvalidInputException.require(shape.squareRows(), "segments",
                "self-attention needs Sq = Sk, got Sq=" + shape.seqLen() + ", Sk=" + shape.kvSeqLen());
        return bottomRight(shape);
    }

    /**
     * Chunked prefill against a full cache: batch row b is one segment whose Sq queries are the last Sq positions of
     * its Sk keys (queries at positions Sk-Sq .. Sk-1). Requires {@code Sq <= Sk}.
     */
    public static Segments bottomRight(Shape shape) {
        requireShape(shape);
        InvalidInputException.require(shape.seqLen() <= shape.kvSeqLen(), "segments",
                "bottom-right alignment needs Sq <= Sk, got Sq=" + shape.seqLen() + ", Sk=" + shape.kvSeqLen()
                        + " (the first " + (shape.seqLen() - shape.kvSeqLen()) + " queries would see no key)");
        int b = shape.batch();
        int[] qs = new int[b];
        int[] ql = new int[b];
        int[] ks = new int[b];
        int[] kl = new int[b];
        for (int s = 0; s < b; s++) {
            qs[s] = s * shape.seqLen();
            ql[s] = shape.seqLen();
            ks[s] = s * shape.kvSeqLen();
            kl[s] = shape.kvSeqLen();
        }
        return new Segments(shape, qs, ql, ks, kl, "bottom-right");
    }

    /**
     * Decode or chunked prefill against a padded KV cache of capacity Sk (FlashAttention's
     * {@code flash_attn_with_kvcache}): batch row b holds {@code cacheSeqlens[b]} valid keys, the new tokens'
     * keys included, and its Sq queries are the last Sq of them. Cache slots at or beyond the length are never read.
     *
     * @param cacheSeqlens [B] valid keys per batch row, {@code Sq <= cacheSeqlens[b] <= Sk}; not modified (copied)
     */
    public static Segments kvCache(Shape shape, int[] cacheSeqlens) {
        requireShape(shape);
        InvalidInputException.require(cacheSeqlens != null, "cacheSeqlens", "is null");
        InvalidInputException.require(cacheSeqlens.length == shape.batch(), "cacheSeqlens",
                "length must be B = " + shape.batch() + ", got " + cacheSeqlens.length);
        int b = shape.batch();
        int[] qs = new int[b];
        int[] ql = new int[b];
        int[] ks = new int[b];
        int[] kl = cacheSeqlens.clone();
        for (int s = 0; s < b; s++) {
            InvalidInputException.require(kl[s] <= shape.kvSeqLen(), "cacheSeqlens",
                    "cacheSeqlens[" + s + "] = " + kl[s] + " exceeds the cache capacity Sk = " + shape.kvSeqLen());
            InvalidInputException.require(kl[s] >= shape.seqLen(), "cacheSeqlens",
                    "cacheSeqlens[" + s + "] = " + kl[s] + " is below Sq = " + shape.seqLen()
                            + " (the cache length counts the new tokens, whose keys are already in the cache)");
            qs[s] = s * shape.seqLen();
            ql[s] = shape.seqLen();
            ks[s] = s * shape.kvSeqLen();
        }
        return new Segments(shape, qs, ql, ks, kl, "kv-cache");
    }

    /**
     * Packed variable-length batch (FlashAttention's {@code flash_attn_varlen_func}): segment s holds query rows
     * cuSeqlensQ[s] .. cuSeqlensQ[s+1]-1 and key rows cuSeqlensK[s] .. cuSeqlensK[s+1]-1 of the flat rows.
     * Positions restart at 0 in each segment's keys; attention never crosses a segment.
     *
     * @param cuSeqlensQ [n+1] cumulative query lengths: 0, non-decreasing, last = B*Sq; not modified
     * @param cuSeqlensK [n+1] cumulative key lengths: 0, non-decreasing, last = B*Sk; not modified
     */
    public static Segments packed(Shape shape, int[] cuSeqlensQ, int[] cuSeqlensK) {
        requireShape(shape);
        checkCumulative("cuSeqlensQ", cuSeqlensQ, shape.rows(), "B*Sq");
        checkCumulative("cuSeqlensK", cuSeqlensK, shape.kvRows(), "B*Sk");
        InvalidInputException.require(cuSeqlensQ.length == cuSeqlensK.length, "cuSeqlensK",
                "has " + (cuSeqlensK.length - 1) + " segments but cuSeqlensQ has " + (cuSeqlensQ.length - 1));
        int n = cuSeqlensQ.length - 1;
        int[] qs = new int[n];
        int[] ql = new int[n];
        int[] ks = new int[n];
        int[] kl = new int[n];
        for (int s = 0; s < n; s++) {
            qs[s] = cuSeqlensQ[s];
            ql[s] = cuSeqlensQ[s + 1] - cuSeqlensQ[s];
            ks[s] = cuSeqlensK[s];
            kl[s] = cuSeqlensK[s + 1] - cuSeqlensK[s];
        }
        return new Segments(shape, qs, ql, ks, kl, "packed");
    }

    /**
     * Packed self-attention (pretraining packs documents): queries and keys share one {@code cuSeqlens}; requires
     * Sq = Sk. Equivalent to segment ids: row r belongs to the segment s with
     * {@code cuSeqlens[s] <= r < cuSeqlens[s+1]}.
     *
     * @param cuSeqlens [n+1] cumulative lengths: 0, non-decreasing, last = B*S; not modified
     */
    public static Segments packedSelf(Shape shape, int[] cuSeqlens) {
        requireShape(shape);
        InvalidInputException.require(shape.squareRows(), "cuSeqlens",
                "packed self-attention needs Sq = Sk, got Sq=" + shape.seqLen() + ", Sk=" + shape.kvSeqLen());
        checkCumulative("cuSeqlens", cuSeqlens, shape.rows(), "B*S");
        return packed(shape, cuSeqlens, cuSeqlens);
    }

    /**
     * Packed self-attention from segment ids (FlexAttention's document mask): {@code segmentIds[r]} is the document
     * of flat row r; equal ids must be contiguous and ids non-decreasing. Requires Sq = Sk.
     *
     * @param segmentIds [B*S] non-decreasing ids; not modified
     */
    public static Segments fromSegmentIds(Shape shape, int[] segmentIds) {
        requireShape(shape);
        InvalidInputException.require(segmentIds != null, "segmentIds", "is null");
        InvalidInputException.require(segmentIds.length == shape.rows(), "segmentIds",
                "length must be B*S = " + shape.rows() + ", got " + segmentIds.length);
        int[] cu = new int[segmentIds.length + 1];
        int n = 0;
        for (int r = 0; r < segmentIds.length; r++) {
            if (r > 0 && segmentIds[r] < segmentIds[r - 1]) {
                throw new InvalidInputException("segmentIds", "must be non-decreasing (each document contiguous), got "
                        + "segmentIds[" + (r - 1) + "] = " + segmentIds[r - 1] + " then segmentIds[" + r + "] = "
                        + segmentIds[r]);
            }
            if (r == 0 || segmentIds[r] != segmentIds[r - 1]) {
                cu[n++] = r;
            }
        }
        cu[n++] = segmentIds.length;
        return packedSelf(shape, Arrays.copyOf(cu, n));
    }

    /**
     * The general table (see the class comment for the rules).
     *
     * @param qStart [n], qLen [n], kStart [n], kLen [n]; not modified (copied)
     */
    public static Segments of(Shape shape, int[] qStart, int[] qLen, int[] kStart, int[] kLen) {
        requireShape(shape);
        String[] names = {"qStart", "qLen", "kStart", "kLen"};
        int[][] arrays = {qStart, qLen, kStart, kLen};
        for (int a = 0; a < 4; a++) {
            InvalidInputException.require(arrays[a] != null, names[a], "is null");
            InvalidInputException.require(arrays[a].length == qStart.length, names[a],
                    "has " + arrays[a].length + " entries but qStart has " + qStart.length);
        }
        return new Segments(shape, qStart.clone(), qLen.clone(), kStart.clone(), kLen.clone(), "table");
    }

    private static void requireShape(Shape shape) {
        InvalidInputException.require(shape != null, "shape", "is null");
    }

    private static void checkCumulative(String name, int[] cu, int total, String totalName) {
        InvalidInputException.require(cu != null, name, "is null");
        InvalidInputException.require(cu.length >= 2, name,
                "needs at least 2 entries (0 and the total), got " + cu.length);
        InvalidInputException.require(cu[0] == 0, name, "must start at 0, got " + name + "[0] = " + cu[0]);
        for (int s = 1; s < cu.length; s++) {
            InvalidInputException.require(cu[s] >= cu[s - 1], name, "must be non-decreasing, got " + name + "["
                    + (s - 1) + "] = " + cu[s - 1] + " > " + name + "[" + s + "] = " + cu[s]);
        }
        InvalidInputException.require(cu[cu.length - 1] == total, name, "ends at " + cu[cu.length - 1]
                + " but the tensors have " + totalName + " = " + total + " rows");
    }

    // ----------------------------------------------------------------------------------------------- queries

    /** Number of segments n. */
    public int count() {
        return qStart.length;
    }

    /** B*Sq, the query rows the table covers. */
    public int queryRows() {
        return qRows;
    }

    /** B*Sk, the key rows of the tensors (some may lie outside every segment). */
    public int keyRows() {
        return kRows;
    }

    public int qStart(int s) {
        return qStart[s];
    }

    public int qLen(int s) {
        return qLen[s];
    }

    public int kStart(int s) {
        return kStart[s];
    }

    public int kLen(int s) {
        return kLen[s];
    }

    /** The segment of flat query row r. */
    public int segmentOf(int r) {
        return rowSegment[r];
    }

    /** The position p of flat query row r inside its segment's keys: kLen - qLen + (r - qStart). */
    public int position(int r) {
        int s = rowSegment[r];
        return kLen[s] - qLen[s] + (r - qStart[s]);
    }

    /** The first key row of flat query row r's segment (position 0). */
    public int keyStart(int r) {
        return kStart[rowSegment[r]];
    }

    /** Whether flat key row kr lies inside a segment (is read by some query). */
    public boolean keyRowUsed(int kr) {
        int lo = 0;
        int hi = qStart.length - 1;
        while (lo <= hi) {     // the last segment with kStart <= kr
            int mid = (lo + hi) >>> 1;
            if (kStart[mid] <= kr) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        // key ranges are in order and disjoint, so among the segments that start at or before kr only the last
        // can contain it (an earlier one ends at or before that one's start)
        return hi >= 0 && kr < kStart[hi] + kLen[hi];
    }

    /** Whether this is the spec 1.x self-attention table: one segment per batch row, Sq = Sk, positions 0..S-1. */
    public boolean isSelfAttention() {
        return self;
    }

    /** [n+1] the query-row boundaries qStart[0], .., qStart[n-1], B*Sq (FlashAttention's cu_seqlens_q). */
    public int[] cuSeqlensQ() {
        int[] cu = Arrays.copyOf(qStart, qStart.length + 1);
        cu[qStart.length] = qRows;
        return cu;
    }

    /** [n] the key lengths of the segments (FlashAttention's cache_seqlens / seqused_k). */
    public int[] keyLengths() {
        return kLen.clone();
    }

    /** [n] the first key row of each segment. */
    public int[] keyStarts() {
        return kStart.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Segments t && qRows == t.qRows && kRows == t.kRows && Arrays.equals(qStart, t.qStart)
                && Arrays.equals(qLen, t.qLen) && Arrays.equals(kStart, t.kStart) && Arrays.equals(kLen, t.kLen);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(qLen) + Arrays.hashCode(kLen)) + Arrays.hashCode(kStart);
    }

    @Override
    public String toString() {
        if (self) {
            return "Segments[self-attention, " + count() + "]";
        }
        int shown = Math.min(count(), 4);
        StringBuilder sb = new StringBuilder("Segments[" + count() + ":");
        for (int s = 0; s < shown; s++) {
            sb.append(" (q ").append(qStart[s]).append("+").append(qLen[s]).append(", k ").append(kStart[s])
                    .append("+").append(kLen[s]).append(")");
        }
        return sb.append(count() > shown ? " ...]" : "]").toString();
    }
}
