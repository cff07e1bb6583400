package org.swiattn.reference;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.RowsResult;

/**
 * The outputs of one computation at chosen rows: the forward at the rows and, when asked, the gradients of the loss
 * restricted to the rows, at the rows (dK, dV at {@link #keyRows}).
 *
 * <pre>{@code
 *   forward    o [R,Hq,D], lse [R,Hq]
 *   gradients  dq [R,Hq,D], dk, dv [K,Hkv,D] at keyRows(in, rows), dA [R]; null for a forward-only computation
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
        return new RowsOutputs(c.forwardRows(in, rows), dORows == null ? null
                : c.backwardRows(in, rows, dORows, keyRows(in, rows)));
    }

    /**
     * The key rows whose dK, dV go with query rows: every key row (B*Sk of them) when every query row is asked
     * (a whole call, spec 2.0 segments included), the rows themselves otherwise (row subsets of self-attention,
     * where query row r and key row r are the same position).
     *
     * @param rows [R] flat query rows; not modified
     */
    public static int[] keyRows(AttentionInputs in, int[] rows) {
        return rows.length == in.shape().rows() ? java.util.stream.IntStream.range(0, in.shape().kvRows()).toArray()
                : rows;
    }
}
