package org.swiattn.properties;

import java.util.SplittableRandom;
import java.util.function.Function;

import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;

import org.swiattn.reference.TermMagnitudes;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.Precision;
import org.swiattn.spec.Route;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;

/**
 * Properties of the backward pass, checked on the implementation alone. The loss is {@code L = <dO, O>} with a random
 * dO, so dL/dO = dO and the implementation's backward(in, dO) must return dL/dq, dL/dk, dL/dv, dL/da.
 *
 * <pre>{@code
 *   dq, dk, dv   central finite differences of L through the implementation's own forward
 *                (HARD, STRAIGHT_THROUGH, SELECTED_BRANCH: the hard forward, route held fixed; SOFT: the p-mix)
 *   dL/da        HARD: exactly 0
 *                SOFT: finite differences of the SOFT forward in a
 *                STRAIGHT_THROUGH: the same (m = z + p - stopgrad(p) has dm/da = p', as the SOFT mix has)
 *                SELECTED_BRANCH: finite differences of the surrogate sum_i pZ_i(a)/pZ_i(a0) <dO_i, oZ_i>
 *                (o = oZ pZ/stopgrad(pZ)), oZ from the implementation's forward
 *   GQA          dK, dV of GQA are the group sums of dK, dV of MHA with repeated heads
 *   selection    HARD, STRAIGHT_THROUGH and SELECTED_BRANCH have the same dq, dk, dv
 *   causality    dO = 0 on rows >= c gives zero dq, dk, dv and dL/da on rows >= c
 * }</pre>
 * Finite differences need the implementation's arithmetic to be much finer than the step: they run for FP64
 * implementations only (lower precisions are held to the reference's gradients by {@link ConformanceProperties}).
 */
public abstract class GradientProperties extends AttentionPropertiesBase {

    /** Step of the four-point stencil: 2^-10 (x +- h, x +- 2h are exact for bf16-representable x). */
    static final double STEP = 0x1p-10;
    /**
     * Normwise relative agreement required between a gradient and its finite differences. The stencil's
     * truncation error is about h^4/30 * f^(5) ~ 1e-13 and its rounding error about 1e-16 * |L| / h ~ 1e-12 on
     * these tiny cases; a wrong gradient is off by O(1).
     */
    static final double FD_BOUND = 1e-7;
    /**
     * Absolute floor of the finite-difference comparison (a norm): where the true gradient is 0 (S = 1 has
     * constant softmax weights, dQ = 0) the stencil returns rounding noise of about 1e-13 per element.
     */
    static final double FD_FLOOR = 1e-9;

    /** Whether finite differences are meaningful for this implementation (fp64 arithmetic). */
    protected boolean finiteDifferencesApply() {
        return implementation().precision() == Precision.FP64;
    }

    /** {@code <x, y>}, compensated (the loss must be accurate to far below the step). */
    static double dot(double[] x, double[] y) {
        double s = 0;
        double c = 0;
        for (int n = 0; n < x.length; n++) {
            double p = x[n] * y[n];
            double pe = Math.fma(x[n], y[n], -p);
            double t = s + p;
            double z = t - s;
            c += ((s - (t - z)) + (p - z)) + pe;
            s = t;
        }
        return s + c;
    }

    /**
     * Four-point central differences of a scalar function of an array, at every element:
     * g_t = (-L(x + 2h e_t) + 8 L(x + h e_t) - 8 L(x - h e_t) + L(x - 2h e_t)) / (12 h).
     *
     * @param x    [N]; not modified
     * @param loss called with modified copies of x
     */
    static double[] numericGradient(double[] x, Function<double[], Double> loss) {
        double[] g = new double[x.length];
        double[] y = x.clone();
        for (int t = 0; t < x.length; t++) {
            double x0 = x[t];
            y[t] = x0 + 2 * STEP;
            double p2 = loss.apply(y);
            y[t] = x0 + STEP;
            double p1 = loss.apply(y);
            y[t] = x0 - STEP;
            double m1 = loss.apply(y);
            y[t] = x0 - 2 * STEP;
            double m2 = loss.apply(y);
            y[t] = x0;
            g[t] = (-p2 + 8 * p1 - 8 * m1 + m2) / (12 * STEP);
        }
        return g;
    }

    /**
     * dq, dk, dv of every estimator agree with central finite differences of {@code L = <dO, O>} through the
     * implementation's forward (the route held fixed: only q, k, v move).
     */
    @Property(tries = 120)
    @Label("dQ, dK, dV of every estimator agree with central finite differences")
    void inputGradientsAgreeWithFiniteDifferences(@ForAll("tinyCases") AttentionCase c,
                                                  @ForAll("estimators") Estimator estimator) {
        CaseStatistics.collectEstimator(estimator);
        CaseStatistics.record("Hq/Hkv", CaseStatistics.groupCategory(c.shape()));
        if (!finiteDifferencesApply()) {
            CaseStatistics.record("finite differences", "skipped: not fp64");
            return;
        }
        AttentionInputs in = c.inputs().withEstimator(estimator);
        double[] dOut = c.outputGradient();
        BackwardResult g = backward(in, dOut);
        double[] numDq = numericGradient(in.q(), x -> dot(dOut, forward(in.toBuilder().q(x).build()).o()));
        double[] numDk = numericGradient(in.k(), x -> dot(dOut, forward(in.toBuilder().k(x).build()).o()));
        double[] numDv = numericGradient(in.v(), x -> dot(dOut, forward(in.toBuilder().v(x).build()).o()));
        String what = estimator + " vs finite differences: ";
        double eq = Checks.closeWithFloor(what + "dQ", g.dq(), numDq, FD_BOUND, FD_FLOOR, c);
        double ek = Checks.closeWithFloor(what + "dK", g.dk(), numDk, FD_BOUND, FD_FLOOR, c);
        double ev = Checks.closeWithFloor(what + "dV", g.dv(), numDv, FD_BOUND, FD_FLOOR, c);
        SuiteSummary.worst("finite-difference error / allowance (dQ, dK, dV)", Math.max(eq, Math.max(ek, ev)));
        CaseStatistics.checkEstimatorCoverage();
    }

    /**
     * dL/da of every estimator agrees with the numerical derivative of the estimator's surrogate forward (see the
     * class comment); HARD gives exactly 0.
     */
    @Property(tries = 120)
    @Label("dRouterLogit of every estimator agrees with finite differences of its surrogate (HARD: 0)")
    void routerGradientAgreesWithFiniteDifferences(@ForAll("tinyCases") AttentionCase c,
                                                   @ForAll("estimators") Estimator estimator) {
        CaseStatistics.collectEstimator(estimator);
        AttentionInputs in = c.inputs().withEstimator(estimator);
        double[] dOut = c.outputGradient();
        BackwardResult g = backward(in, dOut);
        Shape sh = in.shape();
        if (estimator == Estimator.HARD) {
            for (int r = 0; r < sh.rows(); r++) {
                Checks.that(g.dRouterLogit()[r] == 0.0, "HARD dRouterLogit[" + r + "] = " + g.dRouterLogit()[r]
                        + ", must be 0", c);
            }
            return;
        }
        if (!finiteDifferencesApply()) {
            CaseStatistics.record("finite differences", "skipped: not fp64");
            return;
        }
        double[] a0 = c.logits();
        double[] numeric;
        if (estimator == Estimator.SELECTED_BRANCH) {
            // L_SB(a) = sum_r pZ_r(a_r) / pZ_r(a0_r) * <dO_r, oZ_r>, oZ the hard forward
            double[] oz = forward(in).o();
            int hd = sh.qHeads() * sh.headDim();
            double[] rowDot = new double[sh.rows()];
            for (int r = 0; r < sh.rows(); r++) {
                for (int t = r * hd; t < (r + 1) * hd; t++) {
                    rowDot[r] += dOut[t] * oz[t];
                }
            }
            numeric = numericGradient(a0, a -> {
                double l = 0;
                for (int r = 0; r < a.length; r++) {
                    boolean z = a0[r] > 0;
                    double pz = z ? Sigmoid.of(a[r]) : Sigmoid.complement(a[r]);
                    double pz0 = z ? Sigmoid.of(a0[r]) : Sigmoid.complement(a0[r]);
                    l += pz / pz0 * rowDot[r];
                }
                return l;
            });
        } else {
            // SOFT and STRAIGHT_THROUGH: derivative of the SOFT forward p oF + (1-p) oW in a
            AttentionInputs soft = in.withEstimator(Estimator.SOFT);
            numeric = numericGradient(a0, a -> dot(dOut,
                    forward(soft.toBuilder().route(Route.ofLogits(sh.batch(), sh.seqLen(), a)).build()).o()));
        }
        SuiteSummary.worst("finite-difference error / allowance (dRouterLogit)",
                Checks.closeWithFloor(estimator + " dRouterLogit vs finite differences", g.dRouterLogit(), numeric,
                        FD_BOUND, FD_FLOOR, c));
        CaseStatistics.checkEstimatorCoverage();
    }

    /** dK, dV of GQA are the sums over each group of dK, dV of MHA with repeated K/V heads; dQ, dL/da equal. */
    @Property(tries = 120)
    @Label("GQA gradients are the group sums of MHA gradients with repeated K/V heads")
    void gqaGradientsAreGroupSumsOfMhaGradients(@ForAll("cases") AttentionCase c) {
        AttentionInputs in = c.inputs();
        Shape sh = in.shape();
        CaseStatistics.record("Hq/Hkv", CaseStatistics.groupCategory(sh));
        double[] dOut = c.outputGradient();
        AttentionInputs mha = ForwardProperties.mhaOf(in);
        BackwardResult g = backward(in, dOut);
        BackwardResult m = backward(mha, dOut);
        BackwardBounds b = backwardBounds(in, dOut);
        BackwardBounds bm = backwardBounds(mha, dOut);
        // term tensors: T of the GQA inputs; the MHA side's dK, dV terms are those summed over each group
        TermMagnitudes t = backwardTerms(in, dOut);
        TermMagnitudes tm = backwardTerms(mha, dOut);
        Checks.close("GQA dQ vs MHA dQ", g.dq(), m.dq(), 2 * Math.max(b.dq(), bm.dq()),
                Math.max(Checks.norm(t.dq()), Checks.norm(tm.dq())), c);
        Checks.close("GQA dK vs group sums of MHA dK", g.dk(), Tensors.sumGroups(m.dk(), sh),
                2 * Math.max(b.dk(), bm.dk()), Math.max(Checks.norm(t.dk()), Checks.norm(tm.dk())), c);
        Checks.close("GQA dV vs group sums of MHA dV", g.dv(), Tensors.sumGroups(m.dv(), sh),
                2 * Math.max(b.dv(), bm.dv()), Math.max(Checks.norm(t.dv()), Checks.norm(tm.dv())), c);
        Checks.close("GQA dRouterLogit vs MHA", g.dRouterLogit(), m.dRouterLogit(),
                2 * Math.max(b.dRouterLogit(), bm.dRouterLogit()),
                Math.max(Checks.norm(t.dRouterLogit()), Checks.norm(tm.dRouterLogit())), c);
    }

    /**
     * The estimators whose forward value of m is z (HARD, STRAIGHT_THROUGH, SELECTED_BRANCH) send the gradient
     * through the selected branch only: the same dq, dk, dv.
     */
    @Property(tries = 120)
    @Label("HARD, STRAIGHT_THROUGH and SELECTED_BRANCH have the same dQ, dK, dV")
    void hardEstimatorsShareInputGradients(@ForAll("cases") AttentionCase c) {
        AttentionInputs hard = c.inputs().withEstimator(Estimator.HARD);
        double[] dOut = c.outputGradient();
        BackwardResult expected = backward(hard, dOut);
        BackwardBounds b = backwardBounds(hard, dOut);
        TermMagnitudes t = backwardTerms(hard, dOut);   // dQ, dK, dV terms: the same for the three estimators
        for (Estimator e : new Estimator[] {Estimator.STRAIGHT_THROUGH, Estimator.SELECTED_BRANCH}) {
            BackwardResult g = backward(hard.withEstimator(e), dOut);
            Checks.close(e + " dQ vs HARD", g.dq(), expected.dq(), 2 * b.dq(), Checks.norm(t.dq()), c);
            Checks.close(e + " dK vs HARD", g.dk(), expected.dk(), 2 * b.dk(), Checks.norm(t.dk()), c);
            Checks.close(e + " dV vs HARD", g.dv(), expected.dv(), 2 * b.dv(), Checks.norm(t.dv()), c);
        }
    }

    /**
     * Causality of the gradients: with dO = 0 on every row {@code i >= cut}, nothing at positions {@code >= cut}
     * receives a gradient (key j is seen only by queries {@code i >= j}, and rows without dO contribute nothing): dq,
     * dk, dv and dL/da vanish there, up to the tolerance times the whole gradient's norm or its term norm, whichever
     * is larger.
     */
    @Property(tries = 120)
    @Label("gradient causality: dO = 0 after position c gives zero gradients after c")
    void gradientCausality(@ForAll("cases") AttentionCase c) {
        Shape sh = c.shape();
        int s = sh.seqLen();
        SplittableRandom rnd = c.random(8);
        int cut = rnd.nextInt(s);
        double[] dOut = c.outputGradient();
        int qRow = sh.qHeads() * sh.headDim();
        for (int r = 0; r < sh.rows(); r++) {
            if (r % s >= cut) {
                java.util.Arrays.fill(dOut, r * qRow, (r + 1) * qRow, 0.0);
            }
        }
        AttentionInputs in = c.inputs();
        BackwardResult g = backward(in, dOut);
        BackwardBounds b = backwardBounds(in, dOut);
        TermMagnitudes t = backwardTerms(in, dOut);
        boolean[] after = new boolean[sh.rows()];
        for (int r = 0; r < after.length; r++) {
            after[r] = r % s >= cut;
        }
        int kvRow = sh.kvHeads() * sh.headDim();
        requireSmall("dQ at rows >= " + cut, Tensors.rowsWhere(g.dq(), qRow, after), g.dq(), b.dq(), t.dq(), c);
        requireSmall("dK at rows >= " + cut, Tensors.rowsWhere(g.dk(), kvRow, after), g.dk(), b.dk(), t.dk(), c);
        requireSmall("dV at rows >= " + cut, Tensors.rowsWhere(g.dv(), kvRow, after), g.dv(), b.dv(), t.dv(), c);
        requireSmall("dRouterLogit at rows >= " + cut, Tensors.rowsWhere(g.dRouterLogit(), 1, after),
                g.dRouterLogit(), b.dRouterLogit(), t.dRouterLogit(), c);
    }

    /** Requires {@code ||part|| <= bound * max(||whole||, ||terms||)}. @param terms T of whole; not modified */
    private static void requireSmall(String what, double[] part, double[] whole, double bound, double[] terms,
                                     Object context) {
        double np = Checks.norm(part);
        double nw = Math.max(Checks.norm(whole), Checks.norm(terms));
        Checks.that(np <= bound * nw, String.format("%s: norm %.3e, must be 0 (allowed %.3e)", what, np,
                bound * nw), context);
    }
}
