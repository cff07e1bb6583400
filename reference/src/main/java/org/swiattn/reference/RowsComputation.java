package org.swiattn.reference;

import java.util.stream.IntStream;

import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Shape;

/**
 * An attention computation asked for chosen rows: what a planted {@link Mistake} transforms. The forward answers
 * for chosen query rows; the backward is the gradient of a loss restricted to chosen rows (dO zero elsewhere), at
 * chosen rows (the form of the 32K golden cases; the whole backward is lossRows = keyRows = every row).
 *
 * <pre>{@code
 *   forwardRows   rows [R]                         -> o [R,Hq,D], lse [R,Hq]
 *   backwardRows  lossRows [L], dORows [L,Hq,D],
 *                 keyRows [K]                      -> dq [L,Hq,D], dk, dv [K,Hkv,D], dA [L]
 * }</pre>
 * {@link ReferenceAttention} and {@link NaiveAttention} answer both; the whole forward and backward are the
 * case rows = lossRows = keyRows = every row.
 */
public interface RowsComputation {

    /**
     * @param in   validated inputs; not modified
     * @param rows [R] flat rows r = b*S + i; not modified
     */
    RowsResult forwardRows(AttentionInputs in, int[] rows);

    /**
     * @param in       validated inputs; not modified
     * @param lossRows [L] flat rows, strictly ascending; not modified
     * @param dORows   [L,Hq,D] dO at the loss rows; not modified
     * @param keyRows  [K] distinct flat rows whose dK, dV are wanted; not modified
     */
    RowGradients backwardRows(AttentionInputs in, int[] lossRows, double[] dORows, int[] keyRows);

    /** Rows of a row-major [rows, width] array: out[n] = x[rows[n]]. @param x not modified */
    static double[] gather(double[] x, int[] rows, int width) {
        double[] out = new double[rows.length * width];
        for (int n = 0; n < rows.length; n++) {
            System.arraycopy(x, rows[n] * width, out, n * width, width);
        }
        return out;
    }

    /** Every flat row 0 .. B*S-1. */
    static int[] allRows(Shape sh) {
        return IntStream.range(0, sh.rows()).toArray();
    }
}
