package org.swiattn.reference;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Visibility;

/**
 * M = max |s_rj| over the pairs the full branch sees (query row r, key rows {@code k0 .. k0 + p} of its segment),
 * the score magnitude of the fp64 tolerance rule ({@link org.swiattn.spec.Tolerance}). The full branch's keys
 * include the window branch's, so M bounds the scores any estimator touches.
 */
public final class ScoreMagnitude {
    private ScoreMagnitude() {
    }

    /** M over every query row: O(sum over rows of visible keys * Hq * D). @param in not modified */
    public static double max(AttentionInputs in) {
        int[] rows = new int[in.shape().rows()];
        for (int r = 0; r < rows.length; r++) {
            rows[r] = r;
        }
        return maxOverRows(in, rows);
    }

    /** M over chosen flat query rows only. @param in not modified @param rows [R] not modified */
    public static double maxOverRows(AttentionInputs in, int[] rows) {
        in.checkRows(rows);
        Shape sh = in.shape();
        double m = 0;
        for (int r : rows) {
            int first = Visibility.firstKeyRow(in.segments(), r, true, in.window());
            int last = Visibility.lastKeyRow(in.segments(), r);
            for (int h = 0; h < sh.qHeads(); h++) {
                int g = sh.kvHeadOf(h);
                for (int j = first; j <= last; j++) {
                    double s = in.scale() * AccurateMath.dot(in.q(), sh.qRowOffset(r, h), in.k(),
                            sh.kvRowOffset(j, g), sh.headDim());
                    m = Math.max(m, Math.abs(s));
                }
            }
        }
        return m;
    }
}
