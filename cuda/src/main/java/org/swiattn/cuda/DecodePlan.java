package org.swiattn.cuda;

import java.util.Arrays;
import java.util.PriorityQueue;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Visibility;

/**
 * The work list of the split-KV decode ({@code decode.cuh}): the visible keys of each (batch row, kv head) pair
 * split into balanced pieces of whole 64-key tiles, one block per piece. Planned on the host from the lengths and
 * routes (as FlashInfer and FlashDecoding plan ahead of the launch), deterministic.
 *
 * <pre>{@code
 *   row b: keys [first_b, end_b) of its cache, first_b = 0 (full) or max(0, p-w+1) (window), end_b = p + 1 = len_b
 *   R_b    = ceil((end_b - first_b) / 64) tiles;  a row of R_b tiles is cut into k_b = ceil(R_b / P) pieces,
 *            piece i = tiles [floor(i R_b / k_b), floor((i+1) R_b / k_b))
 *   P      the piece size (tiles) whose launch finishes first on `slots` resident blocks: items are handed, in
 *          launch order, to the slot that frees first; an item costs its tiles + 1 (its start), + 1 more when
 *          its pair is split (the merge); ties go to the larger P (fewer pieces to merge)
 *   items  {pair = b*Hkv + g, piece, kLo, kHi}, launch order b, piece, g (the kv heads of one piece side by side
 *          read neighbouring bytes of the cache rows);  rowStart[pair] = the pair's first partial row,
 *          rowCount[pair] = k_b
 * }</pre>
 *
 * @param items    [4 * n] {pair, piece, kLo, kHi} per item, in launch order (one item per piece)
 * @param rowStart [B * Hkv] first partial row of each pair (pairs in order)
 * @param rowCount [B * Hkv] pieces of each pair
 */
public record DecodePlan(int[] items, int[] rowStart, int[] rowCount) {
    /** Keys per tile (the piece granularity). */
    public static final int TILE = 64;
    /** Most piece sizes tried by {@link #of}. */
    static final int CANDIDATES = 256;

    /** Number of work items. */
    public int count() {
        return items.length / 4;
    }

    /**
     * Whether the inputs are a decode step: one query row per batch row (Sq = 1), batch row b's query in segment b
     * over cache row b (kvCache or bottom-right segments: key rows b*Sk .. b*Sk + len_b - 1).
     *
     * @param in not modified
     */
    public static boolean isDecode(AttentionInputs in) {
        Shape sh = in.shape();
        Segments seg = in.segments();
        if (sh.seqLen() != 1 || seg.count() != sh.batch()) {
            return false;
        }
        for (int s = 0; s < seg.count(); s++) {
            if (seg.qStart(s) != s || seg.qLen(s) != 1 || seg.kStart(s) != s * sh.kvSeqLen()) {
                return false;
            }
        }
        return true;
    }

    /**
     * The visible key range [first_b, end_b) of each batch row of decode inputs, for the branch chosen by full
     * (null: each row's routed branch).
     *
     * @param full per-row branch override, or null; not modified
     * @return {first[B], end[B]} relative to the row's cache
     */
    public static int[][] ranges(AttentionInputs in, Boolean full) {
        Shape sh = in.shape();
        int w = Visibility.effectiveWindow(in.window(), sh.kvSeqLen());
        int[] first = new int[sh.batch()];
        int[] end = new int[sh.batch()];
        for (int b = 0; b < sh.batch(); b++) {
            boolean f = full != null ? full : in.route().isFull(b);
            int base = b * sh.kvSeqLen();
            first[b] = Visibility.firstKeyRow(in.segments(), b, f, w) - base;
            end[b] = Visibility.lastKeyRow(in.segments(), b) - base + 1;
        }
        return new int[][] {first, end};
    }

    /**
     * Plans the pieces of the rows' key ranges.
     *
     * @param first [B] first visible key of each row; not modified
     * @param end   [B] one past the last; end > first; not modified
     * @param slots blocks of the split kernel resident on the device at once (SMs x blocks per SM), >= 1
     */
    public static DecodePlan of(int[] first, int[] end, int kvHeads, int slots) {
        InvalidInputException.require(slots >= 1, "slots", "at least one resident block, got " + slots);
        int[] rowTiles = rowTiles(first, end);
        return build(first, end, rowTiles, kvHeads, pieceSize(rowTiles, kvHeads, slots));
    }

    /**
     * Plans pieces of at most the given number of tiles (the benchmark's sweep of what {@link #of} chooses).
     *
     * @param first [B] first visible key of each row; not modified
     * @param end   [B] one past the last; end > first; not modified
     * @param tiles piece size in 64-key tiles, >= 1
     */
    public static DecodePlan withPieceSize(int[] first, int[] end, int kvHeads, int tiles) {
        InvalidInputException.require(tiles >= 1, "tiles", "a piece of at least one tile, got " + tiles);
        return build(first, end, rowTiles(first, end), kvHeads, tiles);
    }

    /** R_b = ceil((end_b - first_b) / 64) of every row, refusing a row without keys. first, end not modified. */
    private static int[] rowTiles(int[] first, int[] end) {
        int[] rowTiles = new int[first.length];
        for (int b = 0; b < first.length; b++) {
            InvalidInputException.require(end[b] > first[b], "cacheSeqlens", "row " + b + " sees no key: ["
                    + first[b] + ", " + end[b] + ")");
            rowTiles[b] = ceilDiv(end[b] - first[b], TILE);
        }
        return rowTiles;
    }

    /**
     * The piece size P (tiles) of the shortest simulated launch, ties to the larger P. Candidates: every size from
     * the longest row's tiles down to all tiles / (4 slots) (at least 1), or CANDIDATES of them spaced
     * geometrically when there are more. rowTiles not modified.
     */
    static int pieceSize(int[] rowTiles, int kvHeads, int slots) {
        long total = 0;
        int maxTiles = 0;
        for (int r : rowTiles) {
            total += (long) r * kvHeads;
            maxTiles = Math.max(maxTiles, r);
        }
        int lo = (int) Math.max(1, Math.min(maxTiles, total / (4L * slots)));
        int count = maxTiles - lo + 1;
        int best = maxTiles;
        long bestSpan = Long.MAX_VALUE;
        for (int c = 0; c < Math.min(count, CANDIDATES); c++) {
            int p = count <= CANDIDATES ? maxTiles - c
                    : (int) Math.round(maxTiles * Math.pow((double) lo / maxTiles, c / (CANDIDATES - 1.0)));
            long span = makespan(rowTiles, kvHeads, slots, p);
            if (span < bestSpan) {
                bestSpan = span;
                best = p;
            }
        }
        return best;
    }

    /** The simulated launch of piece size p: items in launch order to the first free of `slots` slots. */
    static long makespan(int[] rowTiles, int kvHeads, int slots, int p) {
        PriorityQueue<Long> free = new PriorityQueue<>();
        long span = 0;
        for (int r : rowTiles) {
            int k = ceilDiv(r, p);
            for (int i = 0; i < k; i++) {
                long cost = (long) (i + 1) * r / k - (long) i * r / k + 1 + (k > 1 ? 1 : 0);
                for (int g = 0; g < kvHeads; g++) {
                    long start = free.size() < slots ? 0 : free.poll();
                    long done = start + cost;
                    free.add(done);
                    span = Math.max(span, done);
                }
            }
        }
        return span;
    }

    private static DecodePlan build(int[] first, int[] end, int[] rowTiles, int kvHeads, int size) {
        int batch = first.length;
        int[] rowStart = new int[batch * kvHeads];
        int[] rowCount = new int[batch * kvHeads];
        int parts = 0;
        int n = 0;
        for (int b = 0; b < batch; b++) {
            int k = ceilDiv(rowTiles[b], size);
            for (int g = 0; g < kvHeads; g++) {
                rowStart[b * kvHeads + g] = parts;
                rowCount[b * kvHeads + g] = k;
                parts += k;
            }
            n += k * kvHeads;
        }
        int[] items = new int[4 * n];
        int at = 0;
        for (int b = 0; b < batch; b++) {
            int r = rowTiles[b];
            int k = rowCount[b * kvHeads];
            for (int i = 0; i < k; i++) {
                int lo = first[b] + (int) ((long) i * r / k) * TILE;
                int hi = Math.min(end[b], first[b] + (int) ((long) (i + 1) * r / k) * TILE);
                for (int g = 0; g < kvHeads; g++) {
                    items[at++] = b * kvHeads + g;
                    items[at++] = i;
                    items[at++] = lo;
                    items[at++] = hi;
                }
            }
        }
        return new DecodePlan(items, rowStart, rowCount);
    }

    private static int ceilDiv(int a, int b) {
        return (int) (((long) a + b - 1) / b);
    }
}
