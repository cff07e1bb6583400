package org.swiattn.golden;

/**
 * Gradients of a loss restricted to a set of query rows (dO is zero outside them), at chosen rows.
 *
 * <pre>
 *   lossRows [L]        flat rows r = b*S + i where dO may be non-zero, ascending
 *   keyRows  [K]        flat rows whose dK, dV are returned
 *   dq       [L,Hq,D]   dQ at the loss rows (dQ is exactly zero at every other row)
 *   dk, dv   [K,Hkv,D]  dK, dV at the key rows (summed over the G query heads of each kv head)
 *   dA       [L]        dL/da at the loss rows (exactly zero at every other row)
 * </pre>
 */
public record RowGradients(int[] lossRows, int[] keyRows, double[] dq, double[] dk, double[] dv, double[] dA) {
}
