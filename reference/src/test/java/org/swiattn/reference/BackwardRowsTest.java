package org.swiattn.reference;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import org.junit.jupiter.api.Test;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Shape;

/**
 * The row-restricted backwards ({@code ReferenceAttention.backwardRows}, {@code NaiveAttention.backwardRows}) equal
 * their whole backward bit for bit for a dO that is zero outside the loss rows, on every estimator (the 32K golden
 * gradients and naive errors rest on this).
 */
class BackwardRowsTest {
    private static final int[] LOSS = {0, 3, 7, 8, 15, 22, 23};
    private static final int[] KEYS = {23, 0, 1, 7, 8, 9, 16, 22};
    private static final int[] LOSS_B2 = {0, 3, 7, 8, 15, 22, 23, 24, 30, 47};
    private static final int[] KEYS_B2 = {23, 0, 1, 7, 8, 9, 16, 22, 24, 40, 47};

    private static AttentionInputs inputs(Estimator e, int batch) {
        return TestCases.random(99 + e.ordinal(), new Shape(batch, 24, 4, 2, 8), 8, e);
    }

    /** dO of the loss rows, zero elsewhere: [B,S,Hq,D]. */
    private static double[] maskedDo(AttentionInputs in, int[] loss) {
        Shape sh = in.shape();
        int hd = sh.qHeads() * sh.headDim();
        double[] full = TestCases.uniform(new Random(5), sh.qSize(), 1);
        double[] masked = new double[full.length];
        for (int r : loss) {
            System.arraycopy(full, r * hd, masked, r * hd, hd);
        }
        return masked;
    }

    static double[] rowsOf(double[] x, int[] rows, int width) {
        double[] out = new double[rows.length * width];
        for (int n = 0; n < rows.length; n++) {
            System.arraycopy(x, rows[n] * width, out, n * width, width);
        }
        return out;
    }

    @Test
    void referenceRowsEqualWholeBackwardBitForBit() {
        int checked = 0;
        for (Estimator e : Estimator.values()) {
            for (int batch : new int[] {1, 2}) {
                AttentionInputs in = inputs(e, batch);
                int[] loss = batch == 1 ? LOSS : LOSS_B2;
                int[] keys = batch == 1 ? KEYS : KEYS_B2;
                double[] dO = maskedDo(in, loss);
                Shape sh = in.shape();
                int hd = sh.qHeads() * sh.headDim();
                int kvd = sh.kvHeads() * sh.headDim();
                ReferenceAttention ref = new ReferenceAttention();
                BackwardResult whole = ref.backward(in, dO);
                RowGradients rows = ref.backwardRows(in, loss, rowsOf(dO, loss, hd), keys);
                assertEqualValues(rows.dq(), rowsOf(whole.dq(), loss, hd), e + " dq");
                assertEqualValues(rows.dk(), rowsOf(whole.dk(), keys, kvd), e + " dk");
                assertEqualValues(rows.dv(), rowsOf(whole.dv(), keys, kvd), e + " dv");
                assertEqualValues(rows.dA(), rowsOf(whole.dRouterLogit(), loss, 1), e + " dA");
                assertThat(rows.dq()).as("not trivially zero").isNotEqualTo(new double[rows.dq().length]);
                assertThat(rows.dk()).as("not trivially zero").isNotEqualTo(new double[rows.dk().length]);
                checked++;
            }
        }
        assertThat(checked).as("every estimator, B = 1 and 2").isEqualTo(2 * Estimator.values().length);
    }

    @Test
    void rejectsUnsortedLossRowsAndAWrongDoLength() {
        AttentionInputs in = inputs(Estimator.SOFT, 1);
        int hd = in.shape().qHeads() * in.shape().headDim();
        ReferenceAttention ref = new ReferenceAttention();
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> ref.backwardRows(in, new int[] {3, 1}, new double[2 * hd], KEYS))
                .hasMessageContaining("lossRows");
        org.assertj.core.api.Assertions.assertThatThrownBy(
                () -> ref.backwardRows(in, LOSS, new double[hd], KEYS))
                .hasMessageContaining("dORows");
    }

    @Test
    void naiveRowsEqualWholeNaiveBitForBit() {
        int checked = 0;
        for (Precision p : new Precision[] {Precision.FP32, Precision.BF16, Precision.FP64}) {
            for (Estimator e : Estimator.values()) {
                AttentionInputs in = inputs(e, 1);
                Shape sh = in.shape();
                int hd = sh.qHeads() * sh.headDim();
                int kvd = sh.kvHeads() * sh.headDim();
                NaiveAttention naive = new NaiveAttention(p);
                ForwardResult f = naive.forward(in);
                RowsResult fr = naive.forwardRows(in, LOSS);
                assertEqualValues(fr.o(), rowsOf(f.o(), LOSS, hd), p + " " + e + " o");
                assertEqualValues(fr.lse(), rowsOf(f.lse(), LOSS, sh.qHeads()), p + " " + e + " lse");
                double[] dO = maskedDo(in, LOSS);
                BackwardResult b = naive.backward(in, dO);
                RowGradients g = naive.backwardRows(in, LOSS, rowsOf(dO, LOSS, hd), KEYS);
                assertEqualValues(g.dq(), rowsOf(b.dq(), LOSS, hd), p + " " + e + " dq");
                assertEqualValues(g.dk(), rowsOf(b.dk(), KEYS, kvd), p + " " + e + " dk");
                assertEqualValues(g.dv(), rowsOf(b.dv(), KEYS, kvd), p + " " + e + " dv");
                assertEqualValues(g.dA(), rowsOf(b.dRouterLogit(), LOSS, 1), p + " " + e + " dA");
                checked++;
            }
        }
        assertThat(checked).isEqualTo(3 * Estimator.values().length);
    }

    /** Equal values (+0.0 and -0.0 count as equal: skipped zero rows may flip the sign of a zero sum). */
    static void assertEqualValues(double[] got, double[] want, String what) {
        assertThat(got).as(what).hasSameSizeAs(want);
        for (int n = 0; n < got.length; n++) {
            if (got[n] != want[n]) {
                throw new AssertionError(what + ": element " + n + " is " + got[n] + ", whole implementation "
                        + want[n]);
            }
        }
    }
}
