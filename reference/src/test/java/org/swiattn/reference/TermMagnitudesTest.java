package org.swiattn.reference;

import static org.assertj.core.api.Assertions.assertThat;

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
import org.swiattn.spec.Visibility;

/**
 * {@link TermMagnitudes} against independent computations: the reference on absolute values where the formula
 * allows it (T_O, T_dV, T_LSE for non-negative scores), a brute-force matrix form for T_dQ, T_dK and T_dA, and
 * {@code T >= |exact|} elementwise. Every check walks every estimator over a GQA shape with a cutting window and counts
 * what it checked.
 */
class TermMagnitudesTest {
    private static final ReferenceAttention REF = new ReferenceAttention(false);
    private static final Shape GQA = new Shape(2, 7, 4, 2, 3);
    private static final int WINDOW = 3;

    private static double[] abs(double[] x) {
        double[] y = new double[x.length];
        for (int n = 0; n < x.length; n++) {
            y[n] = Math.abs(x[n]);
        }
        return y;
    }

    private static double rel(double[] x, double[] y) {
        return ErrorMeasures.normwiseRelative(x, y);
    }

    /** T_O is the routed output with V replaced by |V| (P >= 0, and the SOFT coefficients p, 1-p are >= 0). */
    @Test
    void outputTermsAreTheOutputOfAbsoluteValues() {
        int checked = 0;
        for (Estimator est : Estimator.values()) {
            AttentionInputs in = TestCases.random(100 + est.ordinal(), GQA, WINDOW, est);
            ForwardResult expected = REF.forward(in.toBuilder().v(abs(in.v())).build());
            assertThat(rel(TermMagnitudes.forward(in).o(), expected.o())).as("%s", est).isLessThan(1e-14);
            checked++;
        }
        assertThat(checked).isEqualTo(Estimator.values().length);
    }

    /** With every score >= 0 (q, k >= 0) m >= 0 and log l >= 0, so T_LSE = m + log l = lse exactly. */
    @Test
    void lseTermsEqualLseForNonNegativeScores() {
        for (Estimator est : Estimator.values()) {
            AttentionInputs in = TestCases.random(200 + est.ordinal(), GQA, WINDOW, est);
            AttentionInputs pos = in.toBuilder().q(abs(in.q())).k(abs(in.k())).build();
            assertThat(rel(TermMagnitudes.forward(pos).lse(), REF.forward(pos).lse())).isLessThan(1e-14);
        }
    }

    /** T_dV is dV with dO replaced by |dO|: dV_j = sum_i c_i P_ij dO_i with c_i, P_ij >= 0. */
    @Test
    void valueGradientTermsAreTheGradientOfAbsoluteOutputGradients() {
        int checked = 0;
        for (Estimator est : Estimator.values()) {
            AttentionInputs in = TestCases.random(300 + est.ordinal(), GQA, WINDOW, est);
            double[] dOut = TestCases.uniform(new Random(301), GQA.qSize(), 1.0);
            BackwardResult expected = REF.backward(in, abs(dOut));
            assertThat(rel(TermMagnitudes.of(in, dOut).dv(), expected.dv())).as("%s", est).isLessThan(1e-14);
            checked++;
        }
        assertThat(checked).isEqualTo(4);
    }

    /**
     * The rows form (what the golden checker computes for sampled rows) gives the rows of the whole form, bit for
     * bit: the same formulas in the same order, dO passed at the chosen rows only.
     */
    @Test
    void backwardRowsAreTheRowsOfTheWholeTerms() {
        int checked = 0;
        int[] rows = {13, 0, 6, 7};   // unordered, both batch rows, the first and last row of each
        int hd = GQA.qHeads() * GQA.headDim();
        for (Estimator est : Estimator.values()) {
            AttentionInputs in = TestCases.random(500 + est.ordinal(), GQA, WINDOW, est);
            double[] dOut = TestCases.uniform(new Random(501), GQA.qSize(), 1.0);
            double[] dORows = new double[rows.length * hd];
            for (int n = 0; n < rows.length; n++) {
                System.arraycopy(dOut, rows[n] * hd, dORows, n * hd, hd);
            }
            TermMagnitudes whole = TermMagnitudes.of(in, dOut);
            TermMagnitudes.BackwardRows part = TermMagnitudes.backwardRows(in, rows, dORows);
            for (int n = 0; n < rows.length; n++) {
                assertThat(part.dRouterLogit()[n]).as("%s da row %d", est, rows[n])
                        .isEqualTo(whole.dRouterLogit()[rows[n]]);
                for (int x = 0; x < hd; x++) {
                    assertThat(part.dq()[n * hd + x]).as("%s dq row %d", est, rows[n])
                            .isEqualTo(whole.dq()[rows[n] * hd + x]);
                }
            }
            if (est != Estimator.HARD) {
                assertThat(java.util.Arrays.stream(part.dRouterLogit()).max().getAsDouble())
                        .as("%s: a router term to compare", est).isPositive();
            }
            checked++;
        }
        assertThat(checked).isEqualTo(4);
    }

    /** T_dQ, T_dK, T_dA against a brute-force matrix form (P [S,S] per batch and head, both branches). */
    @Test
    void gradientTermsAgreeWithBruteForceMatrixForm() {
        int checked = 0;
        for (Estimator est : Estimator.values()) {
            AttentionInputs in = TestCases.random(400 + est.ordinal(), GQA, WINDOW, est);
            double[] dOut = TestCases.uniform(new Random(401), GQA.qSize(), 1.0);
            double[][] expected = bruteForce(in, dOut);
            TermMagnitudes t = TermMagnitudes.of(in, dOut);
            assertThat(rel(t.dq(), expected[0])).as("%s dQ", est).isLessThan(1e-14);
            assertThat(rel(t.dk(), expected[1])).as("%s dK", est).isLessThan(1e-14);
            assertThat(rel(t.dRouterLogit(), expected[2])).as("%s dA", est).isLessThan(1e-14);
            checked++;
        }
        assertThat(checked).isEqualTo(4);
    }

    /**
     * Brute force: for each (b, h) and branch, P [S,S] (zero outside the visible set), O^B = P V, then
     * TdS = c P o (|dO| |V|^T + rowsum(|dO| |O^B|)), T_dQ = scale TdS |K|, T_dK = scale TdS^T |Q|;
     * T_dA from the branch outputs. Returns {T_dQ, T_dK, T_dA}.
     */
    private static double[][] bruteForce(AttentionInputs in, double[] dOut) {
        Shape sh = in.shape();
        int s = sh.seqLen();
        int dim = sh.headDim();
        double[] tq = new double[sh.qSize()];
        double[] tk = new double[sh.kvSize()];
        double[][] rowDot = new double[2][sh.rows()];   // [branch][r] sum_h |dO| . |O^B|
        for (int b = 0; b < sh.batch(); b++) {
            for (int h = 0; h < sh.qHeads(); h++) {
                int g = h / (sh.qHeads() / sh.kvHeads());
                for (int br = 0; br < 2; br++) {
                    boolean full = br == 1;
                    double[][] p = new double[s][s];
                    double[][] o = new double[s][dim];
                    for (int i = 0; i < s; i++) {
                        double max = Double.NEGATIVE_INFINITY;
                        for (int j = 0; j < s; j++) {
                            if (Visibility.visible(i, j, full, in.window())) {
                                double sc = 0;
                                for (int d = 0; d < dim; d++) {
                                    sc += in.q()[sh.qOffset(b, i, h) + d] * in.k()[sh.kvOffset(b, j, g) + d];
                                }
                                p[i][j] = in.scale() * sc;
                                max = Math.max(max, p[i][j]);
                            }
                        }
                        double sum = 0;
                        for (int j = 0; j < s; j++) {
                            if (Visibility.visible(i, j, full, in.window())) {
                                p[i][j] = Math.exp(p[i][j] - max);
                                sum += p[i][j];
                            }
                        }
                        for (int j = 0; j < s; j++) {
                            p[i][j] /= sum;
                            for (int d = 0; d < dim; d++) {
                                o[i][d] += p[i][j] * in.v()[sh.kvOffset(b, j, g) + d];
                            }
                        }
                    }
                    for (int i = 0; i < s; i++) {
                        int r = b * s + i;
                        double c = coefficient(in, r, full);
                        double delta = 0;
                        for (int d = 0; d < dim; d++) {
                            delta += Math.abs(dOut[sh.qOffset(b, i, h) + d]) * Math.abs(o[i][d]);
                        }
                        rowDot[br][r] += delta;
                        for (int j = 0; j < s; j++) {
                            int qo = sh.qOffset(b, i, h);
                            int ko = sh.kvOffset(b, j, g);
                            double dp = 0;
                            for (int d = 0; d < dim; d++) {
                                dp += Math.abs(dOut[qo + d]) * Math.abs(in.v()[ko + d]);
                            }
                            double tds = c * p[i][j] * (dp + delta);
                            for (int d = 0; d < dim; d++) {
                                tq[qo + d] += in.scale() * tds * Math.abs(in.k()[ko + d]);
                                tk[ko + d] += in.scale() * tds * Math.abs(in.q()[qo + d]);
                            }
                        }
                    }
                }
            }
        }
        double[] ta = new double[sh.rows()];
        for (int r = 0; r < sh.rows(); r++) {
            if (in.estimator() == Estimator.HARD) {
                continue;
            }
            double p = in.route().probability(r);
            boolean z = in.route().isFull(r);
            ta[r] = in.estimator() == Estimator.SELECTED_BRANCH
                    ? Math.abs((z ? 1 : 0) - p) * rowDot[z ? 1 : 0][r]
                    : p * (1 - p) * (rowDot[0][r] + rowDot[1][r]);
        }
        return new double[][] {tq, tk, ta};
    }

    /** The backward coefficient of a branch: z / 1-z, or p / 1-p for SOFT. */
    private static double coefficient(AttentionInputs in, int r, boolean full) {
        if (in.estimator() == Estimator.SOFT) {
            double p = in.route().probability(r);
            return full ? p : 1 - p;
        }
        return in.route().isFull(r) == full ? 1 : 0;
    }

    /** {@code T >= |exact|} elementwise for all six tensors (the reference stands for the exact values). */
    @Test
    void termsBoundTheAbsoluteValues() {
        int checked = 0;
        for (Estimator est : Estimator.values()) {
            for (int w : new int[] {1, WINDOW, 100}) {
                AttentionInputs in = TestCases.random(500 + est.ordinal() + 7L * w, GQA, w, est);
                double[] dOut = TestCases.uniform(new Random(501 + w), GQA.qSize(), 1.0);
                ForwardResult f = REF.forward(in);
                BackwardResult g = REF.backward(in, dOut);
                TermMagnitudes t = TermMagnitudes.of(in, dOut);
                requireDominates(t.o(), f.o());
                requireDominates(t.lse(), f.lse());
                requireDominates(t.dq(), g.dq());
                requireDominates(t.dk(), g.dk());
                requireDominates(t.dv(), g.dv());
                requireDominates(t.dRouterLogit(), g.dRouterLogit());
                checked++;
            }
        }
        assertThat(checked).isEqualTo(12);
    }

    private static void requireDominates(double[] t, double[] x) {
        assertThat(t).hasSameSizeAs(x);
        for (int n = 0; n < t.length; n++) {
            // slack of a few ulps: T is plain fp64, the reference is accurate
            assertThat(t[n]).as("T[%d] vs |x| = %s", n, Math.abs(x[n]))
                    .isGreaterThanOrEqualTo(Math.abs(x[n]) * (1 - 1e-13));
        }
    }

    /** HARD has dA = 0 and T_dA = 0 (compared absolutely); forwardRows answers the rows of forward. */
    @Test
    void hardRouterTermsAreZeroAndRowsAreRowsOfForward() {
        AttentionInputs in = TestCases.random(600, GQA, WINDOW, Estimator.HARD);
        double[] dOut = TestCases.uniform(new Random(601), GQA.qSize(), 1.0);
        assertThat(TermMagnitudes.of(in, dOut).dRouterLogit()).containsOnly(0.0);
        AttentionInputs soft = in.withEstimator(Estimator.SOFT);
        int[] rows = {13, 0, 6, 6};
        RowsResult got = TermMagnitudes.forwardRows(soft, rows);
        RowsResult expected = RowsResult.extract(new ForwardResult(GQA, TermMagnitudes.forward(soft).o(),
                TermMagnitudes.forward(soft).lse()), rows);
        assertThat(got.o()).containsExactly(expected.o());
        assertThat(got.lse()).containsExactly(expected.lse());
    }

    /** A route whose logits make one branch's coefficient underflow still gives finite terms. */
    @Test
    void extremeLogitsGiveFiniteTerms() {
        Shape sh = new Shape(1, 4, 1, 1, 2);
        AttentionInputs in = TestCases.random(700, sh, 2, Estimator.SOFT).toBuilder()
                .route(Route.ofLogits(1, 4, new double[] {800, -800, 0, 3})).build();
        TermMagnitudes t = TermMagnitudes.of(in, TestCases.uniform(new Random(701), sh.qSize(), 1.0));
        for (double[] x : new double[][] {t.o(), t.lse(), t.dq(), t.dk(), t.dv(), t.dRouterLogit()}) {
            for (double e : x) {
                assertThat(Double.isFinite(e)).isTrue();
            }
        }
    }
}
