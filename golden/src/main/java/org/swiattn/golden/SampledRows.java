package org.swiattn.golden;

import java.util.TreeSet;
import org.swiattn.spec.Route;
import org.swiattn.spec.Segments;

/**
 * The sampled query rows and key rows of a suite-2 SAMPLED case (SPEC.md section 13.1): the rows where the
 * positions of a segment meet the window, the chunk boundary or the segment's ends, for every segment. Suite 1 keeps
 * its own rule ({@link CaseInputs#sampledRows}), so its files never change.
 *
 * <pre>
 *   segment s: q0 = kLen - qLen (position of its first query), positions p of its queries q0 .. kLen-1
 *   query rows   p in {q0, q0+1, q0+2} + {0, 1, 2, w-2, w-1, w, w+1, kLen-w, kLen-3, kLen-2, kLen-1},
 *                q0 &lt;= p &lt; kLen, at flat row qStart + p - q0; then one full-routed and one window-routed
 *                row not yet chosen, drawn uniformly from [0, B*Sq) (stream "rows", at most 10000 draws each)
 *   key rows     j in {0, 1, 2, w-2, w-1, w, w+1, q0-w, q0-w+1, q0-1, q0, kLen-w, kLen-3, kLen-2, kLen-1}
 *                + the positions of the segment's sampled query rows, 0 &lt;= j &lt; kLen, at flat key row
 *                kStart + j; and the first key row after the segment when it lies in no segment (an unused cache
 *                slot: its dK, dV must be exactly 0)
 * </pre>
 * Both lists are sorted and distinct.
 */
public final class SampledRows {
    private SampledRows() {
    }

    /** @return [R] flat query rows, ascending */
    public static int[] queryRows(CaseSpec c, Segments seg, Route route) {
        int w = c.window();
        TreeSet<Integer> rows = new TreeSet<>();
        for (int s = 0; s < seg.count(); s++) {
            int kLen = seg.kLen(s);
            int q0 = kLen - seg.qLen(s);
            for (int p : new int[] {q0, q0 + 1, q0 + 2, 0, 1, 2, w - 2, w - 1, w, w + 1, kLen - w, kLen - 3,
                kLen - 2, kLen - 1}) {
                if (p >= q0 && p < kLen) {
                    rows.add(seg.qStart(s) + p - q0);
                }
            }
        }
        SplitMix64 g = new SplitMix64(SplitMix64.tensorSeed(c.seed(), "rows"));
        int n = seg.queryRows();
        for (boolean wantFull : new boolean[] {true, false}) {
            for (int tries = 0; tries < 10_000; tries++) {
                int r = (int) Long.remainderUnsigned(g.nextLong(), n);
                if (route.isFull(r) == wantFull && !rows.contains(r)) {
                    rows.add(r);
                    break;
                }
            }
        }
        return rows.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * @param queryRows [R] the case's sampled query rows; not modified
     * @return [K] flat key rows, ascending
     */
    public static int[] keyRows(CaseSpec c, Segments seg, int[] queryRows) {
        int w = c.window();
        TreeSet<Integer> keys = new TreeSet<>();
        for (int s = 0; s < seg.count(); s++) {
            int kLen = seg.kLen(s);
            int q0 = kLen - seg.qLen(s);
            for (int j : new int[] {0, 1, 2, w - 2, w - 1, w, w + 1, q0 - w, q0 - w + 1, q0 - 1, q0, kLen - w,
                kLen - 3, kLen - 2, kLen - 1}) {
                if (j >= 0 && j < kLen) {
                    keys.add(seg.kStart(s) + j);
                }
            }
            int after = seg.kStart(s) + kLen;
            if (after < seg.keyRows() && !seg.keyRowUsed(after)) {
                keys.add(after);
            }
        }
        for (int r : queryRows) {
            keys.add(seg.keyStart(r) + seg.position(r));
        }
        return keys.stream().mapToInt(Integer::intValue).toArray();
    }
}
