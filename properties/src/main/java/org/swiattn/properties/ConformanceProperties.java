package org.swiattn.properties;

import java.util.SplittableRandom;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import org.swiattn.properties.AttentionCase.RouteKind;
import org.swiattn.properties.AttentionCase.ScaleKind;
import org.swiattn.properties.AttentionCase.WindowKind;
import org.swiattn.reference.MatrixAttention;
import org.swiattn.reference.NaiveAttention;
import org.swiattn.reference.ScoreMagnitude;
import org.swiattn.reference.TermMagnitudes;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.BackwardResult;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Precision;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Tolerance;

/**
 * Conformance: the implementation agrees with the fp64 reference ({@link #reference()}) and with the independent
 * EJML matrix formulation ({@link MatrixAttention}) within the tolerance policy of its precision
 * ({@link Tolerance}, via {@link #forwardBounds} and {@link #backwardBounds}). These are the properties that are
 * explicitly "agrees with the reference"; on the reference itself the reference comparisons are trivial and the
 * EJML one is the independent cross-check.
 *
 * <p>Every error is measured with the term-size allowance of spec 1.1 (||x - ref|| / max(||ref||, ||T||), T from
 * {@link #forwardTerms} / {@link #backwardTerms}), for the candidate and for the naive error that sets the bound.
 * The largest error/bound ratio seen goes to the suite summary.
 */
public abstract class ConformanceProperties extends AttentionPropertiesBase {

    /** Judges a forward result against an expected one with the inputs' term tensors, books the worst ratio. */
    void judgeForward(String what, ForwardResult actual, ForwardResult expected, ForwardBounds b, TermMagnitudes t,
                      Object c) {
        double eo = Checks.close(what + ": O", actual.o(), expected.o(), b.o(), Checks.norm(t.o()), c);
        double el = Checks.lseClose(what + ": LSE", actual.lse(), expected.lse(), b.lse(), Checks.norm(t.lse()), c);
        SuiteSummary.judged(what + " O", eo, b.o());
        SuiteSummary.judged(what + " LSE", el, b.lse());
    }

    /** Judges a backward result against the reference's with the inputs' term tensors, books the worst ratio. */
    void judgeBackward(String what, BackwardResult g, BackwardResult ref, BackwardBounds b, TermMagnitudes t,
                       Object c) {
        SuiteSummary.judged(what + " dQ", Checks.close(what + ": dQ", g.dq(), ref.dq(), b.dq(),
                Checks.norm(t.dq()), c), b.dq());
        SuiteSummary.judged(what + " dK", Checks.close(what + ": dK", g.dk(), ref.dk(), b.dk(),
                Checks.norm(t.dk()), c), b.dk());
        SuiteSummary.judged(what + " dV", Checks.close(what + ": dV", g.dv(), ref.dv(), b.dv(),
                Checks.norm(t.dv()), c), b.dv());
        SuiteSummary.judged(what + " dRouterLogit", Checks.close(what + ": dRouterLogit", g.dRouterLogit(),
                ref.dRouterLogit(), b.dRouterLogit(), Checks.norm(t.dRouterLogit()), c), b.dRouterLogit());
    }

    /** O and LSE agree with the reference for every route, window and estimator. */
    @Property(tries = 250)
    @Label("forward agrees with the fp64 reference (tolerance policy)")
    void forwardAgreesWithReference(@ForAll("cases") AttentionCase c) {
        CaseStatistics.collect(c);
        AttentionInputs in = c.inputs();
        judgeForward("forward vs reference", forward(in), reference().forward(in), forwardBounds(in),
                forwardTerms(in), c);
    }

    /** dQ, dK, dV and dL/da agree with the reference for every estimator. */
    @Property(tries = 250)
    @Label("backward agrees with the fp64 reference for every estimator (tolerance policy)")
    void backwardAgreesWithReference(@ForAll("cases") AttentionCase c) {
        CaseStatistics.collectEstimator(c.estimator());
        checkBackward(c);
        CaseStatistics.checkEstimatorCoverage();
    }

    private void checkBackward(AttentionCase c) {
        AttentionInputs in = c.inputs();
        double[] dOut = c.outputGradient();
        judgeBackward(c.estimator() + " backward vs reference", backward(in, dOut),
                reference().backward(in, dOut), backwardBounds(in, dOut), backwardTerms(in, dOut), c);
    }

    /** Forward at the scale of GPU tiles (S up to 200, the tile edges 63..65 and 127..129 on purpose). */
    @Property(tries = 8)
    @Label("forward agrees with the fp64 reference, S up to 200")
    void forwardAgreesWithReferenceAtMediumS(@ForAll("mediumCases") AttentionCase c) {
        AttentionInputs in = c.inputs();
        judgeForward("medium forward vs reference", forward(in), reference().forward(in), forwardBounds(in),
                forwardTerms(in), c);
    }

    /** Backward at the scale of GPU tiles. */
    @Property(tries = 8)
    @Label("backward agrees with the fp64 reference, S up to 200")
    void backwardAgreesWithReferenceAtMediumS(@ForAll("mediumCases") AttentionCase c) {
        checkBackward(c);
    }

    /** O and LSE agree with the EJML matrix formulation (scores matrix, mask, softmax, product). */
    @Property(tries = 150)
    @Label("forward agrees with the EJML matrix formulation")
    void forwardAgreesWithMatrixFormulation(@ForAll("cases") AttentionCase c) {
        AttentionInputs in = c.inputs();
        judgeForward("forward vs EJML", forward(in), new MatrixAttention().forward(in), forwardBounds(in),
                forwardTerms(in), c);
    }

    /**
     * With score magnitudes M up to 1e4 (q scaled by a power of two) the forward and backward passes still agree
     * with the reference; the fp64 bound grows as max(1, M), the conditioning of softmax.
     */
    @Property(tries = 120)
    @Label("large score magnitudes (up to 1e4) agree with the reference")
    void largeScoresAgreeWithReference(@ForAll("cases") AttentionCase c,
                                       @ForAll("scoreMagnitudes") double target) {
        AttentionInputs in = ForwardProperties.largeScores(c.inputs(), target);
        net.jqwik.api.Assume.that(in != null);
        double[] dOut = c.outputGradient();
        TermMagnitudes t = backwardTerms(in, dOut);
        judgeForward("large-score forward vs reference", forward(in), reference().forward(in), forwardBounds(in), t,
                c);
        judgeBackward("large-score backward vs reference", backward(in, dOut), reference().backward(in, dOut),
                backwardBounds(in, dOut), t, c);
    }

    /**
     * A few long sequences (S from 256 to 768, D in {64, 128, 256}): chosen rows (the first, the last, rows
     * around the window edge, random ones) agree with the reference's rows.
     */
    @Provide
    Arbitrary<AttentionCase> longCases() {
        Arbitrary<Shape> shapes = Combinators.combine(Arbitraries.integers().between(256, 768),
                        Arbitraries.of(1, 2, 4), Arbitraries.of(64, 128, 256))
                .as((s, g, d) -> new Shape(1, s, g, 1, d));
        return Combinators.combine(shapes, Arbitraries.of(WindowKind.INSIDE, WindowKind.S_MINUS_1, WindowKind.ONE),
                        AttentionArbitraries.picks(), Arbitraries.of(RouteKind.RANDOM, RouteKind.ALTERNATING),
                        AttentionArbitraries.estimators(), AttentionArbitraries.seeds())
                .as((sh, wk, pick, rk, e, seed) -> new AttentionCase(sh, wk, pick, rk, e, ScaleKind.DEFAULT, 1.0,
                        seed));
    }

    /** Chosen rows of long sequences agree with the reference (forwardRows on both sides). */
    @Property(tries = 4)
    @Label("long sequences: chosen rows agree with the reference")
    void longSequenceRowsAgreeWithReference(@ForAll("longCases") AttentionCase c) {
        AttentionInputs in = c.inputs();
        assumeSupported(in);
        Shape sh = in.shape();
        int s = sh.seqLen();
        int w = in.window();
        SplittableRandom rnd = c.random(9);
        int[] rows = {0, s - 1, Math.min(s - 1, w - 1), Math.min(s - 1, w), rnd.nextInt(s), rnd.nextInt(s)};
        RowsResult got = implementation().forwardRows(in, rows);
        RowsResult ref = reference().forwardRows(in, rows);
        RowsResult t = TermMagnitudes.forwardRows(in, rows);
        double tO = Checks.norm(t.o());
        double tLse = Checks.norm(t.lse());
        Precision p = implementation().precision();
        ForwardBounds b;
        double m = ScoreMagnitude.maxOverRows(in, rows);
        if (p == Precision.FP64) {
            double bound = Tolerance.bound(p, 0, m);
            b = new ForwardBounds(bound, bound);
        } else {
            RowsResult naive = new NaiveAttention(p).forwardRows(in, rows);
            b = new ForwardBounds(Tolerance.bound(p, Checks.relativeError(naive.o(), ref.o(), tO), m),
                    Tolerance.bound(p, Checks.lseError(naive.lse(), ref.lse(), tLse), m));
        }
        double eo = Checks.close("long rows O vs reference", got.o(), ref.o(), b.o(), tO, c);
        double el = Checks.lseClose("long rows LSE vs reference", got.lse(), ref.lse(), b.lse(), tLse, c);
        SuiteSummary.judged("long rows O", eo, b.o());
        SuiteSummary.judged("long rows LSE", el, b.lse());
    }
}
