package org.swiattn.cuda;

import java.util.Arrays;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.InvalidInputException;
import org.swiattn.spec.Segments;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Visibility;

/**
 * The work list of the split-KV decode ({@code decode.cu}): the visible keys of each batch row split into pieces
 * of whole 64-key tiles, one block per (piece, kv head), so that every multiprocessor has work whatever the batch
 * size, the cache lengths and the routes. Planned on the host from the lengths and routes (as FlashInfer and
 * FlashDecoding plan ahead of the launch), deterministic.
 *
 * <pre>{@code
 *   row b: keys [first_b, end_b) of its cache, first_b = 0 (full) or max(0, p-w+1) (window), end_b = p + 1 = len_b
 *   tiles  = sum_b ceil((end_b - first_b) / 64) * Hkv;   tilesPerPiece = max(1, ceil(tiles / (4 * SMs)))
 *   items  = {b, g, kLo, kHi} for every piece of every (b, g), the pieces of (b, g) consecutive:
 *            rowStart[b*Hkv + g], rowCount[b*Hkv + g]
 * }</pre>
 *
 * @param items    [4 * n] {b, g, kLo, kHi} per item
 * @param rowStart [B * Hkv] first item of (b, g)
 * @param rowCount [B * Hkv] items of (b, g)
 */
public record DecodePlan(int[] items, int[] rowStart, int[] rowCount) {
    /** Keys per tile (the piece granularity). */
    public static final int TILE = 64;

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
     * @param first           [B] first visible key of each row; not modified
     * @param end             [B] one past the last; end > first; not modified
     * @param multiprocessors the device's SM count (4 blocks per SM are aimed at)
     */
    public static DecodePlan of(int[] first, int[] end, int kvHeads, int multiprocessors) {
        int batch = first.length;
        long tiles = 0;
        for (int b = 0; b < batch; b++) {
            InvalidInputException.require(end[b] > first[b], "cacheSeqlens", "row " + b + " sees no key: ["
                    + first[b] + ", " + end[b] + ")");
            tiles += (long) ceilDiv(end[b] - first[b], TILE) * kvHeads;
        }
        long perPiece = Math.max(1, ceilDiv(tiles, 4L * Math.max(1, multiprocessors)));
        int[] rowStart = new int[batch * kvHeads];
        int[] rowCount = new int[batch * kvHeads];
        int n = 0;
        int[] items = new int[16];
        for (int b = 0; b < batch; b++) {
            long span = perPiece * TILE;
            int pieces = (int) ceilDiv(end[b] - first[b], span);
            for (int g = 0; g < kvHeads; g++) {
                rowStart[b * kvHeads + g] = n;
                rowCount[b * kvHeads + g] = pieces;
                for (int p = 0; p < pieces; p++) {
                    if (4 * (n + 1) > items.length) {
                        items = Arrays.copyOf(items, 2 * items.length);
                    }
                    long lo = first[b] + p * span;
                    items[4 * n] = b;
                    items[4 * n + 1] = g;
                    items[4 * n + 2] = (int) lo;
                    items[4 * n + 3] = (int) Math.min(end[b], lo + span);
                    n++;
                }
            }
        }
        return new DecodePlan(Arrays.copyOf(items, 4 * n), rowStart, rowCount);
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
