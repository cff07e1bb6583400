package org.swiattn.golden;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.swiattn.reference.ReferenceAttention;
import org.swiattn.reference.RowGradients;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Shape;

/**
 * The row-restricted backward ({@link RowsBackward}) agrees with {@code ReferenceAttention.backward} to 1e-14
 * normwise for a dO that is zero outside the loss rows, on every estimator (the 32K golden gradients rest on this;
 * the naive row backward is checked in the reference module).
 */
class RowsBackwardTest {
    private static final int[] LOSS = {0, 3, 7, 8, 15, 22, 23};
    private static final int[] KEYS = {23, 0, 1, 7, 8, 9, 16, 22};

    private static AttentionInputs inputs(Estimator e, int batch) {
        CaseSpec c = new CaseSpec(900, "t", CaseSpec.Kind.WHOLE, new Shape(batch, 24, 4, 2, 8), 8, Double.NaN, e,
                CaseSpec.RouteKind.RANDOM, 0.5, 99, 2, 1, 1, 1, true, -1, List.of(), "");
        return CaseInputs.inputs(c);
    }

    private static double[] maskedDo(AttentionInputs in, int[] loss) {
        Shape sh = in.shape();
        int hd = sh.qHeads() * sh.headDim();
        double[] full = new double[sh.qSize()];
        SplitMix64.fill(5, "do", 1, full);
        double[] masked = new double[full.length];
        for (int r : loss) {
            System.arraycopy(full, r * hd, masked, r * hd, hd);
        }
        return masked;
    }

    private static double[] rowsOf(double[] x, int[] rows, int width) {
        double[] out = new double[rows.length * width];
        for (int n = 0; n < rows.length; n++) {
            System.arraycopy(x, rows[n] * width, out, n * width, width);
        }
        return out;
    }

    @Test
    void referenceRowsBackwardAgreesWithWholeBackward() {
        int checked = 0;
        for (Estimator e : Estimator.values()) {
            for (int batch : new int[] {1, 2}) {
                AttentionInputs in = inputs(e, batch);
                int[] loss = batch == 1 ? LOSS : new int[] {0, 3, 7, 8, 15, 22, 23, 24, 30, 47};
                int[] keys = batch == 1 ? KEYS : new int[] {23, 0, 1, 7, 8, 9, 16, 22, 24, 40, 47};
                double[] dO = maskedDo(in, loss);
                Shape sh = in.shape();
                BackwardResult whole = new ReferenceAttention().backward(in, dO);
                RowGradients rows = RowsBackward.backward(in, loss, rowsOf(dO, loss, sh.qHeads() * sh.headDim()),
                        keys);
                assertClose(rows.dq(), rowsOf(whole.dq(), loss, sh.qHeads() * sh.headDim()), e + " dq");
                assertClose(rows.dk(), rowsOf(whole.dk(), keys, sh.kvHeads() * sh.headDim()), e + " dk");
                assertClose(rows.dv(), rowsOf(whole.dv(), keys, sh.kvHeads() * sh.headDim()), e + " dv");
                assertClose(rows.dA(), rowsOf(whole.dRouterLogit(), loss, 1), e + " dA");
                assertThat(rows.dq()).as("not trivially zero").isNotEqualTo(new double[rows.dq().length]);
                checked++;
            }
        }
        assertThat(checked).as("every estimator, B = 1 and 2").isEqualTo(2 * Estimator.values().length);
    }

    private static void assertClose(double[] got, double[] want, String what) {
        assertThat(got).as(what).hasSameSizeAs(want);
        double e = org.swiattn.spec.ErrorMeasures.normwiseRelative(got, want);
        assertThat(e).as(what + " normwise relative error").isLessThanOrEqualTo(1e-14);
    }
}
