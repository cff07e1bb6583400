package org.swiattn.properties;

import java.util.SplittableRandom;

import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Label;
import net.jqwik.api.Property;

import org.swiattn.reference.PlainAttention;
import org.swiattn.reference.ScoreMagnitude;
import org.swiattn.reference.TermMagnitudes;
import org.swiattn.spec.AttentionInputs;
import org.swiattn.spec.Bf16;
import org.swiattn.spec.Estimator;
import org.swiattn.spec.ErrorMeasures;
import org.swiattn.spec.ForwardResult;
import org.swiattn.spec.Route;
import org.swiattn.spec.RowsResult;
import org.swiattn.spec.Shape;
import org.swiattn.spec.Sigmoid;
import org.swiattn.spec.Visibility;

/**
 * Properties of the forward pass (O and LSE) that any implementation must have, checked on the implementation
 * alone: against the spec's definitions ({@link PlainAttention}) or against itself on related inputs
 * (metamorphic).
 * None of them assumes anything about the reference.
 *
 * <pre>{@code
 *   routing      all-full route = full causal attention; all-window route = sliding-window attention;
 *                every row is its selected branch (SOFT: the p-mix); w >= S = full; HARD = STE = SB forward
 *   visibility   causality (nothing after i changes rows <= i); window locality (keys before i-w+1 never
 *                matter to window rows)
 *   softmax      weights sum to 1 (V = 1 gives O = 1); O in the hull of the visible values; LSE is the
 *                log-sum-exp of the visible scores; shift invariance; LSE merge of disjoint key sets
 *   heads        GQA = MHA with repeated K/V heads; head permutation equivariance; batch independence
 *   rows         forwardRows = rows of forward
 *   range        no NaN/Inf and O in the value hull for score magnitudes up to 1e4; O linear in V for V
 *                scaled by 2^+-600
 * }</pre>
 * Every comparison measures errors with the term-size allowance of spec 1.1 (||x - y|| / max(||y||, ||T||), T the
 * term tensors of the inputs, {@link #forwardTerms}; of both sides' inputs, {@link #maxTerms}, when two related
 * inputs are compared).
 * Each property draws its case from a named generator ({@link AttentionArbitraries}); a few run again on
 * medium sequences (S up to 200, the tile edges 64 and 128 on purpose) with a handful of tries.
 * Tensors: q [B,S,Hq,D], k, v [B,S,Hkv,D], O [B,S,Hq,D], LSE [B,S,Hq], route [B,S].
 */
public abstract class ForwardProperties extends AttentionPropertiesBase {

    /** The inputs with another route [B,S], estimator HARD (a mask-built route carries no logits). */
    static AttentionInputs hardWithRoute(AttentionInputs in, Route route) {
        return in.toBuilder().route(route).estimator(Estimator.HARD).build();
    }

    /** The inputs with every token [B,S] on the full branch, HARD. */
    static AttentionInputs allFull(AttentionInputs in) {
        return hardWithRoute(in, Route.allFull(in.shape().batch(), in.shape().seqLen()));
    }

    /** The inputs with every token [B,S] on the window branch, HARD. */
    static AttentionInputs allWindow(AttentionInputs in) {
        return hardWithRoute(in, Route.allWindow(in.shape().batch(), in.shape().seqLen()));
    }

    /** The (b, i) rows with {@code i <= cut}, as a selection keep [B*S]. */
    static boolean[] rowsUpTo(Shape sh, int cut) {
        boolean[] keep = new boolean[sh.rows()];
        for (int r = 0; r < keep.length; r++) {
            keep[r] = r % sh.seqLen() <= cut;
        }
        return keep;
    }

    /**
     * Compares the selected rows of two forward results: O [B,S,Hq,D] and LSE [B,S,Hq] restricted to the rows r
     * with keep[r], with the term tensors restricted to the same rows.
     *
     * @param keep  [B*S]; not modified
     * @param terms forward term tensors (o, lse) of the whole; not modified
     */
    static void sameRows(String what, ForwardResult actual, ForwardResult expected, boolean[] keep,
                         ForwardBounds bounds, TermMagnitudes terms, Object context) {
        Shape sh = actual.shape();
        int hd = sh.qHeads() * sh.headDim();
        Checks.close(what + ": O", Tensors.rowsWhere(actual.o(), hd, keep), Tensors.rowsWhere(expected.o(), hd, keep),
                bounds.o(), Checks.norm(Tensors.rowsWhere(terms.o(), hd, keep)), context);
        Checks.lseClose(what + ": LSE", Tensors.rowsWhere(actual.lse(), sh.qHeads(), keep),
                Tensors.rowsWhere(expected.lse(), sh.qHeads(), keep), bounds.lse(),
                Checks.norm(Tensors.rowsWhere(terms.lse(), sh.qHeads(), keep)), context);
    }

    /** The forward term tensors of two related inputs, elementwise max. @param a not modified @param b not modified */
    static TermMagnitudes pairTerms(AttentionInputs a, AttentionInputs b) {
        return maxTerms(forwardTerms(a), forwardTerms(b));
    }

    // ----------------------------------------------------------------------------------------------------------
    // routing

    /** Routed attention with every token on the full branch is full causal attention (keys 0..i). */
    @Property(tries = 150)
    @Label("routed with all-full route equals full causal attention")
    void allFullRouteIsFullCausalAttention(@ForAll("cases") AttentionCase c) {
        AttentionInputs in = allFull(c.inputs());
        sameForward("all-full route vs full causal attention (PlainAttention)", forward(in),
                PlainAttention.branch(in, true),
                forwardBounds(in), forwardTerms(in), c);
    }

    /** {@link #allWindowRouteIsSlidingWindowAttention} at the scale of GPU tiles. */
    @Property(tries = 8)
    @Label("routed with all-window route equals sliding-window attention, S up to 200")
    void allWindowRouteIsSlidingWindowAttentionAtMediumS(@ForAll("mediumCases") AttentionCase c) {
        allWindowRouteIsSlidingWindowAttention(c);
    }

    /** Routed attention with every token on the window branch is sliding-window attention (keys i-w+1..i). */
    @Property(tries = 150)
    @Label("routed with all-window route equals sliding-window attention")
    void allWindowRouteIsSlidingWindowAttention(@ForAll("cases") AttentionCase c) {
        AttentionInputs in = allWindow(c.inputs());
        CaseStatistics.record("w", CaseStatistics.windowCategory(in.window(), in.shape().seqLen()));
        sameForward("all-window route vs sliding-window attention (PlainAttention)", forward(in),
                PlainAttention.branch(in, false), forwardBounds(in), forwardTerms(in), c);
    }

    /**
     * Each row of routed attention is the row of the branch its token is routed to: o_i = z_i oF_i + (1-z_i) oW_i
     * for HARD, STRAIGHT_THROUGH and SELECTED_BRANCH, o_i = p_i oF_i + (1-p_i) oW_i for SOFT, and for every
     * estimator lse_i = z_i lseF_i + (1-z_i) lseW_i. oF, oW come from the implementation's own all-full and
     * all-window calls.
     */
    @Property(tries = 150)
    @Label("every routed row is its selected branch (SOFT: the p-mix)")
    void routedRowsAreTheirSelectedBranch(@ForAll("cases") AttentionCase c) {
        CaseStatistics.collectEstimator(c.estimator());
        checkRoutedRows(c);
        CaseStatistics.checkEstimatorCoverage();
    }

    /** {@link #routedRowsAreTheirSelectedBranch} at the scale of GPU tiles. */
    @Property(tries = 6)
    @Label("every routed row is its selected branch, S up to 200")
    void routedRowsAreTheirSelectedBranchAtMediumS(@ForAll("mediumCases") AttentionCase c) {
        checkRoutedRows(c);
    }

    private void checkRoutedRows(AttentionCase c) {
        AttentionInputs in = c.inputs();
        AttentionInputs fullIn = allFull(in);
        AttentionInputs windowIn = allWindow(in);
        ForwardResult routed = forward(in);
        ForwardResult f = forward(fullIn);
        ForwardResult w = forward(windowIn);
        Shape sh = in.shape();
        int hd = sh.qHeads() * sh.headDim();
        double[] o = new double[sh.qSize()];
        double[] lse = new double[sh.lseSize()];
        Route route = in.route();
        for (int r = 0; r < sh.rows(); r++) {
            boolean z = route.isFull(r);
            double cF = in.estimator() == Estimator.SOFT ? Sigmoid.of(route.logit(r)) : (z ? 1 : 0);
            double cW = in.estimator() == Estimator.SOFT ? Sigmoid.complement(route.logit(r)) : (z ? 0 : 1);
            for (int t = r * hd; t < (r + 1) * hd; t++) {
                o[t] = cF * f.o()[t] + cW * w.o()[t];
            }
            for (int h = 0; h < sh.qHeads(); h++) {
                lse[r * sh.qHeads() + h] = (z ? f : w).lse()[r * sh.qHeads() + h];
            }
        }
        ForwardBounds b = forwardBounds(in).max(forwardBounds(fullIn)).max(forwardBounds(windowIn)).times(2);
        TermMagnitudes t = maxTerms(forwardTerms(in), pairTerms(fullIn, windowIn));
        sameForward("routed vs selected branches", routed, new ForwardResult(sh, o, lse), b, t, c);
    }

    /** A window of {@code w >= S} hides nothing: the window branch is the full branch, whatever the route. */
    @Property(tries = 120)
    @Label("window >= S equals full attention")
    void windowOfAtLeastSIsFullAttention(@ForAll("cases") AttentionCase c) {
        int s = c.shape().seqLen();
        int w = s + c.random(1).nextInt(3);
        CaseStatistics.record("w", w == s ? "w=S" : w == s + 1 ? "w=S+1" : "w=S+2");
        AttentionInputs in = c.inputs().toBuilder().window(w).build();
        AttentionInputs full = allFull(in);
        sameForward("window " + w + " >= S = " + s + " vs full", forward(in), forward(full), selfBounds(in, full),
                pairTerms(in, full), c);
    }

    /** HARD, STRAIGHT_THROUGH and SELECTED_BRANCH differ only in their gradients: same O and LSE. */
    @Property(tries = 120)
    @Label("HARD, STRAIGHT_THROUGH and SELECTED_BRANCH give the same forward value")
    void estimatorsShareTheHardForward(@ForAll("cases") AttentionCase c) {
        AttentionInputs hard = c.inputs().withEstimator(Estimator.HARD);
        ForwardResult expected = forward(hard);
        ForwardBounds b = selfBounds(hard, hard);
        TermMagnitudes t = forwardTerms(hard);   // the same for the three hard estimators
        for (Estimator e : new Estimator[] {Estimator.STRAIGHT_THROUGH, Estimator.SELECTED_BRANCH}) {
            sameForward(e + " vs HARD", forward(hard.withEstimator(e)), expected, b, t, c);
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // visibility

    /**
     * Causality: replacing q, k, v and the router logits at every position after i (in every batch element) never
     * changes a row {@code <= i}. The replacements are fresh values of twice the magnitude, so a leak of any later key
     * would move the output by far more than the tolerance.
     */
    @Property(tries = 150)
    @Label("causality: changing q, k, v, route after position i never changes rows <= i")
    void causality(@ForAll("cases") AttentionCase c) {
        Shape sh = c.shape();
        int s = sh.seqLen();
        SplittableRandom rnd = c.random(2);
        int cut = s == 1 ? 0 : rnd.nextInt(s - 1);
        double[] q = c.q();
        double[] k = c.k();
        double[] v = c.v();
        double[] a = c.logits();
        int qRow = sh.qHeads() * sh.headDim();
        int kvRow = sh.kvHeads() * sh.headDim();
        for (int b = 0; b < sh.batch(); b++) {
            for (int i = cut + 1; i < s; i++) {
                int r = b * s + i;
                System.arraycopy(Tensors.uniformBf16(rnd, qRow, 2 * c.magnitude()), 0, q, r * qRow, qRow);
                System.arraycopy(Tensors.uniformBf16(rnd, kvRow, 2 * c.magnitude()), 0, k, r * kvRow, kvRow);
                System.arraycopy(Tensors.uniformBf16(rnd, kvRow, 2 * c.magnitude()), 0, v, r * kvRow, kvRow);
                a[r] = -a[r] + (a[r] == 0 ? 1 : 0);
            }
        }
        AttentionInputs in = c.inputs();
        AttentionInputs changed = in.toBuilder().q(q).k(k).v(v).route(Route.ofLogits(sh.batch(), s, a)).build();
        sameRows("rows <= " + cut + " after changing positions > " + cut, forward(changed), forward(in),
                rowsUpTo(sh, cut), selfBounds(in, changed), pairTerms(in, changed), c);
    }

    /** {@link #causality} at the scale of GPU tiles. */
    @Property(tries = 6)
    @Label("causality, S up to 200")
    void causalityAtMediumS(@ForAll("mediumCases") AttentionCase c) {
        causality(c);
    }

    /**
     * Window locality: for a token i routed to the window branch, keys and values before i-w+1 never matter.
     * Keys and values at positions {@code < cut} are replaced (every batch element); every window-routed row with
     * {@code i-w+1 >= cut} must not change. (SOFT mixes in the full branch, so SOFT cases run as HARD here.)
     */
    @Property(tries = 150)
    @Label("window locality: keys before i-w+1 never matter to window-routed rows")
    void windowLocality(@ForAll("windowCuttingCases") AttentionCase c) {
        Shape sh = c.shape();
        int s = sh.seqLen();
        int w = c.window();
        AttentionInputs in = c.inputs();
        if (in.estimator() == Estimator.SOFT) {
            in = in.withEstimator(Estimator.HARD);
        }
        SplittableRandom rnd = c.random(3);
        // pass 1: a window-routed row i0 with keys cut off, then a cut in [1, i0-w+1]
        int i0 = -1;
        int seen = 0;
        for (int r = 0; r < sh.rows(); r++) {
            if (!in.route().isFull(r) && r % s >= w && rnd.nextInt(++seen) == 0) {
                i0 = r % s;
            }
        }
        int cut = 1 + rnd.nextInt(i0 - w + 1);
        // pass 2: replace k, v at positions < cut
        double[] k = c.k();
        double[] v = c.v();
        int kvRow = sh.kvHeads() * sh.headDim();
        for (int b = 0; b < sh.batch(); b++) {
            for (int j = 0; j < cut; j++) {
                int r = b * s + j;
                System.arraycopy(Tensors.uniformBf16(rnd, kvRow, 2 * c.magnitude()), 0, k, r * kvRow, kvRow);
                System.arraycopy(Tensors.uniformBf16(rnd, kvRow, 2 * c.magnitude()), 0, v, r * kvRow, kvRow);
            }
        }
        AttentionInputs changed = in.toBuilder().k(k).v(v).build();
        // pass 3: compare the window rows that cannot see any replaced key
        boolean[] keep = new boolean[sh.rows()];
        int kept = 0;
        for (int r = 0; r < sh.rows(); r++) {
            keep[r] = !in.route().isFull(r) && Visibility.firstKey(r % s, false, w) >= cut;
            kept += keep[r] ? 1 : 0;
        }
        Checks.that(kept > 0, "no window row was compared (generator bug)", c);
        CaseStatistics.record("window rows compared", kept == 1 ? "1" : kept <= 4 ? "2..4" : ">4");
        sameRows("window rows after changing keys < " + cut, forward(changed), forward(in), keep,
                selfBounds(in, changed), pairTerms(in, changed), c);
    }

    // ----------------------------------------------------------------------------------------------------------
    // softmax

    /**
     * The attention weights of every row sum to 1: with V = 1 (every value 1) every output coordinate is 1, for
     * every route and estimator. LSE does not depend on V at all.
     */
    @Property(tries = 150)
    @Label("attention weights sum to 1 (V = 1 gives O = 1) and LSE does not depend on V")
    void weightsSumToOne(@ForAll("cases") AttentionCase c) {
        AttentionInputs in = c.inputs();
        AttentionInputs ones = in.toBuilder().v(Tensors.filled(c.shape().kvSize(), 1.0)).build();
        ForwardResult r = forward(ones);
        ForwardBounds b = forwardBounds(ones);
        TermMagnitudes t = pairTerms(in, ones);
        Checks.close("O with V = 1", r.o(), Tensors.filled(c.shape().qSize(), 1.0), b.o(),
                Checks.norm(forwardTerms(ones).o()), c);
        Checks.lseClose("LSE with V = 1 vs original V", r.lse(), forward(in).lse(), selfBounds(in, ones).lse(),
                Checks.norm(t.lse()), c);
    }

    /**
     * O is linear in V and LSE does not depend on V: O(2^k V) = 2^k O(V) for k up to +-600 (fp64; +-60 for
     * lower precisions, whose exponent range is that of fp32), which also walks the values far from 1 in both
     * directions; and O(V1 + V2) = O(V1) + O(V2) (allowance: the bound times ||O(V1)|| + ||O(V2)||, since the sum
     * may cancel).
     */
    @Property(tries = 150)
    @Label("O is linear in V (scaling by 2^k up to 2^600, sums) and LSE does not depend on V")
    void outputsAreLinearInValues(@ForAll("cases") AttentionCase c) {
        AttentionInputs in = c.inputs();
        SplittableRandom rnd = c.random(10);
        int range = implementation().precision() == org.swiattn.spec.Precision.FP64 ? 600 : 60;
        int e = rnd.nextInt(2 * range + 1) - range;
        CaseStatistics.record("V scaled by", e == 0 ? "2^0" : Math.abs(e) <= 60 ? "2^+-(1..60)" : "2^+-(61..600)");
        double f = Math.scalb(1.0, e);
        // pass 1: homogeneity (scaling by a power of two is exact)
        AttentionInputs scaled = in.toBuilder().v(Tensors.scaled(c.v(), f)).build();
        ForwardResult r = forward(in);
        ForwardResult rs = forward(scaled);
        ForwardBounds b = selfBounds(in, scaled);
        TermMagnitudes t1 = forwardTerms(in);
        TermMagnitudes ts = forwardTerms(scaled);   // = 2^e T(in) for O; T_LSE does not depend on V
        Checks.close("O(2^" + e + " V) vs 2^" + e + " O(V)", rs.o(), Tensors.scaled(r.o(), f), b.o(),
                Checks.norm(ts.o()), c);
        Checks.lseClose("LSE with V scaled by 2^" + e, rs.lse(), r.lse(), b.lse(), Checks.norm(ts.lse()), c);
        // pass 2: additivity
        double[] v2 = Tensors.uniformBf16(rnd, c.shape().kvSize(), c.magnitude());
        double[] sum = c.v();
        for (int t = 0; t < sum.length; t++) {
            sum[t] += v2[t];
        }
        AttentionInputs in2 = in.toBuilder().v(v2).build();
        AttentionInputs inSum = in.toBuilder().v(sum).build();
        ForwardResult r2 = forward(in2);
        double[] expected = r.o().clone();
        for (int t = 0; t < expected.length; t++) {
            expected[t] += r2.o()[t];
        }
        // each side's error is relative to max(||O||, ||T||); T(V1 + V2) <= T(V1) + T(V2) elementwise
        double allowance = 2 * selfBounds(in2, inSum).o()
                * (Math.max(Checks.norm(r.o()), Checks.norm(t1.o()))
                + Math.max(Checks.norm(r2.o()), Checks.norm(forwardTerms(in2).o())));
        Checks.closeWithFloor("O(V1 + V2) vs O(V1) + O(V2)", forward(inSum).o(), expected, 0, allowance, c);
    }

    /**
     * Each output coordinate lies between the smallest and the largest visible value of that coordinate (a convex
     * combination; SOFT mixes two convex combinations of subsets of the full branch's keys). Allowed slack: the
     * tolerance times max(||O||, ||T_O||), which bounds any one element's error. This property also carries the
     * coverage checks of the general generator (300 tries).
     */
    @Property(tries = 400)
    @Label("output coordinates lie between min and max of the visible values (and generator coverage)")
    void outputsLieInTheHullOfVisibleValues(@ForAll("cases") AttentionCase c) {
        CaseStatistics.collect(c);
        AttentionInputs in = c.inputs();
        ForwardResult r = forward(in);
        checkHull(in, r, forwardBounds(in).o(), c);
        CaseStatistics.checkCoverage();
    }

    /** Requires O to be within the visible values' hull, with slack bound * max(||O||, ||T_O||). */
    static void checkHull(AttentionInputs in, ForwardResult r, double bound, Object context) {
        Shape sh = in.shape();
        double slack = bound * Math.max(Checks.norm(r.o()), Checks.norm(forwardTerms(in).o()));
        for (int b = 0; b < sh.batch(); b++) {
            for (int i = 0; i < sh.seqLen(); i++) {
                boolean branch = in.estimator() == Estimator.SOFT || in.route().isFull(b, i);
                for (int h = 0; h < sh.qHeads(); h++) {
                    double[][] range = PlainAttention.valueRange(in, b * sh.seqLen() + i, h, branch);
                    int off = sh.qOffset(b, i, h);
                    for (int d = 0; d < sh.headDim(); d++) {
                        double o = r.o()[off + d];
                        Checks.that(o >= range[0][d] - slack && o <= range[1][d] + slack,
                                String.format("O[b=%d,i=%d,h=%d,d=%d] = %.17g outside the visible values [%.17g, "
                                        + "%.17g] (slack %.3e)", b, i, h, d, o, range[0][d], range[1][d], slack),
                                context);
                    }
                }
            }
        }
    }

    /**
     * LSE is the natural log-sum-exp of the scaled scores over the keys of the branch the token is routed to (the
     * hard route, for every estimator): equivalently sum_j exp(s_ij - lse_i) = 1. The expected values are
     * computed by {@link PlainAttention} from q and k.
     */
    @Property(tries = 150)
    @Label("LSE is the log-sum-exp of the visible scores of the routed branch")
    void lseIsTheLogSumExpOfTheVisibleScores(@ForAll("cases") AttentionCase c) {
        AttentionInputs in = c.inputs();
        Shape sh = in.shape();
        double[] expected = new double[sh.lseSize()];
        for (int b = 0; b < sh.batch(); b++) {
            for (int i = 0; i < sh.seqLen(); i++) {
                for (int h = 0; h < sh.qHeads(); h++) {
                    expected[sh.lseOffset(b, i, h)] =
                            PlainAttention.logSumExp(PlainAttention.scores(in, b * sh.seqLen() + i, h,
                                    in.route().isFull(b, i)));
                }
            }
        }
        Checks.lseClose("LSE vs log-sum-exp of visible scores", forward(in).lse(), expected,
                forwardBounds(in).lse(), Checks.norm(forwardTerms(in).lse()), c);
    }

    /**
     * Shift invariance: adding a constant c_ih to every score of row (i, h) changes no output and adds c_ih to
     * the LSE. Construction (exact, and independent of the implementation): give every key the last coordinate
     * k_j[D-1] = 1; then replacing q_ih[D-1] by q_ih[D-1] + t_ih changes every score of row (i, h) by exactly
     * c_ih = scale * t_ih and nothing else. The new q_ih[D-1] is drawn as a bf16 value in [-20/scale, 20/scale],
     * so the shifts reach about +-20 and the inputs stay bf16-representable.
     */
    @Property(tries = 150)
    @Label("shift invariance: adding c to all scores of a row leaves O unchanged and adds c to LSE")
    void shiftInvariance(@ForAll("cases") AttentionCase c) {
        Shape sh = c.shape();
        int dim = sh.headDim();
        double[] k = c.k();
        for (int t = dim - 1; t < k.length; t += dim) {
            k[t] = 1.0;
        }
        AttentionInputs base = c.inputs().toBuilder().k(k).build();
        double scale = base.scale();
        double[] q = c.q();
        double[] shiftedQ = c.q();
        double[] expectedLse = new double[sh.lseSize()];
        ForwardResult r0 = forward(base);
        SplittableRandom rnd = c.random(4);
        for (int n = 0; n < sh.lseSize(); n++) {
            int t = n * dim + dim - 1;
            shiftedQ[t] = Bf16.round((2 * rnd.nextDouble() - 1) * 20 / scale);
            double shift = scale * (shiftedQ[t] - q[t]);   // q[t] and shiftedQ[t] are bf16: the difference is exact
            expectedLse[n] = r0.lse()[n] + shift;
        }
        AttentionInputs shifted = base.toBuilder().q(shiftedQ).build();
        ForwardResult r1 = forward(shifted);
        ForwardBounds b = selfBounds(base, shifted);
        TermMagnitudes t = pairTerms(base, shifted);
        Checks.close("O after shifting the scores of each row", r1.o(), r0.o(), b.o(), Checks.norm(t.o()), c);
        Checks.lseClose("LSE after shifting the scores of each row", r1.lse(), expectedLse, b.lse(),
                Checks.norm(t.lse()), c);
    }

    /**
     * Merging the LSE of two disjoint key sets gives the whole (the flash-decoding merge). For row (b, i) and a
     * split c in [1, i], the keys [0, i] are A = [0, c) and B = [c, i]:
     * <pre>
     *   B: the window branch of row i with w = i - c + 1               (keys max(0, i-w+1)..i = c..i)
     *   A: the full branch of row c-1 with q_{c-1} replaced by q_i      (keys 0..c-1)
     *   lse_F = log(exp(lse_A) + exp(lse_B))
     *   o_F   = exp(lse_A - lse_F) o_A + exp(lse_B - lse_F) o_B
     * </pre>
     */
    @Property(tries = 150)
    @Label("LSE merge: two disjoint key sets merge into the whole")
    void lseMergeOfDisjointKeySets(@ForAll("cases") AttentionCase c) {
        Shape sh = c.shape();
        int s = sh.seqLen();
        Assume.that(s >= 2);
        SplittableRandom rnd = c.random(5);
        int b = rnd.nextInt(sh.batch());
        int i = 1 + rnd.nextInt(s - 1);
        int split = 1 + rnd.nextInt(i);
        int hq = sh.qHeads();
        int dim = sh.headDim();
        AttentionInputs in = c.inputs();
        // whole: full branch of row i
        AttentionInputs fullIn = allFull(in);
        // B: window branch of row i with w = i - split + 1
        AttentionInputs bIn = allWindow(in.toBuilder().window(i - split + 1).build());
        // A: full branch of row split-1 whose query is q_i
        double[] q = c.q();
        System.arraycopy(c.q(), sh.qOffset(b, i, 0), q, sh.qOffset(b, split - 1, 0), hq * dim);
        AttentionInputs aIn = fullIn.toBuilder().q(q).build();
        ForwardResult whole = forward(fullIn);
        ForwardResult rb = forward(bIn);
        ForwardResult ra = forward(aIn);
        double[] mergedO = new double[hq * dim];
        double[] mergedLse = new double[hq];
        double[] wholeO = new double[hq * dim];
        double[] wholeLse = new double[hq];
        for (int h = 0; h < hq; h++) {
            double la = ra.lse()[sh.lseOffset(b, split - 1, h)];
            double lb = rb.lse()[sh.lseOffset(b, i, h)];
            double l = PlainAttention.logAddExp(la, lb);
            mergedLse[h] = l;
            wholeLse[h] = whole.lse()[sh.lseOffset(b, i, h)];
            double wa = Math.exp(la - l);
            double wb = Math.exp(lb - l);
            for (int d = 0; d < dim; d++) {
                mergedO[h * dim + d] = wa * ra.o()[sh.qOffset(b, split - 1, h) + d]
                        + wb * rb.o()[sh.qOffset(b, i, h) + d];
                wholeO[h * dim + d] = whole.o()[sh.qOffset(b, i, h) + d];
            }
        }
        ForwardBounds fb = forwardBounds(fullIn).max(forwardBounds(bIn)).max(forwardBounds(aIn));
        String where = " (row b=" + b + ", i=" + i + ", keys [0," + split + ") + [" + split + "," + i + "])";
        // term tensors of the three rows involved (the whole, part A, part B)
        int rowI = b * s + i;
        int rowA = b * s + split - 1;
        org.swiattn.spec.RowsResult tWhole = TermMagnitudes.forwardRows(fullIn, new int[] {rowI});
        org.swiattn.spec.RowsResult tA = TermMagnitudes.forwardRows(aIn, new int[] {rowA});
        org.swiattn.spec.RowsResult tB = TermMagnitudes.forwardRows(bIn, new int[] {rowI});
        double lseTerms = Math.max(Checks.norm(tWhole.lse()), Math.max(Checks.norm(tA.lse()), Checks.norm(tB.lse())));
        Checks.lseClose("merged LSE" + where, mergedLse, wholeLse, 2 * fb.lse(), lseTerms, c);
        // each part carries its own error, relative to its own size: when the two parts nearly cancel, the merged
        // output is small while its error is not, so the allowance is relative to the parts' sizes
        // (and relative to the parts' term sizes, weighted like the parts)
        double[] partA = new double[hq * dim];
        double[] partB = new double[hq * dim];
        double[] partTermsA = new double[hq * dim];
        double[] partTermsB = new double[hq * dim];
        for (int h = 0; h < hq; h++) {
            double l = mergedLse[h];
            double wa = Math.exp(ra.lse()[sh.lseOffset(b, split - 1, h)] - l);
            double wb = Math.exp(rb.lse()[sh.lseOffset(b, i, h)] - l);
            for (int d = 0; d < dim; d++) {
                partA[h * dim + d] = wa * ra.o()[sh.qOffset(b, split - 1, h) + d];
                partB[h * dim + d] = wb * rb.o()[sh.qOffset(b, i, h) + d];
                partTermsA[h * dim + d] = wa * tA.o()[h * dim + d];
                partTermsB[h * dim + d] = wb * tB.o()[h * dim + d];
            }
        }
        double rel = 2 * (fb.o() + fb.lse());
        double partsNorm = Math.max(ErrorMeasures.normOfDifference(partA, null), Checks.norm(partTermsA))
                + Math.max(ErrorMeasures.normOfDifference(partB, null), Checks.norm(partTermsB));
        Checks.closeWithFloor("merged O" + where, mergedO, wholeO, rel, rel * partsNorm, c);
    }

    // ----------------------------------------------------------------------------------------------------------
    // heads and batch

    /**
     * Grouped-query attention equals multi-head attention with each K/V head repeated G times (query head h reads
     * kv head h / G).
     */
    @Property(tries = 120)
    @Label("GQA equals MHA with repeated K/V heads")
    void gqaEqualsMhaWithRepeatedHeads(@ForAll("cases") AttentionCase c) {
        AttentionInputs in = c.inputs();
        Shape sh = in.shape();
        CaseStatistics.record("Hq/Hkv", CaseStatistics.groupCategory(sh));
        AttentionInputs mha = mhaOf(in);
        sameForward("GQA vs MHA with repeated heads", forward(in), forward(mha), selfBounds(in, mha),
                pairTerms(in, mha), c);
    }

    /** The MHA inputs [B,S,Hq,D] K and V of GQA inputs: kv head g repeated for its G query heads. */
    static AttentionInputs mhaOf(AttentionInputs in) {
        Shape sh = in.shape();
        Shape mhaShape = new Shape(sh.batch(), sh.seqLen(), sh.qHeads(), sh.qHeads(), sh.headDim());
        return AttentionInputs.builder(mhaShape).q(in.q()).k(Tensors.repeatKvHeads(in.k(), sh))
                .v(Tensors.repeatKvHeads(in.v(), sh)).window(in.window()).scale(in.scale()).route(in.route())
                .estimator(in.estimator()).build();
    }

    /**
     * Head permutation equivariance: permuting the kv heads by sigma and the query heads consistently (query head
     * g*G + t goes to sigma(g)*G + tau_g(t), any permutation tau_g inside each group) permutes the output and LSE
     * heads the same way.
     */
    @Property(tries = 120)
    @Label("head permutation equivariance")
    void headPermutationEquivariance(@ForAll("cases") AttentionCase c) {
        AttentionInputs in = c.inputs();
        Shape sh = in.shape();
        int g = sh.groupSize();
        SplittableRandom rnd = c.random(6);
        int[] sigma = Tensors.permutation(rnd, sh.kvHeads());
        int[] qPerm = new int[sh.qHeads()];
        for (int kv = 0; kv < sh.kvHeads(); kv++) {
            int[] tau = Tensors.permutation(rnd, g);
            for (int t = 0; t < g; t++) {
                qPerm[kv * g + t] = sigma[kv] * g + tau[t];
            }
        }
        int rows = sh.rows();
        int dim = sh.headDim();
        AttentionInputs permuted = in.toBuilder().q(Tensors.permuteHeads(in.q(), rows, qPerm, dim))
                .k(Tensors.permuteHeads(in.k(), rows, sigma, dim)).v(Tensors.permuteHeads(in.v(), rows, sigma, dim))
                .build();
        ForwardResult r = forward(in);
        ForwardResult expected = new ForwardResult(sh, Tensors.permuteHeads(r.o(), rows, qPerm, dim),
                Tensors.permuteHeads(r.lse(), rows, qPerm, 1));
        sameForward("permuted heads", forward(permuted), expected, selfBounds(in, permuted),
                pairTerms(in, permuted), c);
    }

    /** Batch elements never interact: each element alone (B = 1) gives its rows of the batched call. */
    @Property(tries = 120)
    @Label("batch elements are independent")
    void batchElementsAreIndependent(@ForAll("cases") AttentionCase c) {
        AttentionInputs in = c.inputs();
        Shape sh = in.shape();
        CaseStatistics.record("B", "B=" + sh.batch());
        ForwardResult all = forward(in);
        Shape one = new Shape(1, sh.seqLen(), sh.qHeads(), sh.kvHeads(), sh.headDim());
        for (int b = 0; b < sh.batch(); b++) {
            AttentionInputs single = AttentionInputs.builder(one).q(Tensors.batchElement(in.q(), b, sh.batch()))
                    .k(Tensors.batchElement(in.k(), b, sh.batch())).v(Tensors.batchElement(in.v(), b, sh.batch()))
                    .window(in.window()).scale(in.scale())
                    .route(Route.ofLogits(1, sh.seqLen(), Tensors.batchElement(c.logits(), b, sh.batch())))
                    .estimator(in.estimator()).build();
            ForwardResult r = forward(single);
            ForwardResult expected = new ForwardResult(one, Tensors.batchElement(all.o(), b, sh.batch()),
                    Tensors.batchElement(all.lse(), b, sh.batch()));
            sameForward("batch element " + b + " alone", r, expected, selfBounds(in, single), forwardTerms(single), c);
        }
    }

    // ----------------------------------------------------------------------------------------------------------
    // rows and range

    /**
     * forwardRows answers exactly the rows of forward, in the order asked, duplicates and an empty selection
     * included.
     */
    @Property(tries = 150)
    @Label("forwardRows equals the rows of forward")
    void forwardRowsAreRowsOfForward(@ForAll("cases") AttentionCase c) {
        AttentionInputs in = c.inputs();
        Shape sh = in.shape();
        SplittableRandom rnd = c.random(7);
        int[] rows = new int[rnd.nextInt(2 * sh.rows() + 1)];
        for (int n = 0; n < rows.length; n++) {
            rows[n] = rnd.nextInt(sh.rows());
        }
        CaseStatistics.record("rows asked", rows.length == 0 ? "none" : rows.length == 1 ? "1" : "many");
        assumeSupported(in);
        RowsResult got = implementation().forwardRows(in, rows);
        RowsResult expected = RowsResult.extract(forward(in), rows);
        Checks.that(java.util.Arrays.equals(got.rows(), rows), "forwardRows returned rows "
                + java.util.Arrays.toString(got.rows()) + " for " + java.util.Arrays.toString(rows), c);
        ForwardBounds b = selfBounds(in, in);
        RowsResult t = TermMagnitudes.forwardRows(in, rows);
        Checks.close("forwardRows O", got.o(), expected.o(), b.o(), Checks.norm(t.o()), c);
        Checks.lseClose("forwardRows LSE", got.lse(), expected.lse(), b.lse(), Checks.norm(t.lse()), c);
    }

    /**
     * No NaN or Inf for score magnitudes M = max |s_ij| up to 1e4: q is scaled by a power of two (exact) so that
     * M lies in (target/2, target]; O and LSE must be finite and O within the visible values' hull; the backward
     * pass of the case's estimator must be finite too.
     */
    @Property(tries = 150)
    @Label("no NaN or Inf for score magnitudes up to 1e4")
    void noOverflowUpToScoreMagnitude1e4(@ForAll("cases") AttentionCase c,
                                         @ForAll("scoreMagnitudes") double target) {
        AttentionInputs in = largeScores(c.inputs(), target);
        Assume.that(in != null);
        double m = ScoreMagnitude.max(in);
        CaseStatistics.record("M", m <= 1e2 ? "M<=1e2" : m <= 1e3 ? "1e2<M<=1e3" : "1e3<M<=1e4");
        ForwardResult r = forward(in);
        Checks.that(Tensors.allFinite(r.o()) && Tensors.allFinite(r.lse()), "non-finite O or LSE at M = " + m, c);
        checkHull(in, r, forwardBounds(in).o(), c);
        var g = backward(in, c.outputGradient());
        Checks.that(Tensors.allFinite(g.dq()) && Tensors.allFinite(g.dk()) && Tensors.allFinite(g.dv())
                && Tensors.allFinite(g.dRouterLogit()), "non-finite gradient at M = " + m, c);
        net.jqwik.api.statistics.Statistics.label("M").coverage(cov -> {
            cov.check("1e3<M<=1e4").count((java.util.function.Predicate<Integer>) n -> n > 0);
            cov.check("1e2<M<=1e3").count((java.util.function.Predicate<Integer>) n -> n > 0);
        });
    }

    /**
     * The inputs with q scaled by the power of two 2^e that brings M = max |s_ij| into (target/2, target]; null
     * when every score is 0.
     */
    static AttentionInputs largeScores(AttentionInputs in, double target) {
        double m0 = ScoreMagnitude.max(in);
        if (m0 == 0) {
            return null;
        }
        double f = Math.scalb(1.0, (int) Math.floor(Math.log(target / m0) / Math.log(2)));
        AttentionInputs scaled = in.toBuilder().q(Tensors.scaled(in.q(), f)).build();
        // guard against log rounding at the boundary
        while (ScoreMagnitude.max(scaled) > target) {
            f /= 2;
            scaled = in.toBuilder().q(Tensors.scaled(in.q(), f)).build();
        }
        return scaled;
    }
}
