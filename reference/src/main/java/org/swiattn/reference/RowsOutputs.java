package org.swiattn.reference;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.RowsResult;

/**
 * The outputs of one computation at chosen rows: the forward at the rows and, when asked, the gradients of the loss
 * restricted to the rows, at the rows (loss rows = key rows).
 *
 * <pre>{@code
 *   forward    o [R,Hq,D], lse [R,Hq]
 *   gradients  dq [R,Hq,D], dk, dv [R,Hkv,D], dA [R]; null for a forward-only computation
 * }</pre>
 */
public record RowsOutputs(RowsResult forward, RowGradients gradients) {

    /**
     * The computation's outputs at rows.
     *
     * @param in     validated inputs; not modified
     * @param rows   [R] strictly ascending flat rows; not modified
     * @param dORows [R,Hq,D] dO at the rows, or null for the forward only; not modified
     */
    public static RowsOutputs of(RowsComputation c, AttentionInputs in, int[] rows, double[] dORows) {
        return new RowsOutputs(c.forwardRows(in, rows), dORows == null ? null : c.backwardRows(in, rows, dORows, rows));
    }
}
