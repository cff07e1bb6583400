package org.swiattn.reference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;

import org.junit.jupiter.api.Test;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Route;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;

class ReferenceAttentionTest {
    private final ReferenceAttention ref = new ReferenceAttention();

    /**
     * Worked by hand: D = 1, scale = 1, q_1 = 1, k = [0, ln 3], v = [4, 8].
     * Full branch, row 1: weights e^0 : e^ln3 = 1 : 3, so o = (4 + 3*8)/4 = 7, lse = ln 4.
     * Window w = 1, row 1: only key 1, o = 8, lse = ln 3. Row 0: o = 4, lse = q_0 k_0 = 0.
     */
    @Test
    void handWorkedTwoTokenCase() {
        Shape sh = new Shape(1, 2, 1, 1, 1);
        AttentionInputs.Builder b = AttentionInputs.builder(sh).q(new double[] {0.5, 1.0})
                .k(new double[] {0.0, Math.log(3)}).v(new double[] {4, 8}).window(1).scale(1.0);
        ForwardResult full = ref.forward(b.route(Route.allFull(1, 2)).build());
        assertThat(full.o()[1]).isCloseTo(7.0, within(1e-15));
        assertThat(full.lse()[1]).isCloseTo(Math.log(4), within(1e-15));
        assertThat(full.o()[0]).isEqualTo(4.0);
        assertThat(full.lse()[0]).isEqualTo(0.0);
        ForwardResult win = ref.forward(b.route(Route.allWindow(1, 2)).build());
        assertThat(win.o()[1]).isEqualTo(8.0);
        assertThat(win.lse()[1]).isCloseTo(Math.log(3), within(1e-15));
        ForwardResult mixed = ref.forward(b.route(Route.ofMask(1, 2, new boolean[] {false, true})).build());
        assertThat(mixed.o()[1]).isCloseTo(7.0, within(1e-15));
    }

    @Test
    void agreesWithDfpOracleAndMatrixFormForEveryEstimator() {
        DfpOracle oracle = new DfpOracle();
        MatrixAttention matrix = new MatrixAttention();
        int checked = 0;
        for (Estimator est : Estimator.values()) {
            AttentionInputs in = TestCases.random(11 + est.ordinal(), new Shape(2, 9, 4, 2, 5), 3, est);
            ForwardResult r = ref.forward(in);
            ForwardResult exact = oracle.forward(in);
            ForwardResult m = matrix.forward(in);
            assertThat(ErrorMeasures.normwiseRelative(r.o(), exact.o())).isLessThan(1e-15);
            assertThat(ErrorMeasures.normwiseRelative(r.lse(), exact.lse())).isLessThan(1e-15);
            assertThat(ErrorMeasures.normwiseRelative(m.o(), exact.o())).isLessThan(1e-13);
            checked++;
        }
        assertThat(checked).isEqualTo(Estimator.values().length);
    }

    /** Scores of magnitude ~1e4: the score pairs keep the reference at a few ulps of the exact result. */
    @Test
    void staysExactAtLargeScoreMagnitudes() {
        Shape sh = new Shape(1, 7, 2, 1, 4);
        Random rnd = new Random(77);
        AttentionInputs in = AttentionInputs.builder(sh).q(TestCases.uniform(rnd, sh.qSize(), 100))
                .k(TestCases.uniform(rnd, sh.kvSize(), 100)).v(TestCases.uniform(rnd, sh.kvSize(), 1))
                .window(3).route(Route.ofMask(1, 7, new boolean[] {true, false, true, true, false, false, true}))
                .build();
        assertThat(ScoreMagnitude.max(in)).isGreaterThan(1e3);
        ForwardResult r = ref.forward(in);
        ForwardResult exact = new DfpOracle().forward(in);
        assertThat(ErrorMeasures.normwiseRelative(r.o(), exact.o())).isLessThan(1e-15);
        assertThat(ErrorMeasures.normwiseRelative(r.lse(), exact.lse())).isLessThan(1e-15);
    }

    /** Values near the largest double: the exact output (a convex combination) is finite, so must ours be. */
    @Test
    void noOverflowForValuesNearTheLargestDouble() {
        Shape sh = new Shape(1, 2, 1, 1, 1);
        AttentionInputs in = AttentionInputs.builder(sh).q(new double[] {0, 0}).k(new double[] {0, 0})
                .v(new double[] {1e308, 1e308}).window(2).route(Route.allFull(1, 2)).build();
        assertThat(ref.forward(in).o()).containsExactly(1e308, 1e308);
        assertThat(ref.backward(in, new double[] {1, 1}).dq()).containsExactly(0.0, 0.0);
    }

    @Test
    void forwardRowsEqualsRowsOfForward() {
        AttentionInputs in = TestCases.random(5, new Shape(2, 12, 4, 1, 3), 4, Estimator.SOFT);
        ForwardResult all = ref.forward(in);
        int[] rows = {23, 0, 7, 12};
        RowsResult some = ref.forwardRows(in, rows);
        assertThat(some.o()).containsExactly(RowsResult.extract(all, rows).o());
        assertThat(some.lse()).containsExactly(RowsResult.extract(all, rows).lse());
    }

    @Test
    void resultsDoNotDependOnThreading() {
        AttentionInputs in = TestCases.random(9, new Shape(2, 16, 4, 2, 8), 5, Estimator.STRAIGHT_THROUGH);
        double[] dO = TestCases.uniform(new Random(3), in.shape().qSize(), 1);
        BackwardResult a = new ReferenceAttention(true).backward(in, dO);
        BackwardResult b = new ReferenceAttention(false).backward(in, dO);
        assertThat(a.dq()).containsExactly(b.dq());
        assertThat(a.dk()).containsExactly(b.dk());
        assertThat(a.dv()).containsExactly(b.dv());
        assertThat(a.dRouterLogit()).containsExactly(b.dRouterLogit());
    }

    /** Central differences of L = <dO, O> in q, k, v and the router logits, for every estimator. */
    @Test
    void gradientsMatchCentralDifferences() {
        int checked = 0;
        for (Estimator est : Estimator.values()) {
            Shape sh = new Shape(1, 6, 2, 1, 3);
            AttentionInputs in = TestCases.random(21 + est.ordinal(), sh, 2, est);
            double[] dO = TestCases.uniform(new Random(est.ordinal()), sh.qSize(), 1);
            CentralDifferences.check(in, dO, est.toString());
            checked++;
        }
        assertThat(checked).isEqualTo(4);
    }

    /** SELECTED_BRANCH and STRAIGHT_THROUGH router gradients: the surrogate forms of SPEC.md, differentiated. */
    @Test
    void surrogateRouterGradients() {
        Shape sh = new Shape(1, 5, 2, 2, 2);
        for (Estimator est : new Estimator[] {Estimator.STRAIGHT_THROUGH, Estimator.SELECTED_BRANCH}) {
            AttentionInputs in = TestCases.random(31, sh, 2, est);
            double[] dO = TestCases.uniform(new Random(4), sh.qSize(), 1);
            BackwardResult g = ref.backward(in, dO);
            ForwardResult f = ref.forward(in.withEstimator(Estimator.HARD).withRoute(Route.allFull(1, 5)));
            ForwardResult w = ref.forward(in.withEstimator(Estimator.HARD).withRoute(Route.allWindow(1, 5)));
            double[] a = in.route().logits();
            double h = 1e-6;
            for (int r = 0; r < sh.rows(); r++) {
                // surrogate value as a function of a_r with stopgrad held at the current p
                double p0 = Sigmoid.of(a[r]);
                boolean z = a[r] > 0;
                double up = surrogate(est, z, Sigmoid.of(a[r] + h), p0, f, w, dO, r, sh);
                double down = surrogate(est, z, Sigmoid.of(a[r] - h), p0, f, w, dO, r, sh);
                assertThat(g.dRouterLogit()[r]).as("%s da[%d]", est, r).isCloseTo((up - down) / (2 * h), within(1e-8));
            }
        }
    }

    private static double surrogate(Estimator est, boolean z, double p, double pStop, ForwardResult f,
                                    ForwardResult w, double[] dO, int r, Shape sh) {
        int hd = sh.qHeads() * sh.headDim();
        double s = 0;
        for (int n = r * hd; n < (r + 1) * hd; n++) {
            double o;
            if (est == Estimator.STRAIGHT_THROUGH) {
                double m = (z ? 1 : 0) + p - pStop;
                o = m * f.o()[n] + (1 - m) * w.o()[n];
            } else {
                double pz = z ? p : 1 - p;
                double pzStop = z ? pStop : 1 - pStop;
                o = (z ? f.o()[n] : w.o()[n]) * pz / pzStop;
            }
            s += dO[n] * o;
        }
        return s;
    }

}
