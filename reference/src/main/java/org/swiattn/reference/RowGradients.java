package org.swiattn.reference;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.InvalidInputException;

/**
 * Gradients of a loss restricted to a set of query rows (dO is zero outside them), at chosen rows.
 *
 * <pre>{@code
 *   lossRows [L]        flat query rows r = b*Sq + i where dO may be non-zero, ascending
 *   keyRows  [K]        flat key rows kr = b*Sk + j whose dK, dV are returned
 *   dq       [L,Hq,D]   dQ at the loss rows (dQ is exactly zero at every other row)
 *   dk, dv   [K,Hkv,D]  dK, dV at the key rows (summed over the G query heads of each kv head)
 *   dA       [L]        dL/da at the loss rows (exactly zero at every other row)
 * }</pre>
 */
public record RowGradients(int[] lossRows, int[] keyRows, double[] dq, double[] dk, double[] dv, double[] dA) {

    /**
     * Validates the rows of a row-restricted backward: loss rows in [0, B*Sq) and strictly ascending, key rows in
     * [0, B*Sk) and distinct.
     *
     * @param lossRows [L] not modified
     * @param keyRows  [K] not modified
     */
    public static void checkRows(AttentionInputs in, int[] lossRows, int[] keyRows) {
        in.checkRows(lossRows);
        InvalidInputException.require(keyRows != null, "keyRows", "is null");
        int kvRows = in.shape().kvRows();
        for (int n = 0; n < keyRows.length; n++) {
            if (keyRows[n] < 0 || keyRows[n] >= kvRows) {
                throw new InvalidInputException("keyRows", "keyRows[" + n + "] = " + keyRows[n]
                        + " is outside [0, B*Sk) = [0, " + kvRows + ")");
            }
        }
        for (int n = 1; n < lossRows.length; n++) {
            if (lossRows[n] <= lossRows[n - 1]) {
                throw new IllegalArgumentException("lossRows: must be strictly ascending, lossRows[" + n + "] = "
                        + lossRows[n] + " after " + lossRows[n - 1]);
            }
        }
        boolean[] seen = new boolean[kvRows];
        for (int n = 0; n < keyRows.length; n++) {
            if (seen[keyRows[n]]) {
                throw new IllegalArgumentException("keyRows: duplicate row " + keyRows[n] + " at " + n);
            }
            seen[keyRows[n]] = true;
        }
    }
}
