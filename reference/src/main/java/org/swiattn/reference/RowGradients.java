package org.swiattn.reference;

import org.swiattn.spec.AttentionInputs;

/**
 * Gradients of a loss restricted to a set of query rows (dO is zero outside them), at chosen rows.
 *
 * <pre>{@code
 *   lossRows [L]        flat rows r = b*S + i where dO may be non-zero, ascending
 *   keyRows  [K]        flat rows whose dK, dV are returned
 *   dq       [L,Hq,D]   dQ at the loss rows (dQ is exactly zero at every other row)
 *   dk, dv   [K,Hkv,D]  dK, dV at the key rows (summed over the G query heads of each kv head)
 *   dA       [L]        dL/da at the loss rows (exactly zero at every other row)
 * }</pre>
 */
public record RowGradients(int[] lossRows, int[] keyRows, double[] dq, double[] dk, double[] dv, double[] dA) {

    /**
     * Validates the rows of a row-restricted backward: every row in [0, B*S), loss rows strictly ascending, key
     * rows distinct.
     *
     * @param lossRows [L] not modified
     * @param keyRows  [K] not modified
     */
    public static void checkRows(AttentionInputs in, int[] lossRows, int[] keyRows) {
        in.checkRows(lossRows);
        in.checkRows(keyRows);
        for (int n = 1; n < lossRows.length; n++) {
            if (lossRows[n] <= lossRows[n - 1]) {
                throw new IllegalArgumentException("lossRows: must be strictly ascending, lossRows[" + n + "] = "
                        + lossRows[n] + " after " + lossRows[n - 1]);
            }
        }
        boolean[] seen = new boolean[in.shape().rows()];
        for (int n = 0; n < keyRows.length; n++) {
            if (seen[keyRows[n]]) {
                throw new IllegalArgumentException("keyRows: duplicate row " + keyRows[n] + " at " + n);
            }
            seen[keyRows[n]] = true;
        }
    }
}
