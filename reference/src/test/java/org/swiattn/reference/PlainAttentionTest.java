package org.swiattn.reference;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;

import org.junit.jupiter.api.Test;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Shape;

/** The plain definition and the compensated reference compute the same thing, to plain fp64 rounding. */
class PlainAttentionTest {

    @Test
    void agreesWithTheReferenceAndTheOracleForEveryEstimator() {
        PlainAttention plain = new PlainAttention();
        ReferenceAttention ref = new ReferenceAttention();
        int checked = 0;
        for (Estimator est : Estimator.values()) {
            Shape sh = new Shape(2, 13, 4, 2, 6);
            AttentionInputs in = TestCases.random(40 + est.ordinal(), sh, 4, est);
            double[] dO = TestCases.uniform(new Random(7 + est.ordinal()), sh.qSize(), 1);
            ForwardResult p = plain.forward(in);
            ForwardResult exact = new DfpOracle().forward(in);
            assertThat(ErrorMeasures.normwiseRelative(p.o(), exact.o())).as("%s o", est).isLessThan(1e-14);
            assertThat(ErrorMeasures.normwiseRelative(p.lse(), exact.lse())).as("%s lse", est).isLessThan(1e-14);
            assertThat(p.o()).as("%s: not bit-identical to the compensated reference", est)
                    .isNotEqualTo(ref.forward(in).o());
            BackwardResult gp = plain.backward(in, dO);
            BackwardResult gr = ref.backward(in, dO);
            assertThat(ErrorMeasures.normwiseRelative(gp.dq(), gr.dq())).as("%s dq", est).isLessThan(1e-13);
            assertThat(ErrorMeasures.normwiseRelative(gp.dk(), gr.dk())).as("%s dk", est).isLessThan(1e-13);
            assertThat(ErrorMeasures.normwiseRelative(gp.dv(), gr.dv())).as("%s dv", est).isLessThan(1e-13);
            if (est == Estimator.HARD) {
                assertThat(gp.dRouterLogit()).containsOnly(0.0);
            } else {
                assertThat(ErrorMeasures.normwiseRelative(gp.dRouterLogit(), gr.dRouterLogit())).as("%s dA", est)
                        .isLessThan(1e-13);
            }
            checked++;
        }
        assertThat(checked).isEqualTo(Estimator.values().length);
    }

    /** The single-branch definitions: the all-full route of the reference is {@code branch(in, true)}. */
    @Test
    void branchIsTheAllFullAndAllWindowRoute() {
        Shape sh = new Shape(1, 11, 2, 1, 3);
        AttentionInputs in = TestCases.random(3, sh, 3, Estimator.HARD);
        ReferenceAttention ref = new ReferenceAttention();
        for (boolean full : new boolean[] {true, false}) {
            AttentionInputs routed = in.withRoute(full ? org.swiattn.spec.Route.allFull(1, 11)
                    : org.swiattn.spec.Route.allWindow(1, 11));
            ForwardResult b = PlainAttention.branch(in, full);
            ForwardResult r = ref.forward(routed);
            assertThat(ErrorMeasures.normwiseRelative(b.o(), r.o())).as("full=%s", full).isLessThan(1e-14);
            assertThat(ErrorMeasures.normwiseRelative(b.lse(), r.lse())).as("full=%s", full).isLessThan(1e-14);
            // row 10 on the window branch sees keys 8..10: three scores
            assertThat(PlainAttention.scores(in, 10, 0, full)).hasSize(full ? 11 : 3);
        }
    }
}
