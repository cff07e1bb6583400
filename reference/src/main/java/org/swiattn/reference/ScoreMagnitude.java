package org.swiattn.reference;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Shape;

/**
 * M = max |s_ij| over causal pairs ({@code j <= i}), the score magnitude of the fp64 tolerance rule
 * ({@link org.swiattn.spec.Tolerance}). Causal pairs include both branches' visible sets, so M bounds the scores
 * any estimator touches.
 */
public final class ScoreMagnitude {
    private ScoreMagnitude() {
    }

    /** M over every row: O(B*S^2*Hq*D). @param in not modified */
    public static double max(AttentionInputs in) {
        int[] rows = new int[in.shape().rows()];
        for (int r = 0; r < rows.length; r++) {
            rows[r] = r;
        }
        return maxOverRows(in, rows);
    }

    /** M over chosen rows r = b*S + i only. @param in not modified @param rows [R] not modified */
    public static double maxOverRows(AttentionInputs in, int[] rows) {
        in.checkRows(rows);
        Shape sh = in.shape();
        double m = 0;
        for (int r : rows) {
            int b = r / sh.seqLen();
            int i = r % sh.seqLen();
            for (int h = 0; h < sh.qHeads(); h++) {
                int g = sh.kvHeadOf(h);
                for (int j = 0; j <= i; j++) {
                    double s = in.scale() * AccurateMath.dot(in.q(), sh.qOffset(b, i, h), in.k(),
                            sh.kvOffset(b, j, g), sh.headDim());
                    m = Math.max(m, Math.abs(s));
                }
            }
        }
        return m;
    }
}
