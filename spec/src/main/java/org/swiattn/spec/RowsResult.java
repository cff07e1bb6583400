package org.swiattn.spec;

/**
 * Forward outputs for a chosen set of query rows (rows are independent in the forward pass).
 *
 * <pre>
 *   rows [R]        flat row indices r = b*S + i, in the order asked
 *   o    [R,Hq,D]   o[n] is row rows[n] of the [B,S,Hq,D] output
 *   lse  [R,Hq]
 * </pre>
 */
public record RowsResult(Shape shape, int[] rows, double[] o, double[] lse) {
    public RowsResult {
        if (o.length != rows.length * shape.qHeads() * shape.headDim() || lse.length != rows.length * shape.qHeads()) {
            throw new IllegalArgumentException("RowsResult sizes disagree with " + rows.length + " rows of " + shape);
        }
    }

    /** Extracts rows from a whole forward result. */
    public static RowsResult extract(ForwardResult all, int[] rows) {
        Shape s = all.shape();
        int hd = s.qHeads() * s.headDim();
        double[] o = new double[rows.length * hd];
        double[] lse = new double[rows.length * s.qHeads()];
        for (int n = 0; n < rows.length; n++) {
            System.arraycopy(all.o(), rows[n] * hd, o, n * hd, hd);
            System.arraycopy(all.lse(), rows[n] * s.qHeads(), lse, n * s.qHeads(), s.qHeads());
        }
        return new RowsResult(s, rows.clone(), o, lse);
    }
}
