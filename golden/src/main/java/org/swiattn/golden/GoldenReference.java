package org.swiattn.golden;

import org.swiattn.reference.ReferenceAttention;
import org.swiattn.reference.RowGradients;
import org.swiattn.reference.RowsComputation;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.RowsResult;

/**
 * The fp64 reference as the golden files compute it, asked for chosen rows: {@link ReferenceAttention} for the
 * forward and for a backward over every row (WHOLE cases: bit for bit the golden values), {@link RowsBackward} for
 * a self-attention backward at fewer rows (how the suite-1 SAMPLED 32K gradient rows were computed; suite 2 uses
 * the reference's backwardRows). What {@link MistakeFinder} plants the
 * catalogued mistakes into.
 */
final class GoldenReference implements RowsComputation {
    private final ReferenceAttention reference = new ReferenceAttention();

    @Override
    public RowsResult forwardRows(AttentionInputs in, int[] rows) {
        return reference.forwardRows(in, rows);
    }

    @Override
    public RowGradients backwardRows(AttentionInputs in, int[] lossRows, double[] dORows, int[] keyRows) {
        int all = in.shape().rows();
        boolean suiteOneSampled = in.segments().isSelfAttention() && (lossRows.length != all || keyRows.length != all);
        return suiteOneSampled ? RowsBackward.backward(in, lossRows, dORows, keyRows)
                : reference.backwardRows(in, lossRows, dORows, keyRows);
    }
}
